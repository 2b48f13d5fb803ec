/** Why a simulated call failed; the CLI maps each code to a one-line message and exit code 1. */
export type SimulatorErrorCode =
  | 'gateway_unreachable' // connection refused, DNS, timeout on the voice webhook
  | 'voice_webhook_rejected' // /twilio/voice answered with a non-200 status
  | 'bad_twiml' // 200, but no <Stream url=…> we can follow
  | 'stream_rejected' // the WebSocket upgrade was refused (e.g. 403 on a bad signature)
  | 'stream_failed' // socket error after the upgrade
  | 'espeak_missing' // speak() needs the espeak-ng binary
  | 'bad_audio'; // a WAV file we cannot read

export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';
  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
    /** HTTP status, when the gateway answered with one. */
    readonly status?: number,
    /** Response body (truncated), so a 403/500 explains itself. */
    readonly body?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
