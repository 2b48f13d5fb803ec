// WSS /vonage/media-stream against a client that behaves like Vonage: real speech in 20 ms binary
// frames after a `websocket:connected` frame, read back from the contract files sample by sample.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { resampleAll } from '../../src/audio/resample.js';
import { SOX_S16, bytesOf, int16FromLE, runSox } from '../audio/helpers.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { channel, readWav } from '../helpers/wav.js';
import {
  addVonageCall, connectVonage, connectedFrame, finishedStream, speech, vonageCallId,
} from './vonage-ws-client.js';

const SECRET = 'vonage-ws-test-secret-0123456789';
let gw: TestGateway;
let speech16: Int16Array;
let callSeq = 1;
const nextCall = () => vonageCallId(callSeq++);

before(async () => {
  gw = await startGateway({ STREAM_TOKEN_SECRET: SECRET, CLOUD_RECORDING: 'false', CAPTURE_FLUSH_MS: '100' });
  const s = speech('Hello, this is the customer on a Vonage call. I would like to check my last three orders, please.', 16000);
  speech16 = s.subarray(0, s.length - (s.length % 320)); // whole 20 ms frames, as Vonage sends
});
after(() => gw.close());

const fileOf = (callSid: string, streamSid: string, name: string) => path.join(gw.dir, callSid, `${streamSid}.${name}.wav`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** sox `rate -v`, the independent reference for the derived 8 kHz file. */
const soxDown = (x: Int16Array) => int16FromLE(runSox(bytesOf(x), [...SOX_S16, '-r', '16000'], [...SOX_S16, '-r', '8000'], ['rate', '-v', '8000']));

function snrAtLag(x: Int16Array, ref: Int16Array, lag: number, margin = 200): number {
  let signal = 0;
  let noise = 0;
  for (let i = margin; i < Math.min(x.length, ref.length) - margin; i++) {
    const d = x[i]! - ref[i + lag]!;
    signal += ref[i + lag]! ** 2;
    noise += d * d;
  }
  return 10 * Math.log10(signal / Math.max(noise, 1e-9));
}

async function healthy(): Promise<void> {
  const health = await gw.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.statusCode, 200, 'the server keeps serving');
}

