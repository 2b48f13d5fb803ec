// A gateway killed in the middle of a download: after restart the job runs again and ends in a
// verified file; no partial file is ever in place.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/db.js';
import { fakeSid, startFakeTwilio } from '../fakes/twilio-api.js';
import { freePort, spawnGateway } from '../helpers/child-gateway.js';
import { sha256 } from '../helpers/cloud.js';
import { ACCOUNT_SID, AUTH_TOKEN, tempDir } from '../helpers/gateway.js';
import { PUBLIC } from '../helpers/twilio-sign.js';
import twilio from 'twilio';

test('SIGKILL during a download: the job completes after restart', { timeout: 120_000 }, async () => {
  const fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  const dir = tempDir();
  const port = await freePort();
  const env = { TWILIO_API_BASE_URL: fake.url, TWILIO_HTTP_TIMEOUT_MS: '20000', JOB_POLL_MS: '50', JOB_BACKOFF_BASE_MS: '50' };
  const callSid = fakeSid('CA', 7);
  const recordingSid = fakeSid('RE', 7);
  fake.addRecording({ sid: recordingSid, callSid, channels: 2, durationS: 4 });
  // The first media request sends half the body, then hangs: the process dies mid-transfer.
  fake.faults.push({ kind: 'media', recordingSid, times: 1, fault: { type: 'slowBody', stallMs: 60_000 } });
  const first = await spawnGateway(dir, port, env);
  try {
    const params = { ...fake.statusCallbackParams(recordingSid), RecordingStatus: 'completed' };
    const res = await fetch(`${first.url}/twilio/recording-status`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC}/twilio/recording-status`, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    assert.equal(res.status, 204);
    const callDir = path.join(dir, callSid);
    const part = path.join(callDir, `cloud.${recordingSid}.wav.part`);
    for (let i = 0; i < 600 && !(fs.existsSync(part) && fs.statSync(part).size > 0); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(fs.existsSync(part), 'the download was under way');
  } finally {
    first.proc.kill('SIGKILL');
    await first.exited;
  }
  assert.equal(fs.existsSync(path.join(dir, callSid, `cloud.${recordingSid}.wav`)), false, 'no partial file in place');

  const second = await spawnGateway(dir, port, env);
  let row;
  try {
    const store = await openStore({ databasePath: path.join(dir, 'callvault.sqlite') });
    try {
      // The job's outcome is written just after the recording's state: wait for the job.
      let job;
      for (let i = 0; i < 1200; i++) {
        job = await store.jobs.getByKey(`download:${recordingSid}`);
        if (job?.state === 'succeeded' || job?.state === 'failed') break;
        await new Promise((r) => setTimeout(r, 25));
      }
      row = await store.recordings.get(recordingSid);
      assert.equal(job?.state, 'succeeded');
    } finally {
      await store.close();
    }
  } finally {
    second.proc.kill('SIGTERM');
    await second.exited;
    await fake.close();
  }
  assert.equal(row?.state, 'ready', `${row?.failureCode}: ${row?.failureReason}`);
  const file = path.join(dir, callSid, `cloud.${recordingSid}.wav`);
  assert.equal(row?.sha256, sha256(file));
  assert.equal(fs.existsSync(`${file}.part`), false);
});
