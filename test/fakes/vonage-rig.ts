// A gateway configured for Vonage only (Twilio's cloud recording off, as in seed 001) and pointed
// at the fake Vonage, with a fresh RSA application key passed as PEM text in VONAGE_PRIVATE_KEY.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startFakeVonage, type FakeVonage } from './vonage.js';
import { postWebhook, type SignOptions } from './vonage-webhook.js';

export const VONAGE_API_KEY = 'abcd1234';
export const VONAGE_SECRET = 'vonage-signature-secret-0123456789abcdef';
export const VONAGE_FROM = '+447700900000';

let keys: { privateKey: string; publicKey: string } | undefined;
/** One key pair per test process: RSA generation is the slow part. */
export function applicationKeys() {
  keys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return keys;
}

export interface VonageRig {
  gw: TestGateway;
  fake: FakeVonage;
  applicationId: string;
  sign: SignOptions;
  /** a webhook posted to the gateway, signed as Vonage signs it unless `sign` is null */
  post(path: string, body: unknown, sign?: Partial<SignOptions> | null): ReturnType<typeof postWebhook>;
  close(): Promise<void>;
}

export async function startVonageRig(env: Record<string, string> = {}): Promise<VonageRig> {
  const applicationId = randomUUID();
  const { privateKey, publicKey } = applicationKeys();
  const fake = await startFakeVonage({ applicationId, publicKey });
  const gw = await startGateway({
    CLOUD_RECORDING: 'false',
    VONAGE_APPLICATION_ID: applicationId,
    VONAGE_PRIVATE_KEY: privateKey,
    VONAGE_SIGNATURE_SECRET: VONAGE_SECRET,
    VONAGE_API_KEY: VONAGE_API_KEY,
    VONAGE_API_BASE_URL: fake.url,
    VONAGE_FROM_NUMBER: VONAGE_FROM,
    TWILIO_HTTP_TIMEOUT_MS: '400',
    JOB_POLL_MS: '20',
    JOB_BACKOFF_BASE_MS: '20',
    JOB_BACKOFF_MAX_MS: '100',
    JOB_MAX_ATTEMPTS: '4',
    ...env,
  });
  const sign: SignOptions = { secret: VONAGE_SECRET, apiKey: VONAGE_API_KEY, applicationId };
  return {
    gw, fake, applicationId, sign,
    post: (p, body, s = {}) => postWebhook(gw.app, p, body, s === null ? null : { ...sign, ...s }),
    close: async () => {
      await gw.close();
      await fake.close();
    },
  };
}

/** Waits for a recording to settle (ready or failed) and its download job to finish. */
export async function vonageSettled(rig: VonageRig, recordingSid: string, timeoutMs = 15_000) {
  const { store } = rig.gw.app.gateway;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = await store.recordings.get(recordingSid);
    const job = await store.jobs.getByKey(`vonage-download:${recordingSid}`);
    const jobDone = !!job && (job.state === 'succeeded' || job.state === 'failed');
    if (row && (row.state === 'ready' || row.state === 'failed') && jobDone) return { row, job };
    if (Date.now() > until) throw new Error(`recording ${recordingSid} still ${row?.state ?? 'unknown'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every file in the call's folder (a `.part` left behind would show here). */
export function callFiles(rig: VonageRig, callSid: string): string[] {
  const dir = path.join(rig.gw.dir, callSid);
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}
