import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { addCallRecording, cloudFiles, postRecordingStatus, settled, sha256, startCloudRig, type CloudRig } from '../helpers/cloud.js';
import { channel, readWav } from '../helpers/wav.js';

let rig: CloudRig;
before(async () => {
  rig = await startCloudRig();
});
after(() => rig.close());

const mediaRequests = (sid: string) => rig.fake.requests.filter((r) => r.kind === 'media' && r.recordingSid === sid);

test('a completed callback ends in a verified dual-channel file equal to Twilio\'s, sample by sample', async () => {
  const { callSid, recordingSid } = addCallRecording(rig, 2, 3);
  assert.equal((await postRecordingStatus(rig, recordingSid, 'completed')).statusCode, 204);
  const row = await settled(rig, recordingSid);
  assert.equal(row.state, 'ready', row.failureReason ?? '');
  const file = path.join(rig.gw.dir, callSid, `cloud.${recordingSid}.wav`);
  const wav = readWav(file);
  const audio = rig.fake.audioOf(recordingSid);
  assert.equal(wav.channels, 2);
  assert.deepEqual(channel(wav, 0), audio.left);
  assert.deepEqual(channel(wav, 1), audio.right);
  assert.equal(row.sha256, sha256(file));
  assert.equal(row.fileChannels, 2);
  assert.ok(Math.abs((row.fileDurationS ?? 0) - 3) < 0.01);
  const [media] = mediaRequests(recordingSid);
  assert.match(media!.path, /\/Recordings\/RE[0-9a-f]{32}\.wav$/);
  assert.equal(media!.query.RequestedChannels, '2');
  assert.equal(media!.authUser, rig.fake.accountSid);
  assert.deepEqual(cloudFiles(rig, callSid), [`cloud.${recordingSid}.wav`], 'no temporary file left behind');
});

test('a duplicate callback changes nothing and enqueues nothing twice', async () => {
  const { recordingSid } = addCallRecording(rig);
  await postRecordingStatus(rig, recordingSid, 'completed');
  await settled(rig, recordingSid);
  const again = await postRecordingStatus(rig, recordingSid, 'completed');
  assert.equal(again.statusCode, 204);
  await rig.gw.app.gateway.queue.drain();
  assert.equal(mediaRequests(recordingSid).length, 1);
  assert.equal((await rig.gw.app.gateway.store.jobs.listByKeyPrefix(`download:${recordingSid}`)).length, 1);
  assert.equal((await rig.gw.app.gateway.store.recordings.listEvents(recordingSid)).length, 1);
});

test('every status is recorded, and a late in-progress does not undo completed', async () => {
  const { recordingSid } = addCallRecording(rig);
  await postRecordingStatus(rig, recordingSid, 'completed');
  await postRecordingStatus(rig, recordingSid, 'in-progress');
  const row = await settled(rig, recordingSid);
  assert.equal(row.providerStatus, 'completed');
  assert.equal(row.state, 'ready');
  const events = await rig.gw.app.gateway.store.recordings.listEvents(recordingSid);
  assert.deepEqual(events.map((e) => e.status), ['completed', 'in-progress']);
});

test('absent is recorded as absent, with nothing downloaded', async () => {
  const { recordingSid } = addCallRecording(rig, 2, 3, { status: 'absent' });
  assert.equal((await postRecordingStatus(rig, recordingSid, 'absent')).statusCode, 204);
  const row = await rig.gw.app.gateway.store.recordings.get(recordingSid);
  assert.equal(row?.state, 'absent');
  assert.equal(mediaRequests(recordingSid).length, 0);
});

test('unsigned or malformed callbacks are refused', async () => {
  const { recordingSid } = addCallRecording(rig);
  const unsigned = await rig.gw.app.inject({
    method: 'POST', url: '/twilio/recording-status', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(rig.fake.statusCallbackParams(recordingSid)).toString(),
  });
  assert.equal(unsigned.statusCode, 403);
  const malformed = await postRecordingStatus(rig, recordingSid, 'completed', { RecordingSid: 'RE-nope' });
  assert.equal(malformed.statusCode, 400);
  const foreign = await postRecordingStatus(rig, recordingSid, 'completed', { RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/None/Recordings/' + recordingSid });
  assert.equal(foreign.statusCode, 400);
  assert.equal(await rig.gw.app.gateway.store.recordings.get(recordingSid), undefined);
  assert.deepEqual(rig.fake.suspicious, [], 'no request with None or undefined in it ever reached Twilio');
});
