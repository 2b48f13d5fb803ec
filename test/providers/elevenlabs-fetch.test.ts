// When a transcription says has_audio and no audio webhook follows within ELEVENLABS_AUDIO_WAIT_S,
// a job fetches GET /v1/convai/conversations/{id}/audio from the fake ElevenLabs with xi-api-key:
// the happy path, retries on 5xx and 404, and the permanent failures (no key, refused key, a
// redirect off the API host, not an MP3), each visible on the recording with its reason.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { audioFetchHandler } from '../../src/jobs/elevenlabs.js';
import { JobError } from '../../src/jobs/errors.js';
import type { JobContext } from '../../src/jobs/queue.js';
import type { JobRow } from '../../src/store/jobs.js';
import { waitFor } from '../api/helpers.js';
import { lameMp3, sendWebhook, startFakeElevenLabs, transcriptionPayload, type FakeElevenLabs } from '../fakes/elevenlabs.js';
import { closeServer, listenLoopback } from '../fakes/loopback.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const SECRET = 'wsec_fetch_0123456789';
const KEY = 'xi-fetch-key-0123456789';
const mp3 = lameMp3({ seconds: 3, rate: 16000, channels: 1, kbps: 32 });

let el: FakeElevenLabs;
const gateways: TestGateway[] = [];
let n = 0;
const convId = () => `conv_fetch_${n++}`;

const gateway = async (env: Record<string, string>) => {
  const gw = await startGateway({
    ELEVENLABS_WEBHOOK_SECRET: SECRET, ELEVENLABS_API_BASE_URL: el.url, ELEVENLABS_AUDIO_WAIT_S: '1',
    JOB_POLL_MS: '20', JOB_BACKOFF_BASE_MS: '20', JOB_BACKOFF_MAX_MS: '50', JOB_MAX_ATTEMPTS: '4', ...env,
  });
  gateways.push(gw);
  return gw;
};

before(async () => {
  el = await startFakeElevenLabs({ apiKey: KEY });
});
after(async () => {
  for (const gw of gateways) await gw.close();
  await el.close();
});

/** Posts a has_audio transcription and waits for the recording's final state. */
async function transcriptThenSettle(gw: TestGateway, id: string) {
  const res = await sendWebhook(gw.url, JSON.stringify(transcriptionPayload(id, { hasAudio: true })), { secret: SECRET });
  assert.equal(res.status, 200);
  const callSid = `EL-${id}`;
  const { store } = gw.app.gateway;
  await waitFor('the fetch job to settle', async () => {
    const job = await store.jobs.getByKey(`elevenlabs-audio:${callSid}`);
    return job && (job.state === 'succeeded' || job.state === 'failed') ? job : undefined;
  }, 20_000);
  const rec = await store.recordings.get(callSid);
  const job = await store.jobs.getByKey(`elevenlabs-audio:${callSid}`);
  return { rec: rec!, job: job!, callSid, file: path.join(gw.dir, callSid, `cloud.${callSid}.mp3`) };
}

const audioRequests = (id: string) => el.requests.filter((r) => r.path === `/v1/convai/conversations/${id}/audio`);

test('has_audio with no webhook: the audio is fetched with xi-api-key after the wait, verified, ready', async () => {
  const gw = await gateway({ ELEVENLABS_API_KEY: KEY });
  const id = convId();
  el.addConversation({ id, audio: mp3.mp3 });
  const started = Date.now();
  const { rec, job, file } = await transcriptThenSettle(gw, id);
  assert.ok(Date.now() - started >= 1000, 'it waited ELEVENLABS_AUDIO_WAIT_S for a webhook first');
  assert.equal(job.state, 'succeeded');
  assert.equal(rec.state, 'ready');
  assert.equal(rec.fileSampleRate, 16000);
  assert.deepEqual(fs.readFileSync(file), mp3.mp3);
  assert.deepEqual(audioRequests(id).map((r) => [r.apiKey, r.status]), [[KEY, 200]]);
});

test('5xx, 429 and 404 (not ready yet) are retried until the audio comes', async () => {
  const gw = await gateway({ ELEVENLABS_API_KEY: KEY });
  const id = convId();
  el.addConversation({ id, audio: mp3.mp3 });
  for (const status of [503, 429, 404]) el.fault({ endpoint: 'audio', conversationId: id, status });
  const { rec, job } = await transcriptThenSettle(gw, id);
  assert.equal(job.state, 'succeeded', JSON.stringify(job.lastError));
  assert.equal(job.attempts, 4);
  assert.equal(rec.state, 'ready');
  assert.deepEqual(audioRequests(id).map((r) => r.status), [503, 429, 404, 200]);
});