test('a 16 kHz leg: the 16k file is the sent PCM bit for bit, the 8k file is it resampled at lag 0, rows and stats recorded', async () => {
  const callSid = nextCall();
  await addVonageCall(gw, callSid);
  const c = await connectVonage(gw);
  c.text(connectedFrame(SECRET, { callSid, track: 'inbound' }));
  const half = Math.floor(speech16.length / 640 / 2) * 320;
  c.audio(speech16.subarray(0, half));
  c.text(JSON.stringify({ event: 'websocket:dtmf', digit: '5' })); // a later event: logged, nothing else
  await sleep(400);

  // Mid-call: every file already reads as a valid WAV holding a prefix of the audio.
  const [open] = await gw.app.gateway.store.streams.listByCall(callSid);
  assert.ok(open && /^VS[0-9a-f]{32}$/.test(open.streamSid), 'a VS stream id');
  assert.equal(open.state, 'open');
  const live16 = readWav(fileOf(callSid, open.streamSid, 'inbound.16k'));
  assert.ok(live16.samples.length >= half - 960 && live16.samples.length <= half, `${live16.samples.length} of ${half} samples on disk mid-call`);
  assert.deepEqual(live16.samples, speech16.subarray(0, live16.samples.length));
  assert.equal(readWav(fileOf(callSid, open.streamSid, 'stereo.8k')).channels, 2);

  c.audio(speech16.subarray(half));
  c.ws.close(1000);
  const { stream, captures } = await finishedStream(gw, callSid);
  assert.equal(stream.streamSid, open.streamSid);
  assert.deepEqual(stream.tracks, ['inbound']);
  assert.equal(stream.instanceId, 'test-instance');
  assert.match(stream.closeReason ?? '', /socket closed/);

  const w16 = readWav(fileOf(callSid, stream.streamSid, 'inbound.16k'));
  assert.equal(w16.rate, 16000);
  assert.deepEqual(w16.samples, speech16, '16k file = the PCM sent, sample for sample');
  const w8 = readWav(fileOf(callSid, stream.streamSid, 'inbound.8k'));
  assert.equal(w8.rate, 8000);
  assert.equal(w8.samples.length, speech16.length / 2);
  assert.deepEqual(w8.samples, resampleAll(speech16, 16000, 8000), 'streamed in frames = one whole-buffer pass');
  const ref = soxDown(speech16);
  const snr = [-2, -1, 0, 1, 2].map((lag) => snrAtLag(w8.samples, ref, lag));
  assert.ok(snr[2]! > 70, `8k vs sox rate -v at lag 0: ${snr[2]!.toFixed(1)} dB`);
  assert.ok(snr[2]! > Math.max(snr[0]!, snr[1]!, snr[3]!, snr[4]!) + 50, `lag 0 is the alignment: ${snr.map((x) => x.toFixed(1)).join(' ')}`);

  const stereo = readWav(fileOf(callSid, stream.streamSid, 'stereo.8k'));
  assert.deepEqual(channel(stereo, 0), w8.samples, 'inbound on the left');
  assert.ok(channel(stereo, 1).every((x) => x === 0), 'the track this leg does not carry is digital silence');
  assert.equal(fs.readdirSync(path.join(gw.dir, callSid)).filter((f) => f.startsWith(stream.streamSid)).length, 3);

  assert.deepEqual(captures.map((x) => [x.kind, x.track, x.sampleRate, x.channels, x.state]), [
    ['track', 'inbound', 8000, 1, 'complete'], ['track', 'inbound', 16000, 1, 'complete'], ['stereo', null, 8000, 2, 'complete'],
  ]);
  assert.deepEqual(captures.map((x) => x.samples), [w8.samples.length, w16.samples.length, w8.samples.length]);
  const stats = captures[0]!.stats as Record<string, unknown>;
  assert.equal(stats.frames, speech16.length / 320);
  assert.equal(stats.bytes, speech16.length * 2);
  assert.equal(stats.input_rate, 16000);
  assert.equal(stats.samples, w8.samples.length);
  assert.equal(stats.lost_ms, 0);
  assert.ok((stats.rms as number) > 0.01);
  assert.equal(captures[2]!.stats, null);

  // onFinished ran the post-call work: with cloud recording off, reconciliation of the one track.
  let rec;
  for (let i = 0; i < 300 && !rec; i++, await sleep(50)) rec = await gw.app.gateway.store.reconciliations.get(callSid);
  assert.equal(rec?.verdict, 'local-only');
  const final = readWav(path.join(gw.dir, callSid, 'final.stereo.wav'));
  assert.deepEqual(channel(final, 1), w8.samples, 'customer (inbound) from the capture');
  assert.ok(channel(final, 0).every((x) => x === 0), 'no agent audio anywhere');
  await healthy();
});

test('an 8 kHz leg with headers under `headers`: the 8k file is as received, the 16k one derived', async () => {
  const callSid = nextCall();
  await addVonageCall(gw, callSid);
  const pcm8 = speech('Thank you for waiting. Your order left the warehouse this morning.', 8000, 'en-gb');
  const c = await connectVonage(gw);
  c.text(connectedFrame(SECRET, { callSid, track: 'outbound', contentType: 'audio/l16; rate=8000', nested: true }));
  c.audio(pcm8, 320);
  c.ws.close(1000);
  const { stream, captures } = await finishedStream(gw, callSid);
  assert.deepEqual(stream.tracks, ['outbound']);
  const w8 = readWav(fileOf(callSid, stream.streamSid, 'outbound.8k'));
  assert.deepEqual(w8.samples, pcm8);
  assert.deepEqual(readWav(fileOf(callSid, stream.streamSid, 'outbound.16k')).samples, resampleAll(pcm8, 8000, 16000));
  const stereo = readWav(fileOf(callSid, stream.streamSid, 'stereo.8k'));
  assert.ok(channel(stereo, 0).every((x) => x === 0));
  assert.deepEqual(channel(stereo, 1), pcm8, 'outbound on the right');
  assert.equal((captures[0]!.stats as Record<string, unknown>).input_rate, 8000);
});

