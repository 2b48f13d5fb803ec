// The Vonage recording download against the fake Vonage: a recording event of a call the gateway
// placed ends in a verified cloud.VR….wav byte-identical to Vonage's, or in a clear failed state
// with no partial file; the application JWT goes to Vonage hosts only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { vonageRecordingIdOf } from '../../src/ids.js';
import { API_KEY } from '../helpers/gateway.js';
import { sha256 } from '../helpers/cloud.js';
import { channel, readWav } from '../helpers/wav.js';
import type { FileFault } from '../fakes/vonage.js';
import { VONAGE_RATE, type StoredVonageRecording } from '../fakes/vonage-media.js';
import { callFiles, startVonageRig, vonageSettled, type VonageRig } from '../fakes/vonage-rig.js';

let rig: VonageRig;
before(async () => {
  rig = await startVonageRig();
});
after(() => rig.close());


/** A call placed through the gateway, and the recording the fake Vonage made of it. */
async function recordedCall(faults: FileFault[] = [], durationS = 2) {
  const res = await rig.gw.app.inject({
    method: 'POST', url: '/api/vonage/calls', headers: { 'x-api-key': API_KEY }, payload: { to: '+15551230001', agent_number: '+15551230002' },
  });
  assert.equal(res.statusCode, 201, res.body);
  const { call_sid: callSid, conversation_uuid: conv } = res.json<{ call_sid: string; conversation_uuid: string }>();
  const rec = rig.fake.addRecording({ conversationUuid: conv, durationS });
  rig.fake.fault(rec.fileId, ...faults);
  return { callSid, rec, recordingSid: vonageRecordingIdOf(rec.recordingUuid)! };
}

async function deliver(rec: StoredVonageRecording, override: Record<string, unknown> = {}) {
  const res = await rig.post('/vonage/recording', { ...rig.fake.recordingEvent(rec), ...override });
  assert.equal(res.statusCode, 204, res.body);
}

function assertVerified(callSid: string, recordingSid: string, rec: StoredVonageRecording) {
  const file = path.join(rig.gw.dir, callSid, `cloud.${recordingSid}.wav`);
  assert.ok(fs.readFileSync(file).equals(rec.wav), "byte-identical to Vonage's file");
  const wav = readWav(file);
  assert.equal(wav.rate, VONAGE_RATE);
  assert.deepEqual(channel(wav, 0), rec.left, 'left: the called customer');
  assert.deepEqual(channel(wav, 1), rec.right);
  assert.deepEqual(callFiles(rig, callSid), [`cloud.${recordingSid}.wav`], 'nothing else (no .part) in the folder');
  return file;
}

test('a recording event ends in a verified stereo 16 kHz cloud.VR….wav, shown by the API', async () => {
  const { callSid, rec, recordingSid } = await recordedCall();
  await deliver(rec);
  const { row } = await vonageSettled(rig, recordingSid);
  assert.equal(row.state, 'ready', row.failureReason ?? '');
  const file = assertVerified(callSid, recordingSid, rec);
  assert.equal(row.sha256, sha256(file));
  assert.equal(row.fileChannels, 2);
  assert.equal(row.fileSampleRate, 16000);
  assert.equal(row.fileBytes, rec.wav.length);
  const [download] = rig.fake.fileRequests(rec.fileId);
  assert.equal(download?.jwt, 'ok', 'fetched with a valid application JWT');

  const list = await rig.gw.app.inject({ url: '/api/calls?provider=vonage', headers: { 'x-api-key': API_KEY } });
  assert.equal(list.statusCode, 200);
  const summary = list.json<{ calls: Array<Record<string, unknown>> }>().calls.find((c) => c.call_sid === callSid);
  assert.equal(summary?.provider, 'vonage');
  assert.equal(summary?.cloud_recording_state, 'ready');
  assert.equal(summary?.direction, 'outbound');
  assert.equal(summary?.provider_call_id, rec.conversationUuid);
  const detail = await rig.gw.app.inject({ url: `/api/calls/${callSid}`, headers: { 'x-api-key': API_KEY } });
  assert.equal(detail.statusCode, 200);
  const body = detail.json<{ cloud_recordings: Array<Record<string, unknown>> }>();
  const cloud = body.cloud_recordings.find((r) => r.recording_sid === recordingSid);
  assert.equal(cloud?.provider, 'vonage');
  assert.equal(cloud?.state, 'ready');
  assert.equal((await rig.gw.app.inject({ url: '/api/calls?provider=vonage' })).statusCode, 401, 'API key required');
});

test('a bare file id maps to {VONAGE_API_BASE_URL}/v3/files/{id}', async () => {
  const { callSid, rec, recordingSid } = await recordedCall();
  await deliver(rec, { recording_url: rec.fileId });
  assert.equal((await vonageSettled(rig, recordingSid)).row.state, 'ready');
  assertVerified(callSid, recordingSid, rec);
  assert.equal(rig.fake.fileRequests(rec.fileId)[0]?.path, `/v3/files/${rec.fileId}`);
});