test('without ELEVENLABS_API_KEY the job fails at once, naming the variable; ElevenLabs is not called', async () => {
  const gw = await gateway({});
  const id = convId();
  el.addConversation({ id, audio: mp3.mp3 });
  const { rec, job, file } = await transcriptThenSettle(gw, id);
  assert.equal(job.state, 'failed');
  assert.equal(job.attempts, 1);
  assert.equal(rec.state, 'failed');
  assert.equal(rec.failureCode, 'not_configured');
  assert.match(rec.failureReason ?? '', /ELEVENLABS_API_KEY/);
  assert.equal(audioRequests(id).length, 0);
  assert.equal(fs.existsSync(file), false);
  // the transcript itself is there: only the audio is missing
  assert.equal((await gw.app.gateway.store.transcripts.lines(`EL-${id}`, 'post_call')).length, 4);
});

test('a refused key (401) fails for good with the reason; no file, no retry', async () => {
  const gw = await gateway({ ELEVENLABS_API_KEY: 'xi-wrong-key' });
  const id = convId();
  el.addConversation({ id, audio: mp3.mp3 });
  const { rec, job, file } = await transcriptThenSettle(gw, id);
  assert.equal(job.state, 'failed');
  assert.equal(job.attempts, 1);
  assert.equal(rec.state, 'failed');
  assert.equal(rec.failureCode, 'elevenlabs_auth');
  assert.match(rec.failureReason ?? '', /401.*ELEVENLABS_API_KEY/);
  assert.deepEqual(audioRequests(id).map((r) => r.status), [401]);
  assert.equal(fs.existsSync(file), false);
});

test('a redirect to another host is not followed (the key goes nowhere else)', async () => {
  let elsewhere = 0;
  const other = http.createServer((_req, res) => {
    elsewhere++;
    res.end('x');
  });
  const port = await listenLoopback(other);
  try {
    const gw = await gateway({ ELEVENLABS_API_KEY: KEY });
    const id = convId();
    el.addConversation({ id, audio: mp3.mp3 });
    el.fault({ endpoint: 'audio', conversationId: id, redirectTo: `http://localhost:${port}/steal`, times: 5 });
    const { rec, job } = await transcriptThenSettle(gw, id);
    assert.equal(job.state, 'failed');
    assert.equal(rec.failureCode, 'redirect_off_host');
    assert.equal(elsewhere, 0);
  } finally {
    await closeServer(other, new Set());
  }
});

test('audio that is not an MP3 fails for good; a stalled body is a retryable stall', async () => {
  const gw = await gateway({ ELEVENLABS_API_KEY: KEY });
  const id = convId();
  el.addConversation({ id, audio: Buffer.from('{"detail":"this is not audio"}'.repeat(100)) });
  const { rec, job } = await transcriptThenSettle(gw, id);
  assert.equal(job.state, 'failed');
  assert.equal(job.attempts, 1);
  assert.equal(rec.failureCode, 'not_mp3');

  // the stall, through the handler itself with a short idle timeout
  const stalled = convId();
  el.addConversation({ id: stalled, audio: mp3.mp3 });
  el.fault({ endpoint: 'audio', conversationId: stalled, stallAfterBytes: 1000 });
  const { store, config, queue, files } = gw.app.gateway;
  await store.calls.insertIfAbsent({ callSid: `EL-${stalled}`, provider: 'elevenlabs', providerCallId: stalled, direction: 'inbound', agentTrack: 'outbound', customerTrack: 'inbound', status: 'done' });
  const handler = audioFetchHandler({ config, store, files, queue, httpTimeoutMs: 200 });
  const ctx = {
    job: { maxAttempts: 5 } as JobRow, payload: { callSid: `EL-${stalled}`, conversationId: stalled }, attempt: 1,
    signal: new AbortController().signal, log: gw.app.log as JobContext['log'],
  };
  await assert.rejects(handler(ctx), (err: unknown) => err instanceof JobError && err.code === 'stalled' && err.retryable);
  assert.equal(fs.readdirSync(path.join(gw.dir, `EL-${stalled}`)).filter((f) => f.endsWith('.part')).length, 0);
});
