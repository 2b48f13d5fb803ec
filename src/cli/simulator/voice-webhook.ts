import twilio from 'twilio';
import { SimulatorError } from './errors.js';
import { parseStreamTwiml, type StreamTwiml } from './wire.js';

export interface VoiceAnswer extends StreamTwiml {
  twiml: string;
}

/** `https://host/base/` + `/twilio/voice` without a double slash. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

const BODY_LIMIT = 500;

/**
 * POSTs the ringing call to `/twilio/voice` the way Twilio does: a form body, signed over the
 * *public* URL (what the gateway believes Twilio called), sent to the reachable one.
 */
export async function postVoiceWebhook(args: {
  gatewayUrl: string;
  publicUrl: string;
  authToken?: string;
  params: Record<string, string>;
  signal?: AbortSignal;
}): Promise<VoiceAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (args.authToken) {
    headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(
      args.authToken, joinUrl(args.publicUrl, '/twilio/voice'), args.params);
  }
  const url = joinUrl(args.gatewayUrl, '/twilio/voice');
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST', headers, body: new URLSearchParams(args.params).toString(), signal: args.signal ?? null,
    });
  } catch (err) {
    if (args.signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new SimulatorError('gateway_unreachable',
      `gateway not reachable at ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      undefined, undefined, { cause: err });
  }
  const twiml = await res.text();
  if (res.status !== 200) {
    throw new SimulatorError('voice_webhook_rejected',
      `POST ${url} answered ${res.status}: ${twiml.slice(0, BODY_LIMIT)}`, res.status, twiml.slice(0, BODY_LIMIT));
  }
  const stream = parseStreamTwiml(twiml);
  if (!stream) {
    throw new SimulatorError('bad_twiml', `POST ${url} returned no <Stream url=…>: ${twiml.slice(0, BODY_LIMIT)}`,
      res.status, twiml.slice(0, BODY_LIMIT));
  }
  return { twiml, ...stream };
}
