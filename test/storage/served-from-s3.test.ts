// With STORAGE_URL, a call's files live in the bucket: the capture is uploaded when the stream
// ends (and leaves the spool), post-call work reads and writes the bucket, and the API lists,
// serves (signed URLs, Range) and deletes them there.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { CallDetailT } from '../../src/api/call-schemas.js';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { simulateCall } from '../../src/cli/simulator/call.js';
import { API_KEY, AUTH_TOKEN, startGateway } from '../helpers/gateway.js';
import { startS3 } from '../helpers/s3.js';
import { PUBLIC } from '../helpers/twilio-sign.js';

test('a call with object storage: spool emptied, artifacts listed and served with Range from the bucket, deleted there', { timeout: 60_000 }, async (t) => {
  const s3 = await startS3();
  const gw = await startGateway({ ...s3.env, CLOUD_RECORDING: 'false', JOB_POLL_MS: '50' });
  t.after(async () => {
    await gw.close();
    await s3.stop();
  });
  const agent = await speak('Thank you for calling.');
  const sim = await simulateCall({
    gatewayUrl: gw.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, direction: 'outbound', to: '+15551234567',
    ...conversation([{ track: 'inbound', audio: agent, gapMs: 100 }]), realtime: false,
  });
  const { store } = gw.app.gateway;
  for (let i = 0; i < 300 && !(await store.reconciliations.get(sim.callSid)); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(await store.reconciliations.get(sim.callSid), 'reconciled from the bucket');
  assert.ok((await store.streams.get(sim.streamSid))?.storedAt, 'the capture is marked stored');
  assert.deepEqual(fs.existsSync(path.join(gw.dir, sim.callSid)) ? fs.readdirSync(path.join(gw.dir, sim.callSid)) : [], [], 'the spool is empty');

  const api = (method: 'GET' | 'DELETE', url: string) => gw.app.inject({ method, url, headers: { 'x-api-key': API_KEY } });
  const detail = (await api('GET', `/api/calls/${sim.callSid}`)).json<CallDetailT>();
  const files = detail.artifacts.map((a) => a.file).sort();
  assert.deepEqual(files, [`${sim.streamSid}.inbound.16k.wav`, `${sim.streamSid}.inbound.8k.wav`, `${sim.streamSid}.outbound.16k.wav`, `${sim.streamSid}.outbound.8k.wav`,
    `${sim.streamSid}.stereo.8k.wav`, 'final.agent.16k.wav', 'final.customer.16k.wav', 'final.stereo.wav'].sort());
  const capture = detail.artifacts.find((a) => a.file === `${sim.streamSid}.inbound.8k.wav`)!;
  assert.equal(capture.rate, 8000);
  assert.equal(capture.duration_s, sim.tracks.inbound.length / 8000);
  const object = fs.readFileSync(path.join(s3.directory, s3.bucket, 'recordings', sim.callSid, `${capture.file}._S3rver_object`));
  const local = new URL(capture.url);
  const whole = await gw.app.inject({ url: local.pathname + local.search });
  assert.equal(whole.statusCode, 200);
  assert.equal(whole.headers['content-type'], 'audio/wav');
  assert.deepEqual(whole.rawPayload, object);
  const part = await gw.app.inject({ url: local.pathname + local.search, headers: { range: 'bytes=44-1043' } });
  assert.equal(part.statusCode, 206);
  assert.equal(part.headers['content-range'], `bytes 44-1043/${object.length}`);
  assert.deepEqual(part.rawPayload, object.subarray(44, 1044));
  assert.equal((await gw.app.inject({ url: local.pathname + local.search, headers: { range: `bytes=${object.length}-` } })).statusCode, 416);
  assert.equal((await gw.app.inject({ url: local.pathname })).statusCode, 403, 'unsigned: refused');

  const deleted = await api('DELETE', `/api/calls/${sim.callSid}`);
  assert.equal(deleted.statusCode, 200, deleted.body);
  assert.equal(deleted.json<{ files_removed: number }>().files_removed, files.length + 1, 'the audio and reconciliation.json');
  assert.equal(fs.existsSync(path.join(s3.directory, s3.bucket, 'recordings', sim.callSid, `${capture.file}._S3rver_object`)), false);
  assert.equal((await gw.app.inject({ url: local.pathname + local.search })).statusCode, 404);
});
