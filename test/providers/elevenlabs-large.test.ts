// A post_call_audio body far past fastify's 1 MB limit, sent chunked as ElevenLabs may send it:
// accepted, decoded to a byte-identical MP3, while the process's memory grows far less than the
// body (it is streamed to a spool and decoded from there, never held). ~50 MB, because below a few
// tens of MB the socket's spent buffers may all still await the collector and the figure says
// little; past that it levels off (measured: ~9 MB of growth for 51 MB). Its own file, so the RSS
// measure is not disturbed by other tests.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { scanMp3 } from '../../src/audio/mp3.js';
import { audioPayloadChunks, lameMp3, sendFileFromChild, sendWebhook, signedBodyFile } from '../fakes/elevenlabs.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

const SECRET = 'wsec_large_0123456789';
let gw: TestGateway;
let mp3File: string;
let mp3Bytes = 0;
let mp3Sha = '';
let pieceS = 0;
const REPS = 100;

before(async () => {
  gw = await startGateway({ ELEVENLABS_WEBHOOK_SECRET: SECRET, ELEVENLABS_MAX_BODY_MB: '64' });
  // ~38 MB of MP3: a 10 s, 320 kbps piece without a Xing frame, repeated (still one valid frame sequence)
  const piece = lameMp3({ seconds: 10, rate: 44100, channels: 2, kbps: 320, noise: true, extra: ['-t', '-q', '9'] });
  pieceS = scanMp3(piece.mp3).durationS;
  mp3File = path.join(tempDir('cv-el-large-'), 'big.mp3');
  const hash = createHash('sha256');
  for (let i = 0; i < REPS; i++) {
    fs.appendFileSync(mp3File, piece.mp3);
    hash.update(piece.mp3);
    mp3Bytes += piece.mp3.length;
  }
  mp3Sha = hash.digest('hex');
});
after(async () => {
  await gw.close();
  // ~130 MB of fixtures and output: not left in /tmp
  fs.rmSync(path.dirname(mp3File), { recursive: true, force: true });
  fs.rmSync(gw.dir, { recursive: true, force: true });
});

test('a 50 MB chunked body is taken in as a stream: byte-identical MP3, RSS growth well below the body', async () => {
  const id = 'conv_large_0001';
  const callSid = `EL-${id}`;
  const bodyBytes = Math.ceil(mp3Bytes / 3) * 4;
  assert.ok(bodyBytes > 48 * 1024 * 1024, `body ${bodyBytes} bytes`);
  // fastify's default limit (1 MB) refuses far less elsewhere in the same app
  const elsewhere = await gw.app.inject({ method: 'POST', url: '/twilio/voice', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `To=${'1'.repeat(2 * 1024 * 1024)}` });
  assert.equal(elsewhere.statusCode, 413);

  const bodyFile = path.join(path.dirname(mp3File), 'body.json');
  const signed = await signedBodyFile(bodyFile, audioPayloadChunks(id, fs.createReadStream(mp3File) as AsyncIterable<Buffer>), SECRET);
  assert.ok(signed.bytes > bodyBytes && signed.bytes < bodyBytes + 512);
  // warm up (JIT, first spool folder) with the same path on a small body, then measure; the
  // sender is another process, so only the gateway's memory is in the figure
  const warm = lameMp3({ seconds: 2, rate: 16000, channels: 1, kbps: 32 });
  assert.equal((await sendWebhook(gw.url, () => audioPayloadChunks('conv_warm', warm.mp3), { secret: SECRET, chunked: true })).status, 200);
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  let res;
  try {
    res = await sendFileFromChild(gw.url, bodyFile, signed.header);
  } finally {
    clearInterval(sampler);
  }
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const growth = peak - base;
  console.log(`# RSS growth ${(growth / 1048576).toFixed(1)} MB for a ${(bodyBytes / 1048576).toFixed(1)} MB body`);
  // Holding the body once would be +51 MB, as text and decoded +89 MB; streaming stays at a few
  // MB of buffers plus garbage the collector has not taken yet.
  assert.ok(growth < bodyBytes / 3, `RSS grew ${(growth / 1048576).toFixed(1)} MB for a ${(bodyBytes / 1048576).toFixed(1)} MB body`);
  const file = path.join(gw.dir, callSid, `cloud.${callSid}.mp3`);
  assert.equal(fs.statSync(file).size, mp3Bytes);
  assert.equal(createHash('sha256').update(fs.readFileSync(file)).digest('hex'), mp3Sha);
  const rec = await gw.app.gateway.store.recordings.get(callSid);
  assert.equal(rec?.state, 'ready');
  assert.equal(rec?.sha256, mp3Sha);
  assert.equal(rec?.fileSampleRate, 44100);
  assert.equal(rec?.fileChannels, 2);
  assert.ok(Math.abs(rec!.fileDurationS! - REPS * pieceS) < 0.01, `duration ${rec?.fileDurationS}`);
  assert.deepEqual(fs.readdirSync(path.join(gw.dir, '.incoming', gw.config.instanceId)), []);
});
