// A two-speaker espeak-ng conversation is streamed through the simulator into the real gateway,
// with loss, duplicates, reordering, jitter and late frames. Every sample of every file is
// checked against the mu-law bytes sent, decoded by sox.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { initResampler, resampleAll } from '../../src/audio/resample.js';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { simulateCall, type SimulateResult } from '../../src/cli/simulator/call.js';
import type { TrackStats } from '../../src/capture/track-recorder.js';
import { SOX_S16, int16FromLE, runSox } from '../audio/helpers.js';
import { AUTH_TOKEN, startGateway, type TestGateway } from '../helpers/gateway.js';
import { streamClosed } from '../helpers/stream-client.js';
import { PUBLIC } from '../helpers/twilio-sign.js';
import { channel, readWav } from '../helpers/wav.js';

type Track = 'inbound' | 'outbound';
const TRACKS: Track[] = ['inbound', 'outbound'];
const FRAME = 160;
const WINDOW_MS = 200;

let gw: TestGateway;
let sim: SimulateResult;
let files: Record<string, ReturnType<typeof readWav>>;
let expected: Record<Track, { pcm: Int16Array; delivered: boolean[]; lost: number; late: number; dups: number }>;
let stats: Record<Track, TrackStats>;

/** What the gateway must have kept: a frame arriving more than the jitter window behind the
 *  newest frame is late and becomes silence; margins are wide so no case is borderline. */
function classify(s: SimulateResult) {
  const soxPcm = (t: Track) => int16FromLE(runSox(s.tracks[t], ['-t', 'ul', '-r', '8000', '-c', '1'], SOX_S16));
  const frames = s.tracks.inbound.length / FRAME;
  const out = {} as typeof expected;
  for (const t of TRACKS) out[t] = { pcm: soxPcm(t), delivered: new Array<boolean>(frames).fill(false), lost: 0, late: 0, dups: 0 };
  let newest = -Infinity;
  for (const f of s.sent) {
    const e = out[f.track];
    const k = f.timestampMs / 20;
    const behind = newest - f.timestampMs;
    if (f.duplicate) e.dups++;
    else if (behind > WINDOW_MS + 100) e.late++;
    else if (behind < WINDOW_MS - 50) e.delivered[k] = true;
    else assert.fail(`frame ${k} arrived ${behind} ms behind: too close to the window to judge`);
    newest = Math.max(newest, f.timestampMs);
  }
  for (const l of s.lost) out[l.track].lost++;
  return out;
}

before(async () => {
  await initResampler();
  gw = await startGateway();
  const agent = await speak('Thank you for calling callvault. How can I help you today?');
  const customer = await speak('I would like the recording of my last call, please.', { voice: 'en-us' });
  const call = conversation([
    { track: 'inbound', audio: agent, gapMs: 300 },
    { track: 'outbound', audio: customer, gapMs: 400 },
  ]);
  sim = await simulateCall({
    gatewayUrl: gw.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, direction: 'outbound', to: '+15551234567',
    ...call, realtime: false,
    impairments: { lossRate: 0.03, duplicateRate: 0.03, reorderRate: 0.05, jitterMs: 30, lateRate: 0.02, lateMs: 500, seed: 7 },
  });
  assert.equal(sim.closedBy, 'client', `the gateway closed the stream: ${sim.closeReason}`);
  await streamClosed(gw, sim.streamSid);
  expected = classify(sim);
  const dir = path.join(gw.dir, sim.callSid);
  files = {};
  for (const name of ['inbound.8k', 'inbound.16k', 'outbound.8k', 'outbound.16k', 'stereo.8k']) {
    files[name] = readWav(path.join(dir, `${sim.streamSid}.${name}.wav`));
  }
  const captures = await gw.app.gateway.store.captures.listByStream(sim.streamSid);
  stats = Object.fromEntries(TRACKS.map((t) => [t, captures.find((c) => c.track === t && c.sampleRate === 8000)!.stats])) as unknown as typeof stats;
});
after(() => gw.close());

