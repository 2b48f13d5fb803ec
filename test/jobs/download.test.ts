// Every fault of the fake Twilio ends in a verified file or a clear failed state, never a
// corrupt file in place.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { TwilioRest } from '../../src/twilio/rest.js';
import type { Fault } from '../fakes/twilio-api.js';
import { addCallRecording, cloudFiles, postRecordingStatus, settled, sha256, startCloudRig, type CloudRig } from '../helpers/cloud.js';
import { ACCOUNT_SID, AUTH_TOKEN, tempDir } from '../helpers/gateway.js';
import { readWav } from '../helpers/wav.js';

let rig: CloudRig;
before(async () => {
  rig = await startCloudRig();
});
after(() => rig.close());

async function downloadWith(fault: Fault | null, times: number, kind: 'media' | 'metadata' = 'media') {
  const { callSid, recordingSid } = addCallRecording(rig, 2, 2);
  if (fault) rig.fake.faults.push({ kind, recordingSid, times, fault });
  await postRecordingStatus(rig, recordingSid, 'completed');
  const row = await settled(rig, recordingSid);
  const job = await rig.gw.app.gateway.store.jobs.getByKey(`download:${recordingSid}`);
  return { callSid, recordingSid, row, job: job!, files: cloudFiles(rig, callSid) };
}

function assertVerified(r: Awaited<ReturnType<typeof downloadWith>>, attempts: number) {
  assert.equal(r.row.state, 'ready', `${r.row.failureCode}: ${r.row.failureReason}`);
  assert.equal(r.job.attempts, attempts);
  const file = path.join(rig.gw.dir, r.callSid, `cloud.${r.recordingSid}.wav`);
  assert.deepEqual(r.files, [path.basename(file)]);
  assert.equal(r.row.sha256, sha256(file));
  assert.equal(readWav(file).samples.length, 2 * 2 * 8000);
}

const recoverable: Array<[string, Fault, number, ('media' | 'metadata')?]> = [
  ['404 right after completed (not ready yet)', { type: 'status', status: 404, code: 20404 }, 2],
  ['500 and 503', { type: 'status', status: 500 }, 2],
  ['429 with Retry-After', { type: 'status', status: 429, retryAfter: 1 }, 1],
  ['a body cut short', { type: 'cutShort' }, 2],
  ['a wrong Content-Length', { type: 'wrongLength' }, 1],
  ['a WAV whose header claims more than it holds', { type: 'truncatedWav' }, 1],
  ['a stalled body (timeout)', { type: 'stall' }, 1],
  ['metadata 404 (processing)', { type: 'status', status: 404, code: 20404 }, 2, 'metadata'],
];

for (const [name, fault, times, kind] of recoverable) {
  test(`${name}: retried, then a verified file`, async () => {
    assertVerified(await downloadWith(fault, times, kind), times + 1);
  });
}

test('the timeout is per pause, not for the whole transfer: slow headers plus a pause under it succeed at once', async () => {
  const { callSid, recordingSid } = addCallRecording(rig, 2, 2);
  rig.fake.faults.push({ kind: 'media', recordingSid, times: 1, fault: { type: 'latency', ms: 250 } });
  rig.fake.faults.push({ kind: 'media', recordingSid, times: 1, fault: { type: 'slowBody', stallMs: 300 } });
  await postRecordingStatus(rig, recordingSid, 'completed');
  const row = await settled(rig, recordingSid);
  const job = await rig.gw.app.gateway.store.jobs.getByKey(`download:${recordingSid}`);
  assertVerified({ callSid, recordingSid, row, job: job!, files: cloudFiles(rig, callSid) }, 1);
});

test('a stalled metadata body times out and is retried', async () => {
  assertVerified(await downloadWith({ type: 'stall' }, 1, 'metadata'), 2);
});

test('a slow body under the timeout is simply waited for', async () => {
  assertVerified(await downloadWith({ type: 'slowBody', stallMs: 150 }, 1), 1);
});

test('a fault that never clears ends in failed with its reason, and no file', async () => {
  const r = await downloadWith({ type: 'status', status: 503 }, 99);
  assert.equal(r.row.state, 'failed');
  assert.equal(r.row.failureCode, 'twilio_unavailable');
  assert.match(r.row.failureReason ?? '', /HTTP 503/);
  assert.equal(r.job.state, 'failed');
  assert.equal(r.job.attempts, 5, 'bounded by JOB_MAX_ATTEMPTS');
  assert.equal(r.job.lastError?.code, 'twilio_unavailable');
  assert.deepEqual(r.files, []);
});

test('401 is not retried and names the credentials to check', async () => {
  const r = await downloadWith({ type: 'status', status: 401, code: 20003 }, 1, 'metadata');
  assert.equal(r.row.state, 'failed');
  assert.equal(r.job.attempts, 1);
  assert.match(r.row.failureReason ?? '', /TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/);
});

test('an encrypted recording is reported as such, not retried', async () => {
  const { recordingSid } = addCallRecording(rig, 2, 2, { encrypted: true });
  await postRecordingStatus(rig, recordingSid, 'completed');
  const row = await settled(rig, recordingSid);
  assert.equal(row.state, 'failed');
  assert.equal(row.failureCode, 'encrypted');
  assert.equal((await rig.gw.app.gateway.store.jobs.getByKey(`download:${recordingSid}`))?.attempts, 1);
});

test('a mono recording is fetched mono', async () => {
  const { callSid, recordingSid } = addCallRecording(rig, 1, 2);
  await postRecordingStatus(rig, recordingSid, 'completed', { RecordingChannels: '1' });
  const row = await settled(rig, recordingSid);
  assert.equal(row.state, 'ready');
  assert.equal(readWav(path.join(rig.gw.dir, callSid, `cloud.${recordingSid}.wav`)).channels, 1);
});

test('Twilio\'s 16113 (mono asked as dual) falls back to a plain download', async () => {
  const { recordingSid } = addCallRecording(rig, 1, 1);
  const rest = new TwilioRest({ baseUrl: rig.fake.url, credentials: { username: ACCOUNT_SID, password: AUTH_TOKEN, source: 'x' }, timeoutMs: 1000 });
  const dest = path.join(tempDir(), 'x.wav');
  const got = await rest.downloadMedia(`/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${recordingSid}`, true, dest);
  assert.equal(got.dual, false);
  assert.equal(readWav(dest).channels, 1);
  const asked = rig.fake.requests.filter((q) => q.recordingSid === recordingSid).map((q) => q.query.RequestedChannels ?? null);
  assert.deepEqual(asked, ['2', null]);
  assert.ok(fs.statSync(dest).size > 44);
});

test('redirects are followed and credentials never reach the storage host', async () => {
  rig.fake.redirectMedia = true;
  try {
    assertVerified(await downloadWith(null, 0), 1);
    assert.deepEqual(rig.fake.storageAuthLeaks, []);
    assert.ok(rig.fake.requests.some((q) => q.kind === 'storage'));
  } finally {
    rig.fake.redirectMedia = false;
  }
});
