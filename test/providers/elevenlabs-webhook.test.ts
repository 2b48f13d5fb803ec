// POST /elevenlabs/post-call through the real gateway, over real HTTP, signed as ElevenLabs signs:
// transcripts become calls with transcripts, audio becomes a verified, servable MP3, either order
// ends the same, and every bad delivery (signature, time, size, JSON) is refused, stores nothing
// and leaves no spool file behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import type { CallDetailT } from '../../src/api/call-schemas.js';
import { scanMp3 } from '../../src/audio/mp3.js';
import { signatureHeaderFor } from '../../src/providers/elevenlabs-signature.js';
import { api, local, quiet, sleep, waitFor } from '../api/helpers.js';
import {
  audioPayloadChunks, lameMp3, sendWebhook, startFakeElevenLabs, transcriptionPayload, type FakeElevenLabs,
} from '../fakes/elevenlabs.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

const SECRET = 'wsec_test_0123456789abcdef';
const API_KEY_EL = 'xi-test-key-0123456789';

let el: FakeElevenLabs;
let gw: TestGateway;
let n = 0;
const convId = () => `conv_01jx${(n++).toString().padStart(4, '0')}abc`;
const mp3 = lameMp3({ seconds: 4, rate: 22050, channels: 1, kbps: 48 });

before(async () => {
  el = await startFakeElevenLabs({ apiKey: API_KEY_EL });
  gw = await startGateway({
    ELEVENLABS_WEBHOOK_SECRET: SECRET, ELEVENLABS_API_KEY: API_KEY_EL, ELEVENLABS_API_BASE_URL: el.url,
    ELEVENLABS_MAX_BODY_MB: '2', ELEVENLABS_AUDIO_WAIT_S: '1', JOB_POLL_MS: '20', JOB_BACKOFF_BASE_MS: '20', JOB_BACKOFF_MAX_MS: '100',
  });
});
after(async () => {
  // nothing above warn (no 500s), and no phone numbers or transcript text in the log
  assert.deepEqual(gw.logs.filter((l) => Number(l.level) >= 50).map((l) => l.msg), []);
  const text = JSON.stringify(gw.logs);
  for (const secret of ['+15550100999', '15550100777', 'refund', SECRET]) assert.ok(!text.includes(secret), secret);
  await gw.close();
  await el.close();
});
afterEach(() => assertNoLeftovers(gw));