test('garbage is counted on the stream row and the audio still lands in its place, odd splits included', async () => {
  const callSid = nextCall();
  await addVonageCall(gw, callSid);
  const c = await connectVonage(gw);
  c.binary(Buffer.alloc(640, 7)); // audio before the connected frame
  c.text(JSON.stringify({ event: 'websocket:media:update' })); // an event before it
  c.text(connectedFrame(SECRET, { callSid }));
  c.text(connectedFrame(SECRET, { callSid }));
  c.text('{"event": nope');
  c.binary(Buffer.alloc(20_000)); // larger than any PCM frame taken
  c.text(JSON.stringify({ event: 'x', pad: 'a'.repeat(20_000) }));
  // Odd byte counts: a sample split across frames is joined, not dropped.
  c.audio(speech16, [641, 639, 333, 1001, 2, 1, 3]);
  c.ws.close(1000);
  const { stream } = await finishedStream(gw, callSid);
  assert.deepEqual(readWav(fileOf(callSid, stream.streamSid, 'inbound.16k')).samples, speech16);
  const events = stream.events ?? {};
  assert.equal(events.audio_before_connected, 1);
  assert.equal(events.event_before_connected, 1);
  assert.equal(events.duplicate_connected, 1);
  assert.equal(events.malformed_json, 1);
  assert.equal(events.oversized_frame, 2);
  assert.ok((events.odd_length_frame ?? 0) > 10, JSON.stringify(events));
  assert.ok(gw.logs.some((l) => l.kind === 'odd_length_frame' && l.level === 40), 'a warning names the problem');
  assert.ok(gw.logs.filter((l) => l.kind === 'odd_length_frame' && l.level === 40).length <= 2, 'sparsely');
  await healthy();
});

const refusals: Array<[string, (callSid: string) => Promise<string>, number, RegExp]> = [
  ['a wrong token', async (callSid) => { await addVonageCall(gw, callSid); return connectedFrame(SECRET, { callSid, token: 'forged' }); }, 1008, /invalid stream token/],
  ['a missing token', async (callSid) => { await addVonageCall(gw, callSid); return connectedFrame(SECRET, { callSid, token: null }); }, 1008, /invalid stream token/],
  ['a token for another call', async (callSid) => { await addVonageCall(gw, callSid); return connectedFrame(SECRET, { callSid, token: connectedTokenOf(vonageCallId(999)) }); }, 1008, /invalid stream token/],
  ['an unknown call', async (callSid) => connectedFrame(SECRET, { callSid }), 1008, /unknown call/],
  ['a Twilio call', async () => {
    const twilioCall = 'CA' + 'e'.repeat(32);
    await addVonageCall(gw, twilioCall, 'twilio');
    return connectedFrame(SECRET, { callSid: twilioCall });
  }, 1008, /not a Vonage call/],
  ['an unsupported rate', async (callSid) => { await addVonageCall(gw, callSid); return connectedFrame(SECRET, { callSid, contentType: 'audio/l16;rate=44100' }); }, 1003, /unsupported content-type/],
  ['an unsupported encoding', async (callSid) => { await addVonageCall(gw, callSid); return connectedFrame(SECRET, { callSid, contentType: 'audio/pcmu;rate=8000' }); }, 1003, /unsupported content-type/],
  ['a bad track', async (callSid) => { await addVonageCall(gw, callSid); return connectedFrame(SECRET, { callSid, track: 'both' }); }, 1008, /callvault_track/],
];

function connectedTokenOf(callSid: string): string {
  return (JSON.parse(connectedFrame(SECRET, { callSid })) as { callvault_token: string }).callvault_token;
}

for (const [name, frame, code, reason] of refusals) {
  test(`${name}: closed with ${code} and a clear reason, nothing written`, async () => {
    const callSid = nextCall();
    const text = await frame(callSid);
    const target = (JSON.parse(text) as { callvault_call: string }).callvault_call;
    const c = await connectVonage(gw);
    c.text(text);
    c.audio(speech16.subarray(0, 3200));
    const closed = await c.closed;
    assert.equal(closed.code, code);
    assert.match(closed.reason, reason);
    await sleep(50);
    assert.equal(fs.existsSync(path.join(gw.dir, target)), false, 'no call folder');
    assert.deepEqual(await gw.app.gateway.store.streams.listByCall(target), []);
    await healthy();
  });
}

test('after every refusal a good leg still streams', async () => {
  const callSid = nextCall();
  await addVonageCall(gw, callSid);
  const c = await connectVonage(gw);
  c.text(connectedFrame(SECRET, { callSid }));
  c.audio(speech16.subarray(0, 16000));
  c.ws.close(1000);
  const { stream } = await finishedStream(gw, callSid);
  assert.deepEqual(readWav(fileOf(callSid, stream.streamSid, 'inbound.16k')).samples, speech16.subarray(0, 16000));
});
