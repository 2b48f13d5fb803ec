import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addCallRecording, postRecordingStatus, settled, startCloudRig } from '../helpers/cloud.js';
import { ACCOUNT_SID } from '../helpers/gateway.js';
import { signedForm } from '../helpers/twilio-sign.js';

test('a call whose callback never came is swept through the REST API and downloaded', async () => {
  const rig = await startCloudRig({ CLOUD_SWEEP_AFTER_S: '1' });
  try {
    const { callSid, recordingSid } = addCallRecording(rig, 2, 2);
    await rig.gw.app.inject(signedForm('/twilio/voice', { CallSid: callSid, AccountSid: ACCOUNT_SID, From: '+447700900123', To: '+15550001111' }));
    const ended = await rig.gw.app.inject(signedForm('/twilio/call-status', { CallSid: callSid, AccountSid: ACCOUNT_SID, DialCallStatus: 'completed' }));
    assert.equal(ended.statusCode, 200);
    const row = await settled(rig, recordingSid, 10_000);
    assert.equal(row.state, 'ready');
    const list = rig.fake.requests.find((q) => q.kind === 'list');
    assert.equal(list?.query.CallSid, callSid);
    const sweep = await rig.gw.app.gateway.store.jobs.getByKey(`sweep:${callSid}`);
    assert.deepEqual(sweep?.result, { found: 1, queued: 1 });
  } finally {
    await rig.close();
  }
});

test('with DELETE_CLOUD_AFTER_DOWNLOAD the cloud copy is deleted only after a verified download, with API-key auth', async () => {
  const rig = await startCloudRig({ DELETE_CLOUD_AFTER_DOWNLOAD: 'true', TWILIO_API_KEY_SID: 'SK' + '0'.repeat(31) + '1', TWILIO_API_KEY_SECRET: 'key-secret' });
  try {
    const { recordingSid } = addCallRecording(rig, 2, 2);
    const bad = addCallRecording(rig, 2, 2);
    rig.fake.faults.push({ kind: 'media', recordingSid: bad.recordingSid, times: 99, fault: { type: 'status', status: 500 } });
    await postRecordingStatus(rig, recordingSid, 'completed');
    await postRecordingStatus(rig, bad.recordingSid, 'completed');
    assert.equal((await settled(rig, recordingSid)).state, 'ready');
    assert.equal((await settled(rig, bad.recordingSid)).state, 'failed');
    await rig.gw.app.gateway.queue.drain();
    assert.deepEqual(rig.fake.deleted.map((d) => d.sid), [recordingSid], 'only the verified one is deleted');
    assert.ok((await rig.gw.app.gateway.store.recordings.get(recordingSid))?.cloudDeletedAt);
    assert.ok(rig.fake.requests.every((q) => q.kind === 'storage' || q.authUser === 'SK' + '0'.repeat(31) + '1'), 'the API key pair is used');
  } finally {
    await rig.close();
  }
});