/** No spool file and no .part anywhere: every path, good or bad, cleans up. */
function assertNoLeftovers(g: TestGateway) {
  const incoming = path.join(g.dir, '.incoming');
  const spooled = fs.existsSync(incoming) ? fs.readdirSync(incoming, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : [];
  assert.deepEqual(spooled.map((e) => e.name), [], 'spool files left behind');
  const parts = fs.readdirSync(g.dir, { recursive: true }).map(String).filter((f) => f.endsWith('.part'));
  assert.deepEqual(parts, [], '.part files left behind');
}

const post = (g: TestGateway, body: object | string | Buffer, o: Partial<Parameters<typeof sendWebhook>[2]> = {}) =>
  sendWebhook(g.url, typeof body === 'object' && !Buffer.isBuffer(body) ? JSON.stringify(body) : body, { secret: SECRET, ...o });
const audioBody = async (id: string, bytes = mp3.mp3, escapeSlashes = false) => {
  const parts: Buffer[] = [];
  for await (const c of audioPayloadChunks(id, bytes, { escapeSlashes })) parts.push(c);
  return Buffer.concat(parts);
};
const detail = async (callSid: string) => {
  const res = await api(gw, 'GET', `/api/calls/${callSid}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<CallDetailT>();
};
const events = (callSid: string) => gw.app.gateway.store.providerEvents.listByCall(callSid);

test('a transcription becomes the call and its transcript, in the API and transcript.json', async () => {
  const id = convId();
  const callSid = `EL-${id}`;
  const res = await post(gw, transcriptionPayload(id, { hasAudio: false }));
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { received: true, call_sid: callSid });
  await waitFor('the transcript', async () => (await gw.app.gateway.store.transcripts.lines(callSid, 'post_call')).length > 0);
  const call = await detail(callSid);
  assert.equal(call.provider, 'elevenlabs');
  assert.equal(call.provider_call_id, id);
  assert.equal(call.direction, 'inbound');
  assert.equal(call.from, '+15550100999');
  assert.equal(call.to, '+15550100200');
  assert.equal(call.status, 'done');
  assert.equal(call.ended_at, new Date((1_739_537_297 + 18) * 1000).toISOString());
  assert.equal(call.agent_track, 'outbound');
  const expected = [
    { speaker: 'agent', start: 0, end: 4, text: 'Hello, you are speaking with the support desk. How can I help?' },
    { speaker: 'customer', start: 4, end: 10, text: 'Hi, my card number is 4111 1111 1111 1111 and I want a refund.' },
    { speaker: 'agent', start: 10, end: 14, text: 'Of course, I have started the refund for you.' },
    { speaker: 'customer', start: 14, end: 18, text: 'Thank you, goodbye.' },
  ];
  assert.deepEqual(call.transcript?.lines, expected);
  const doc = JSON.parse(fs.readFileSync(path.join(gw.dir, callSid, 'transcript.json'), 'utf8'));
  assert.deepEqual(doc, { call_sid: callSid, source: 'post_call', model: 'elevenlabs', redacted: false, lines: expected });
  // nothing of OpenAI's pipeline runs for it, and no fetch is planned (has_audio false)
  await quiet(gw, callSid);
  const kinds = (await Promise.all((await gw.app.gateway.store.calls.relatedJobIds(callSid)).map((j) => gw.app.gateway.store.jobs.get(j)))).map((j) => j?.kind);
  assert.deepEqual(kinds, ['elevenlabs-transcript']);
  // the event is kept, once
  const ev = await events(callSid);
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.eventKey, `post_call_transcription:${id}`);
});

test('audio becomes cloud.EL-….mp3, byte-identical, measured, and served with Range', async () => {
  const id = convId();
  const callSid = `EL-${id}`;
  const res = await post(gw, await audioBody(id, mp3.mp3, true), { chunked: true });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const file = path.join(gw.dir, callSid, `cloud.${callSid}.mp3`);
  assert.deepEqual(fs.readFileSync(file), mp3.mp3);
  const rec = await gw.app.gateway.store.recordings.get(callSid);
  assert.equal(rec?.state, 'ready');
  assert.equal(rec?.provider, 'elevenlabs');
  assert.equal(rec?.fileBytes, mp3.mp3.length);
  assert.equal(rec?.fileChannels, 1);
  assert.equal(rec?.fileSampleRate, 22050);
  // 4 s encoded; without a LAME tag (its frames are too small for one) the encoder's delay and
  // padding count too, a few 26 ms frames
  assert.equal(rec?.fileDurationS, Math.round(scanMp3(mp3.mp3).durationS * 1000) / 1000);
  assert.ok(rec!.fileDurationS! >= 4 && rec!.fileDurationS! < 4.1, `duration ${rec?.fileDurationS}`);
  const call = await detail(callSid);
  assert.equal(call.provider, 'elevenlabs');
  const art = call.artifacts.find((a) => a.file === `cloud.${callSid}.mp3`);
  assert.ok(art, 'the MP3 is among the artifacts');
  const ranged = await gw.app.inject({ method: 'GET', url: local(art.url), headers: { range: 'bytes=100-199' } });
  assert.equal(ranged.statusCode, 206);
  assert.equal(ranged.headers['content-type'], 'audio/mpeg');
  assert.deepEqual(ranged.rawPayload, mp3.mp3.subarray(100, 200));
  // the stored event holds no audio
  const ev = await events(callSid);
  assert.equal(ev.length, 1);
  assert.ok(!JSON.stringify(ev[0]!.payload).includes(mp3.mp3.subarray(0, 30).toString('base64')));
});

test('a duplicate delivery answers 200 {duplicate: true} and changes nothing', async () => {
  const id = convId();
  const callSid = `EL-${id}`;
  const body = await audioBody(id);
  assert.equal((await post(gw, body)).status, 200);
  const before = await gw.app.gateway.store.recordings.get(callSid);
  const file = path.join(gw.dir, callSid, `cloud.${callSid}.mp3`);
  const mtime = fs.statSync(file).mtimeMs;
  const again = await post(gw, body);
  assert.equal(again.status, 200);
  assert.equal(again.body.duplicate, true);
  assert.deepEqual(await gw.app.gateway.store.recordings.get(callSid), before);
  assert.equal(fs.statSync(file).mtimeMs, mtime);
  const t = transcriptionPayload(id, { hasAudio: true });
  assert.deepEqual((await post(gw, t)).body, { received: true, call_sid: callSid });
  assert.deepEqual((await post(gw, t)).body, { duplicate: true, call_sid: callSid });
  assert.equal((await events(callSid)).length, 2);
  await quiet(gw, callSid);
  assert.equal((await gw.app.gateway.store.calls.relatedJobIds(callSid)).length, 1, 'one transcript job for both deliveries');
});

test('audio before transcript and transcript before audio end the same, nothing fetched', async () => {
  const first = convId();
  const second = convId();
  // audio first: the row is made with defaults, the transcript fills it in
  assert.equal((await post(gw, await audioBody(first))).status, 200);
  assert.equal((await post(gw, transcriptionPayload(first, { phoneCall: { direction: 'outbound', agent_number: '+15550100200', external_number: '+15550100777' } }))).status, 200);
  // transcript first (it says has_audio): a fetch is planned, then the audio comes by webhook
  assert.equal((await post(gw, transcriptionPayload(second, { phoneCall: { direction: 'outbound', agent_number: '+15550100200', external_number: '+15550100777' } }))).status, 200);
  await waitFor('the second transcript', async () => (await gw.app.gateway.store.transcripts.lines(`EL-${second}`, 'post_call')).length > 0);
  assert.equal((await post(gw, await audioBody(second))).status, 200);
  await sleep(1300); // past ELEVENLABS_AUDIO_WAIT_S: the planned fetch runs and finds the audio there
  for (const id of [first, second]) {
    const callSid = `EL-${id}`;
    await quiet(gw, callSid);
    const call = await detail(callSid);
    assert.equal(call.direction, 'outbound', id);
    assert.equal(call.from, '+15550100200');
    assert.equal(call.to, '+15550100777');
    assert.equal(call.status, 'done');
    assert.equal(call.transcript?.lines.length, 4);
    assert.equal(call.cloud_recording_state, 'ready');
    assert.deepEqual(fs.readFileSync(path.join(gw.dir, callSid, `cloud.${callSid}.mp3`)), mp3.mp3);
    // one mixed track and ElevenLabs' own transcript: no reconciliation, no OpenAI transcription
    const jobs = await Promise.all((await gw.app.gateway.store.calls.relatedJobIds(callSid)).map((j) => gw.app.gateway.store.jobs.get(j)));
    assert.ok(jobs.every((j) => j?.kind === 'elevenlabs-transcript' || j?.kind === 'elevenlabs-audio-fetch'), jobs.map((j) => j?.kind).join());
    assert.equal(call.reconciliation_verdict ?? null, null);
  }
  const fetchJob = await gw.app.gateway.store.jobs.getByKey(`elevenlabs-audio:EL-${second}`);
  assert.equal(fetchJob?.state, 'succeeded');
  assert.deepEqual(fetchJob.result, { skipped: 'audio already received' });
  assert.equal(await gw.app.gateway.store.jobs.getByKey(`elevenlabs-audio:EL-${first}`), undefined, 'audio was there: no fetch planned');
  assert.equal(el.requests.filter((r) => r.path.includes(first) || r.path.includes(second)).length, 0, 'ElevenLabs was not asked');
});

test('call_initiation_failure marks the call failed; unknown types are stored and answered 200', async () => {
  const id = convId();
  const res = await post(gw, { type: 'call_initiation_failure', event_timestamp: 1739537297, data: { agent_id: 'agent_x', conversation_id: id, failure_reason: 'busy', metadata: {} } });
  assert.equal(res.status, 200);
  assert.equal((await gw.app.gateway.store.calls.get(`EL-${id}`))?.status, 'failed');
  const unknown = await post(gw, { type: 'post_call_something_new', event_timestamp: 1739537297, data: { conversation_id: id } });
  assert.equal(unknown.status, 200);
  assert.equal((await events(`EL-${id}`)).map((e) => e.kind).sort().join(','), 'call_initiation_failure,post_call_something_new');
});

test('signatures: wrong secret, tampered body, old or future time, garbled or missing header → 401', async () => {
  const id = convId();
  const body = JSON.stringify(transcriptionPayload(id, { hasAudio: false }));
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, Parameters<typeof sendWebhook>[2], string | Buffer]> = [
    ['wrong secret', { secret: 'not-the-secret' }, body],
    ['tampered body', { secret: SECRET, header: signatureHeaderFor(SECRET, body, now) }, body.replace('"done"', '"fail"')],
    ['31 minutes old', { secret: SECRET, t: now - 31 * 60 }, body],
    ['31 minutes ahead', { secret: SECRET, t: now + 31 * 60 }, body],
    ['missing header', { secret: SECRET, header: null }, body],
    ['garbled header', { secret: SECRET, header: 'v0=abc,t=soon' }, body],
    ['sha1-length v0', { secret: SECRET, header: `t=${now},v0=${'a'.repeat(40)}` }, body],
  ];
  for (const [what, o, b] of cases) {
    const res = await sendWebhook(gw.url, b, o);
    assert.equal(res.status, 401, what);
    assert.equal(typeof res.body.error, 'string', what);
  }
  // 29 minutes old is still fine (the SDK's tolerance is 30)
  assert.equal((await sendWebhook(gw.url, body, { secret: SECRET, t: now - 29 * 60 })).status, 200);
  assert.equal((await events(`EL-${id}`)).length, 1, 'only the good delivery was stored');
  await quiet(gw, `EL-${id}`);
});

test('malformed JSON after a valid signature → 400; bad audio → 4xx with the reason; nothing stored', async () => {
  assert.equal((await post(gw, '{"type":"post_call_transcription","data":{')).status, 400);
  assert.equal((await post(gw, 'not json at all')).status, 400);
  assert.equal((await post(gw, { data: { conversation_id: 'x' } })).status, 400, 'no type');
  assert.equal((await post(gw, { type: 'post_call_transcription', data: { conversation_id: '../../etc' } })).status, 400, 'unsafe id');
  const id = convId();
  const notMp3 = await post(gw, await audioBody(id, Buffer.from('RIFF....WAVEfmt this is not an mp3 at all, just text'.repeat(50))));
  assert.equal(notMp3.status, 422);
  assert.match(String(notMp3.body.error), /MP3/);
  const rec = await gw.app.gateway.store.recordings.get(`EL-${id}`);
  assert.equal(rec?.state, 'failed');
  assert.equal(rec?.failureCode, 'not_mp3');
  const b64 = await post(gw, `{"type":"post_call_audio","data":{"conversation_id":"${id}","full_audio":"AAAA$$$$"}}`);
  assert.equal(b64.status, 400);
  assert.equal((await events(`EL-${id}`)).length, 0);
  assert.equal(fs.existsSync(path.join(gw.dir, `EL-${id}`, `cloud.EL-${id}.mp3`)), false);
});

test('a body past ELEVENLABS_MAX_BODY_MB → 413, declared or chunked, and the upload is cut off', async () => {
  const id = convId();
  const big = lameMp3({ seconds: 200, rate: 44100, channels: 2, kbps: 96, noise: false });
  assert.ok(big.mp3.length * 4 / 3 > 2 * 1024 * 1024);
  const chunks = () => audioPayloadChunks(id, big.mp3);
  for (const chunked of [false, true]) {
    const res = await sendWebhook(gw.url, chunks, { secret: SECRET, chunked });
    assert.equal(res.status, 413, `chunked=${chunked}`);
    assert.match(String(res.body.error), /ELEVENLABS_MAX_BODY_MB/);
  }
  assert.equal(await gw.app.gateway.store.calls.get(`EL-${id}`), undefined);
  // the gateway still answers
  const next = convId();
  assert.equal((await post(gw, transcriptionPayload(next, { hasAudio: false }))).status, 200);
  await quiet(gw, `EL-${next}`);
});

test('without ELEVENLABS_WEBHOOK_SECRET every delivery is refused, naming the variable, logged once', async () => {
  const bare = await startGateway({});
  try {
    for (let i = 0; i < 2; i++) {
      const res = await post(bare, transcriptionPayload(convId()));
      assert.equal(res.status, 401);
      assert.match(String(res.body.error), /ELEVENLABS_WEBHOOK_SECRET/);
    }
    const errors = bare.logs.filter((l) => l.level === 50 && String(l.msg).includes('ELEVENLABS_WEBHOOK_SECRET'));
    assert.equal(errors.length, 1);
    assertNoLeftovers(bare);
  } finally {
    await bare.close();
  }
});

test('REDACT_TRANSCRIPTS masks numbers in the stored transcript; a killed upload\'s spool is cleared at start', async () => {
  const dir = tempDir();
  const mine = path.join(dir, '.incoming', 'test-instance', 'elevenlabs-dead.json');
  const theirs = path.join(dir, '.incoming', 'other-instance', 'elevenlabs-live.json');
  for (const f of [mine, theirs]) {
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, '{"type":"post_call_audio","data":{"full_audio":"SUQz');
  }
  const redacting = await startGateway({ ELEVENLABS_WEBHOOK_SECRET: SECRET, REDACT_TRANSCRIPTS: 'true', JOB_POLL_MS: '20' }, dir);
  try {
    assert.equal(fs.existsSync(mine), false, 'this instance\'s leftover is gone');
    assert.equal(fs.existsSync(theirs), true, 'another instance\'s upload is left alone');
    fs.rmSync(path.dirname(theirs), { recursive: true });
    const id = convId();
    assert.equal((await post(redacting, transcriptionPayload(id, { hasAudio: false }))).status, 200);
    const lines = await waitFor('the transcript', async () => {
      const l = await redacting.app.gateway.store.transcripts.lines(`EL-${id}`, 'post_call');
      return l.length > 0 ? l : undefined;
    });
    assert.equal(lines[1]!.text, 'Hi, my card number is [card number] and I want a refund.');
    const doc = JSON.parse(fs.readFileSync(path.join(dir, `EL-${id}`, 'transcript.json'), 'utf8'));
    assert.equal(doc.redacted, true);
    assert.equal(doc.lines[1].text, lines[1]!.text);
    assertNoLeftovers(redacting);
  } finally {
    await redacting.close();
  }
});
