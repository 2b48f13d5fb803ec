import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connectStream, streamClosed, type StreamClient } from '../helpers/stream-client.js';
import { readWav } from '../helpers/wav.js';

let gw: TestGateway;
before(async () => {
  gw = await startGateway();
});
after(() => gw.close());

const frame = (v: number) => new Uint8Array(160).fill(v);

/** 10 good frames per track around one bad input; every good frame must be on disk. */
async function streamAround(bad: (c: StreamClient) => void, beforeStart = false) {
  const c = await connectStream(gw);
  if (beforeStart) bad(c);
  c.start();
  for (let i = 0; i < 5; i++) for (const t of ['inbound', 'outbound'] as const) c.media(t, i * 20, frame(i + (t === 'inbound' ? 0 : 100)));
  if (!beforeStart) bad(c);
  for (let i = 5; i < 10; i++) for (const t of ['inbound', 'outbound'] as const) c.media(t, i * 20, frame(i + (t === 'inbound' ? 0 : 100)));
  c.stop();
  const row = await streamClosed(gw, c.streamSid);
  const dir = path.join(gw.dir, c.callSid);
  for (const t of ['inbound', 'outbound'] as const) {
    const { samples } = readWav(path.join(dir, `${c.streamSid}.${t}.8k.wav`));
    assert.equal(samples.length, 1600, `${t}: all 10 good frames`);
    for (let i = 0; i < 10; i++) assert.equal(samples[i * 160 + 7], MULAW_TO_PCM16[i + (t === 'inbound' ? 0 : 100)]);
  }
  const health = await gw.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.statusCode, 200, 'the server keeps working');
  return row;
}

const media = (c: StreamClient, mediaFields: Record<string, unknown>) =>
  JSON.stringify({ event: 'media', streamSid: c.streamSid, sequenceNumber: '99', media: { track: 'inbound', chunk: '9', timestamp: '2000', ...mediaFields } });

const cases: Array<[string, (c: StreamClient) => void, boolean?]> = [
  ['malformed_json', (c) => c.send('{"event":"media", nope')],
  ['missing_fields', (c) => c.send(media(c, { track: undefined, payload: 'AAAA' }))],
  ['bad_base64', (c) => c.send(media(c, { payload: '!!!!' }))],
  ['binary_frame', (c) => c.ws.send(Buffer.from([1, 2, 3, 4]), { binary: true })],
  ['oversized_frame', (c) => c.send(media(c, { payload: 'A'.repeat(40_000) }))],
  ['media_before_start', (c) => c.media('inbound', 0, frame(9)), true],
];

for (const [kind, bad, beforeStart] of cases) {
  test(`${kind}: counted and logged, the stream goes on`, async () => {
    const row = await streamAround(bad, beforeStart);
    assert.equal(row.state, 'closed');
    assert.equal(row.events?.[kind], 1, JSON.stringify(row.events));
    assert.ok(gw.logs.some((l) => l.kind === kind && l.level === 40), `a warning names ${kind}`);
  });
}

test('an unknown event is dropped at debug level and the stream goes on', async () => {
  const row = await streamAround((c) => c.send({ event: 'teleport', streamSid: c.streamSid }));
  assert.deepEqual(row.events, {});
  assert.ok(gw.logs.some((l) => l.level === 20 && l.event === 'teleport'));
});

test('a wrong per-call token is refused with a clear close reason and nothing is written', async () => {
  const c = await connectStream(gw);
  c.start('forged-token');
  c.media('inbound', 0, frame(1));
  const { code, reason } = await c.closed;
  assert.equal(code, 1008);
  assert.equal(reason, 'invalid stream token');
  assert.equal(fs.existsSync(path.join(gw.dir, c.callSid)), false, 'no capture folder');
  assert.equal(await gw.app.gateway.store.streams.get(c.streamSid), undefined);
});

test('a token of another call is refused', async () => {
  const other = await connectStream(gw);
  const c = await connectStream(gw);
  c.start(other.token);
  assert.equal((await c.closed).reason, 'invalid stream token');
  other.ws.close();
});

test('an unsigned upgrade is refused before anything is written', async () => {
  const c = await connectStream(gw, { signed: false });
  c.start();
  const { code, reason } = await c.closed;
  assert.equal(code, 1008);
  assert.equal(reason, 'invalid X-Twilio-Signature');
  assert.equal(fs.existsSync(path.join(gw.dir, c.callSid)), false);
});

test('a socket closed without stop still finalises the capture', async () => {
  const c = await connectStream(gw);
  c.start();
  for (let i = 0; i < 20; i++) c.media('inbound', i * 20, frame(3));
  await new Promise((r) => setTimeout(r, 50));
  c.ws.terminate();
  const row = await streamClosed(gw, c.streamSid);
  assert.equal(row.closeReason, 'socket closed');
  const { samples } = readWav(path.join(gw.dir, c.callSid, `${c.streamSid}.inbound.8k.wav`));
  assert.equal(samples.length, 3200);
  const out = readWav(path.join(gw.dir, c.callSid, `${c.streamSid}.outbound.8k.wav`));
  assert.equal(out.samples.length, 3200, 'the silent track is as long as the other');
  assert.ok(out.samples.every((s) => s === 0));
  const captures = await gw.app.gateway.store.captures.listByStream(c.streamSid);
  assert.equal(captures.length, 5);
  assert.ok(captures.every((x) => x.state === 'complete'));
  const outStats = captures.find((x) => x.track === 'outbound' && x.sampleRate === 8000)?.stats;
  assert.equal(outStats?.lost_ms, 400);
});
