// Two gateway processes behind one Postgres and one object store (issue 10): calls are spread
// across both; one is killed with SIGKILL while it holds post-call jobs and an open capture; the
// other finishes its jobs; the killed one restarts and uploads its repaired spool. Every call
// ends with every file in object storage, verified, and no job completes twice.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import knexFactory from 'knex';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { parseWav } from '../../src/audio/wav.js';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { simulateCall, type SimulateResult } from '../../src/cli/simulator/call.js';
import { fakeSid, startFakeTwilio } from '../fakes/twilio-api.js';
import { freePort, spawnGateway, type ChildGateway } from '../helpers/child-gateway.js';
import { ACCOUNT_SID, AUTH_TOKEN, tempDir } from '../helpers/gateway.js';
import { createDatabase } from '../helpers/postgres.js';
import { startS3 } from '../helpers/s3.js';
import { connectStream } from '../helpers/stream-client.js';
import { PUBLIC, signedForm } from '../helpers/twilio-sign.js';

const CALLS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function postRecordingCallback(gw: ChildGateway, params: Record<string, string>) {
  const req = signedForm('/twilio/recording-status', params);
  const res = await fetch(gw.url + req.url, { method: 'POST', headers: req.headers, body: req.payload });
  assert.equal(res.status, 204, await res.text());
}