const recovering: Array<[string, FileFault[]]> = [
  ['404 until the file is ready', ['404', '404']],
  ['a 500', ['500']],
  ['a 429', ['429']],
  ['headers that never come', ['stall-headers']],
  ['a body that stalls half way', ['stall-body']],
  ['a body cut short', ['short']],
  ['a redirect to another Vonage path (JWT sent again, fresh)', ['redirect-same']],
];

for (const [name, faults] of recovering) {
  test(`recovers from ${name}: verified, no partial file left`, async () => {
    const { callSid, rec, recordingSid } = await recordedCall(faults);
    await deliver(rec);
    const { row, job } = await vonageSettled(rig, recordingSid);
    assert.equal(row.state, 'ready', row.failureReason ?? '');
    assertVerified(callSid, recordingSid, rec);
    assert.ok(job.attempts >= (faults[0] === 'redirect-same' ? 1 : 2), 'retried');
    assert.ok(rig.fake.fileRequests(rec.fileId).every((r) => r.jwt === 'ok'), 'every request carried a valid, fresh JWT');
  });
}

async function assertFailed(recordingSid: string, callSid: string, code: string, reason: RegExp) {
  const { row, job } = await vonageSettled(rig, recordingSid);
  assert.equal(row.state, 'failed');
  assert.equal(row.failureCode, code);
  assert.match(row.failureReason ?? '', reason);
  assert.equal(job.state, 'failed');
  assert.deepEqual(callFiles(rig, callSid), [], 'no file and no .part in place');
  return job;
}

test('500 on every attempt ends failed with the reason, after the configured attempts', async () => {
  const { callSid, rec, recordingSid } = await recordedCall(['500', '500', '500', '500']);
  await deliver(rec);
  const job = await assertFailed(recordingSid, callSid, 'vonage_unavailable', /HTTP 500/);
  assert.equal(job.attempts, 4);
});

test('a mono file for a split-conversation call fails at once (channel mismatch is permanent)', async () => {
  const { callSid, rec, recordingSid } = await recordedCall(['mono']);
  await deliver(rec, { size: undefined }); // without a size, so the channel check is what catches it
  const job = await assertFailed(recordingSid, callSid, 'channel_mismatch', /expected 2 channel/);
  assert.equal(job.attempts, 1);
});

test('a file of another size than the event announced is not kept', async () => {
  const { callSid, rec, recordingSid } = await recordedCall();
  await deliver(rec, { size: rec.wav.length + 2 });
  await assertFailed(recordingSid, callSid, 'size_mismatch', /announced/);
});

test('a file whose length is not end_time - start_time is not kept', async () => {
  const { callSid, rec, recordingSid } = await recordedCall();
  await deliver(rec, { start_time: '2025-11-04T03:20:00Z', end_time: '2025-11-04T03:20:09Z' });
  await assertFailed(recordingSid, callSid, 'duration_mismatch', /9 s/);
});

test('a redirect to a non-Vonage host is refused: the JWT never reaches it', async () => {
  const { callSid, rec, recordingSid } = await recordedCall(['redirect-foreign']);
  await deliver(rec);
  const job = await assertFailed(recordingSid, callSid, 'disallowed_host', /not a Vonage host/);
  assert.equal(job.attempts, 1, 'permanent');
  const foreign = rig.fake.requests.filter((r) => r.path.startsWith('/storage/'));
  assert.deepEqual(foreign, [], 'the foreign host was never contacted');
});

test('a recording_url on another host is never fetched', async () => {
  for (const url of ['https://evil.example.com/v1/files/x', 'https://api.nexmo.com.evil.example/v1/files/x', `http://localhost:${rig.fake.port}/storage/x`]) {
    const { callSid, rec, recordingSid } = await recordedCall();
    const before = rig.fake.requests.length;
    await deliver(rec, { recording_url: url });
    await assertFailed(recordingSid, callSid, 'disallowed_host', /not on a Vonage host/);
    assert.equal(rig.fake.requests.length, before, `nothing requested for ${url}`);
  }
});

test('Vonage refusing the application JWT (401) is permanent and names the variables', async () => {
  const other = await startVonageRig({ VONAGE_API_BASE_URL: rig.fake.url });
  try {
    // The other gateway signs with another application id, which this fake does not know.
    const rec = rig.fake.addRecording({ durationS: 1 });
    const res = await other.post('/vonage/recording', rig.fake.recordingEvent(rec));
    assert.equal(res.statusCode, 204);
    const recordingSid = vonageRecordingIdOf(rec.recordingUuid)!;
    const { row, job } = await vonageSettled(other, recordingSid);
    assert.equal(row.state, 'failed');
    assert.equal(row.failureCode, 'vonage_auth');
    assert.match(row.failureReason ?? '', /VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY/);
    assert.equal(job.attempts, 1);
  } finally {
    await other.close();
  }
});
