// A gateway pointed at the fake Twilio REST server, and helpers to play recording callbacks.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fakeSid, startFakeTwilio, type FakeTwilio } from '../fakes/twilio-api.js';
import { ACCOUNT_SID, AUTH_TOKEN, startGateway, type TestGateway } from './gateway.js';
import { signedForm } from './twilio-sign.js';

export interface CloudRig {
  gw: TestGateway;
  fake: FakeTwilio;
  close(): Promise<void>;
}

export async function startCloudRig(env: Record<string, string> = {}): Promise<CloudRig> {
  const fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiKey: { sid: fakeSid('SK', 1), secret: 'key-secret' } });
  const gw = await startGateway({
    TWILIO_API_BASE_URL: fake.url,
    TWILIO_HTTP_TIMEOUT_MS: '400',
    JOB_POLL_MS: '20',
    JOB_BACKOFF_BASE_MS: '20',
    JOB_BACKOFF_MAX_MS: '100',
    JOB_MAX_ATTEMPTS: '5',
    ...env,
  });
  return { gw, fake, close: async () => { await gw.close(); await fake.close(); } };
}

let seq = 100;
/** A call answered by the gateway, with a recording that the fake Twilio holds. */
export function addCallRecording(rig: CloudRig, channels: 1 | 2 = 2, durationS = 3, extra: { encrypted?: boolean; status?: string } = {}) {
  const n = seq++;
  const callSid = fakeSid('CA', n);
  const recordingSid = fakeSid('RE', n);
  rig.fake.addRecording({ sid: recordingSid, callSid, channels, durationS, ...extra });
  return { callSid, recordingSid };
}

export async function postRecordingStatus(rig: CloudRig, recordingSid: string, status: string, override: Record<string, string> = {}) {
  const params = { ...rig.fake.statusCallbackParams(recordingSid), RecordingStatus: status, ...override };
  return rig.gw.app.inject(signedForm('/twilio/recording-status', params));
}

/** Waits for the recording to reach a final state in the store, and its download job (if any)
 *  to record its outcome, which is written just after the recording's state. */
export async function settled(rig: CloudRig, recordingSid: string, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  const { store } = rig.gw.app.gateway;
  for (;;) {
    const row = await store.recordings.get(recordingSid);
    const job = await store.jobs.getByKey(`download:${recordingSid}`);
    const jobDone = !job || job.state === 'succeeded' || job.state === 'failed';
    if (row && ['ready', 'failed', 'absent'].includes(row.state) && jobDone) return row;
    if (Date.now() > until) throw new Error(`recording ${recordingSid} still ${row?.state ?? 'unknown'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

export function cloudFiles(rig: CloudRig, callSid: string): string[] {
  const dir = path.join(rig.gw.dir, callSid);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('cloud.')) : [];
}