test('two gateways, one Postgres, one object store: a SIGKILL loses nothing and runs nothing twice', { timeout: 240_000 }, async (t) => {
  const s3 = await startS3();
  const db = await createDatabase();
  const fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  const knex = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 2 } });
  const gateways: ChildGateway[] = [];
  t.after(async () => {
    for (const g of gateways) if (g.proc.exitCode === null && g.proc.signalCode === null) g.proc.kill('SIGKILL');
    await Promise.all(gateways.map((g) => g.exited));
    await knex.destroy();
    await fake.close();
    await db.drop();
    await s3.stop();
  });
  const env = {
    ...s3.env, DATABASE_URL: db.url, TWILIO_API_BASE_URL: fake.url, STREAM_TOKEN_SECRET: 'shared-stream-token-secret-0123456789',
    JOB_LEASE_MS: '1500', JOB_POLL_MS: '100', JOB_BACKOFF_BASE_MS: '100', JOB_CONCURRENCY: '2', TWILIO_HTTP_TIMEOUT_MS: '1500',
    CLOUD_SWEEP_AFTER_S: '3600', LIVE_TRANSCRIPTION: 'false', LOG_LEVEL: 'info',
  };
  const dirA = tempDir('cv-gw-a-');
  const dirB = tempDir('cv-gw-b-');
  const portA = await freePort();
  const a = await spawnGateway(dirA, portA, { ...env, INSTANCE_ID: 'gw-a' });
  gateways.push(a);
  const b = await spawnGateway(dirB, await freePort(), { ...env, INSTANCE_ID: 'gw-b' });
  gateways.push(b);

  const agent = await speak('Thank you for calling, how can I help?');
  const customer = await speak('I would like to check my recording.', { voice: 'en-us' });
  const audio = conversation([{ track: 'inbound', audio: agent, gapMs: 100 }, { track: 'outbound', audio: customer, gapMs: 100 }]);

  // Calls alternate between the gateways; each one's cloud copy holds exactly what was sent.
  const calls: Array<{ sim: SimulateResult; recordingSid: string; on: ChildGateway }> = [];
  for (let i = 0; i < CALLS; i++) {
    const on = i % 2 === 0 ? a : b;
    const sim = await simulateCall({
      gatewayUrl: on.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, accountSid: ACCOUNT_SID, direction: 'outbound', to: '+15551234567',
      ...audio, realtime: false,
    });
    const decode = (x: Uint8Array) => Int16Array.from(x, (v) => MULAW_TO_PCM16[v]!);
    const recordingSid = fakeSid('RE', 500 + i);
    const left = decode(sim.tracks.inbound);
    fake.addRecording({ sid: recordingSid, callSid: sim.callSid, channels: 2, durationS: Math.round(left.length / 8000), audio: { left, right: decode(sim.tracks.outbound) } });
    // Every first download stalls half-way, so jobs are held when the kill comes.
    fake.faults.push({ kind: 'media', recordingSid, times: 1, fault: { type: 'slowBody', stallMs: 4000 } });
    calls.push({ sim, recordingSid, on });
  }
  // A capture still open on A when it dies.
  const open = await connectStream({ url: a.url });
  open.start();
  for (let ms = 0; ms < 2000; ms += 20) for (const track of ['inbound', 'outbound'] as const) open.media(track, ms, new Uint8Array(160).fill(track === 'inbound' ? 0x10 : 0x90));

  // Callbacks arrive at either gateway, whichever the load balancer picks.
  for (const [i, c] of calls.entries()) {
    await postRecordingCallback(i % 3 === 0 ? b : a, { ...fake.statusCallbackParams(c.recordingSid), RecordingStatus: 'completed' });
  }
  const heldByA = await until('a job running on gw-a', async () => {
    const rows = await knex('jobs').where({ state: 'running', lease_owner: 'gw-a' }).select('id', 'kind', 'key');
    return rows.length > 0 ? rows : null;
  });
  await until('the open capture to hold audio', async () => fs.existsSync(path.join(dirA, open.callSid, `${open.streamSid}.inbound.8k.wav`)));
  await sleep(700); // past a flush, so the killed capture has audio on disk
  a.proc.kill('SIGKILL');
  await a.exited;

  // B takes over A's jobs once their leases run out.
  for (const j of heldByA) {
    await until(`job ${j.key} done by another process`, async () => (await knex('jobs').where({ id: j.id }).first())?.state === 'succeeded');
  }
  // A comes back: repairs its spool and uploads the capture it was holding.
  const a2 = await spawnGateway(dirA, portA, { ...env, INSTANCE_ID: 'gw-a' });
  gateways.push(a2);
  await until('the killed capture uploaded', async () => (await knex('streams').where({ stream_sid: open.streamSid }).first())?.stored_at);

  // Every call: reconciled, every file in the bucket and none left in a spool.
  const bucket = path.join(s3.directory, s3.bucket);
  const listed = (callSid: string) => {
    const dir = path.join(bucket, 'recordings', callSid);
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => !f.startsWith('.') && !f.endsWith('._S3rver_metadata.json') && !f.endsWith('._S3rver_object.md5')) : [];
  };
  for (const { sim, recordingSid } of calls) {
    await until(`call ${sim.callSid} reconciled`, async () => knex('reconciliations').where({ call_sid: sim.callSid }).first(), 90_000);
    const expected = [
      ...['inbound.8k', 'inbound.16k', 'outbound.8k', 'outbound.16k', 'stereo.8k'].map((k) => `${sim.streamSid}.${k}.wav`),
      `cloud.${recordingSid}.wav`, 'final.stereo.wav', 'final.agent.16k.wav', 'final.customer.16k.wav', 'reconciliation.json',
    ];
    const objects = await until(`every file of ${sim.callSid} in the bucket`, async () => {
      const got = listed(sim.callSid).map((f) => f.replace(/\._S3rver_object$/, ''));
      return expected.every((f) => got.includes(f)) ? got : null;
    });
    assert.deepEqual(objects.sort(), [...expected].sort());
    for (const dir of [dirA, dirB]) assert.deepEqual(fs.existsSync(path.join(dir, sim.callSid)) ? fs.readdirSync(path.join(dir, sim.callSid)) : [], [], 'nothing left in a spool');
  }
  // The stored copies are the verified ones: the cloud file's sha256 as recorded at download,
  // each capture a complete WAV of the call's length.
  for (const { sim, recordingSid } of calls) {
    const obj = (f: string) => fs.readFileSync(path.join(bucket, 'recordings', sim.callSid, `${f}._S3rver_object`));
    const row = await knex('recordings').where({ recording_sid: recordingSid }).first();
    assert.equal(createHash('sha256').update(obj(`cloud.${recordingSid}.wav`)).digest('hex'), row.sha256);
    const wav = obj(`${sim.streamSid}.inbound.8k.wav`);
    const { format, dataOffset } = parseWav(wav);
    assert.equal(format.sampleRate, 8000);
    assert.equal(wav.readUInt32LE(dataOffset - 4), wav.length - dataOffset, 'the header counts every byte');
    assert.equal((wav.length - dataOffset) / 2, sim.tracks.inbound.length);
  }
  const killed = await knex('streams').where({ stream_sid: open.streamSid }).first();
  assert.equal(killed.state, 'interrupted');
  assert.ok(listed(open.callSid).includes(`${open.streamSid}.inbound.8k.wav._S3rver_object`));

  // No job completed twice: keys are unique, none failed, and only jobs the kill interrupted
  // (or a stalled first download) took more than one attempt.
  const jobs = await knex('jobs').select('id', 'kind', 'key', 'state', 'attempts');
  assert.equal(new Set(jobs.map((j) => j.key)).size, jobs.length);
  assert.deepEqual(jobs.filter((j) => j.state === 'failed'), []);
  const interrupted = new Set(heldByA.map((j) => j.id));
  for (const j of jobs.filter((x) => x.kind === 'reconcile' && !interrupted.has(x.id))) assert.equal(j.attempts, 1, `${j.key} ran ${j.attempts} times`);
  const reconciles = jobs.filter((j) => j.kind === 'reconcile');
  assert.ok(reconciles.length >= CALLS, 'each call reconciled');
  t.diagnostic(`jobs: ${jobs.length}, held by gw-a at the kill: ${heldByA.map((j) => j.kind).join(', ')}`);
});