test('the impairments really happened', (t) => {
  t.diagnostic(JSON.stringify(Object.fromEntries(TRACKS.map((t) => [t, { lost: expected[t].lost, late: expected[t].late, dups: expected[t].dups, frames: files[`${t}.8k`]!.samples.length / 160, lost_ms: stats[t].lost_ms, reordered: stats[t].reordered }]))));
  for (const t of TRACKS) {
    const e = expected[t];
    assert.ok(e.lost > 0 && e.late > 0 && e.dups > 0, `${t}: lost ${e.lost}, late ${e.late}, dups ${e.dups}`);
  }
});

test('every sample of each 8 kHz track equals the sox decoding of what was sent, silence where it never arrived', () => {
  const frames = sim.tracks.inbound.length / FRAME;
  for (const t of TRACKS) {
    const { rate, channels, samples } = files[`${t}.8k`]!;
    assert.equal(rate, 8000);
    assert.equal(channels, 1);
    const lastSent = Math.max(...sim.sent.map((f) => f.timestampMs)) / 20 + 1;
    assert.equal(samples.length, lastSent * FRAME, 'length = the end of the last frame sent');
    assert.ok(lastSent <= frames);
    const e = expected[t];
    let mismatches = 0;
    for (let k = 0; k < lastSent; k++) {
      for (let i = k * FRAME; i < (k + 1) * FRAME; i++) {
        const want = e.delivered[k] ? e.pcm[i]! : 0;
        if (samples[i] !== want) mismatches++;
      }
    }
    assert.equal(mismatches, 0, `${t}: samples differing from the sox reference`);
  }
});

test('capture stats tell loss on Twilio\'s side from late frames, and list the gaps', () => {
  for (const t of TRACKS) {
    const s = stats[t];
    const e = expected[t];
    const lastSent = Math.max(...sim.sent.map((f) => f.timestampMs)) / 20 + 1;
    const neverArrived = e.delivered.slice(0, lastSent).filter((d) => !d).length - e.late;
    assert.equal(s.late_dropped, e.late, `${t} late frames`);
    assert.equal(s.late_dropped_ms, e.late * 20);
    assert.equal(s.lost_ms, neverArrived * 20, `${t} ms never received`);
    assert.ok(s.duplicates >= e.dups, `${t} duplicates ${s.duplicates} >= ${e.dups}`);
    assert.ok(s.reordered > 0, `${t} reordered frames were placed`);
    const gaps: Array<[number, number]> = [];
    for (let k = 0; k < lastSent; k++) {
      if (e.delivered[k]) continue;
      const last = gaps[gaps.length - 1];
      if (last && last[1] === k * 0.02) last[1] = (k + 1) * 0.02;
      else gaps.push([k * 0.02, (k + 1) * 0.02]);
    }
    assert.deepEqual(s.gaps.map(([a, b]) => [a.toFixed(3), b.toFixed(3)]), gaps.map(([a, b]) => [a.toFixed(3), b.toFixed(3)]));
    assert.ok(s.rms > 0.01 && s.clipped === 0);
  }
});

test('the stereo file is left = inbound, right = outbound, aligned to the sample', () => {
  const st = files['stereo.8k']!;
  assert.equal(st.channels, 2);
  assert.deepEqual(channel(st, 0), files['inbound.8k']!.samples);
  assert.deepEqual(channel(st, 1), files['outbound.8k']!.samples);
});

test('each 16 kHz file is the whole-buffer resampling of its 8 kHz file, twice as long, lag 0 against sox', () => {
  for (const t of TRACKS) {
    const s8 = files[`${t}.8k`]!.samples;
    const s16 = files[`${t}.16k`]!;
    assert.equal(s16.rate, 16000);
    assert.equal(s16.samples.length, 2 * s8.length);
    assert.deepEqual(s16.samples, resampleAll(s8, 8000, 16000), 'streamed in frames = one whole-buffer pass');
    const sox = int16FromLE(runSox(new Uint8Array(s8.buffer, s8.byteOffset, s8.byteLength), SOX_S16.concat(['-r', '8000']), SOX_S16.concat(['-r', '16000']), ['rate', '-v', '16000']));
    let best = { lag: NaN, score: -Infinity };
    for (let lag = -8; lag <= 8; lag++) {
      let dot = 0;
      for (let i = 100; i < s16.samples.length - 100; i++) dot += s16.samples[i]! * (sox[i + lag] ?? 0);
      if (dot > best.score) best = { lag, score: dot };
    }
    assert.equal(best.lag, 0, `${t}: 16 kHz file lines up with sox's resampling`);
  }
});
