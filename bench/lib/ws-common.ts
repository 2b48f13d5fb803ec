// What the ws-load orchestrator, server and client share: the gateway's test identity and the
// shapes of the figures they hand back.
export const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
export const ACCOUNT_SID = 'AC' + '0'.repeat(31) + '1';
export const PUBLIC_URL = 'https://gateway.example.com';

/** The environment the benches build the gateway from, like test/helpers/gateway.ts. Nothing may
 *  leave loopback: post-call cloud work is off, and the provider URL is a closed local port. */
export function gatewayEnv(recordingsDir: string): Record<string, string> {
  return {
    TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_ACCOUNT_SID: ACCOUNT_SID, PUBLIC_URL, RECORDINGS_DIR: recordingsDir, PORT: '0',
    LOG_LEVEL: 'info', INSTANCE_ID: 'bench', TWILIO_CALLER_ID: '+15550001111', DIAL_ALLOWED_PREFIXES: '+1',
    CLOUD_RECORDING: 'false', TWILIO_API_BASE_URL: 'http://127.0.0.1:9',
  };
}

/** One second of the server's life. */
export interface Sample {
  at: number;
  msgsPerS: number;
  cpuPct: number;
  loopP99Ms: number;
  lagAvgMs: number;
  lagMaxMs: number;
  rssMiB: number;
  sessions: number;
  /** busy % of each CPU over the same second, whoever used it */
  coreBusy: number[];
}

export interface ServerResult {
  samples: Sample[];
  /** the largest max_lag_ms the captures recorded in the store */
  storeMaxLagMs: number;
  capturesComplete: number;
  capturesTotal: number;
  warnLines: number;
}

export interface ClientResult {
  streams: number;
  opened: number;
  rampMs: number;
  /** epoch ms of media timestamp 0 and of the last frame due */
  t0: number;
  tEnd: number;
  sent: number;
  cpuPct: number;
  lateP99Ms: number;
  lateMaxMs: number;
  maxBufferedBytes: number;
  closedByServer: number;
  errors: string[];
}
