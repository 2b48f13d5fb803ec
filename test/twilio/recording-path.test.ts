import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobError } from '../../src/jobs/errors.js';
import { recordingPath } from '../../src/twilio/rest.js';

const AC = 'AC' + '1'.repeat(32);
const RE = 'RE' + 'a'.repeat(32);
const PATH = `/2010-04-01/Accounts/${AC}/Recordings/${RE}`;

test('RecordingUrl (no extension) and a uri ending in .json give the same bare path', () => {
  assert.equal(recordingPath(`https://api.twilio.com${PATH}`), PATH);
  assert.equal(recordingPath(`${PATH}.json`), PATH);
  assert.equal(recordingPath(`https://api.twilio.com${PATH}.mp3`), PATH);
  assert.equal(recordingPath(`https://api.twilio.com${PATH}.wav?RequestedChannels=2`), PATH);
});

test('never ….json.mp3, never a path with None or undefined in it', () => {
  for (const bad of [
    `${PATH}.json.mp3`,
    '/2010-04-01/Accounts/None/Recordings/' + RE,
    '/2010-04-01/Accounts/undefined/Recordings/' + RE,
    `/2010-04-01/Accounts/${AC}/Calls/CA${'b'.repeat(32)}`,
    `/2010-04-01/Accounts/${AC}/Recordings/${RE}/../../Calls`,
  ]) {
    assert.throws(() => recordingPath(bad), (e: unknown) => e instanceof JobError && e.code === 'bad_recording_url' && !e.retryable, bad);
  }
});

test('the host a callback names is dropped: requests go to the configured API base', () => {
  assert.equal(recordingPath(`https://evil.example.com${PATH}`), PATH);
});
