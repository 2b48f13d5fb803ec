import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ENVELOPE_HOP, EnvelopeBuilder, MAPPING_MARGIN, chooseMapping, estimateGain, findLag, fitDrift, refineLag, windowsFor,
} from '../../src/audio/correlate.js';
import { SOX_S16, bytesOf, int16FromLE, prng, runSox } from './helpers.js';
import {
  MAX_LAG_FRAMES, RATE, align, envelopeOf, makeCall, mulawRoundTrip, otherCall, speechCall, speechLike, withHiss,
  type CloudCase,
} from './speech.js';

const fmt = (x: number, digits = 4): string => x.toFixed(digits);

test('EnvelopeBuilder gives the same envelope whatever the chunk sizes; digital silence is NaN', () => {
  const x = new Int16Array(8000 + 37);
  speechLike(3)(x);
  x.fill(0, 1600, 1920); // four hops of a lost 40 ms
  x.fill(1000, 4000, 4080); // one hop of a known level
  const whole = new EnvelopeBuilder();
  whole.push(x);
  const ref = whole.finish();
  assert.equal(ref.length, Math.floor(x.length / ENVELOPE_HOP));
  assert.equal(whole.frames, ref.length);
  for (const sizes of [[1], [7, 13], [79, 81], [160], [4000, 1, 333]]) assert.deepEqual(envelopeOf(x, sizes), ref);
  assert.deepEqual([...ref.subarray(20, 24)], [NaN, NaN, NaN, NaN]);
  assert.ok(Number.isFinite(ref[19]!) && Number.isFinite(ref[24]!));
  assert.ok(Math.abs(ref[50]! - Math.log1p(1000 / 16)) < 1e-6);
});

/** Pearson over every lag the slow way: the reference findLag's FFT sums must reproduce. */
function bruteForce(a: Float32Array, b: Float32Array, minLag: number, maxLag: number): { lag: number; score: number } {
  let best = { lag: 0, score: -Infinity };
  for (let lag = minLag; lag <= maxLag; lag++) {
    let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (let i = Math.max(0, -lag); i < Math.min(a.length, b.length - lag); i++) {
      const x = a[i]!;
      const y = Number.isNaN(b[i + lag]!) ? 0 : b[i + lag]!;
      if (Number.isNaN(x)) continue;
      [n, sa, sb, saa, sbb, sab] = [n + 1, sa + x, sb + y, saa + x * x, sbb + y * y, sab + x * y];
    }
    if (n < 100) continue;
    const score = (sab - (sa * sb) / n) / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
    if (score > best.score) best = { lag, score };
  }
  return best;
}

test('findLag finds the same lag and score as a brute-force Pearson search, NaN frames masked', () => {
  const rnd = prng(11);
  // Speech-like levels, all far above findLag's speech gate, so the brute force needs no gate.
  const b = Float32Array.from({ length: 6000 }, (_, i) => (i % 97 < 20 ? NaN : 5.5 + 0.5 * Math.sin(i / 7) * rnd()));
  for (const lag of [-283, -1, 0, 137, 300]) {
    const a = Float32Array.from({ length: 5000 }, (_, i) => (b[i + lag] ?? 0) + rnd() - 0.5);
    for (let i = 0; i < a.length; i += 31) a[i] = NaN; // lost frames
    const got = findLag(a, b, -300, 300);
    const want = bruteForce(a, b, -300, 300);
    assert.equal(got.lag, lag);
    assert.equal(got.lag, want.lag);
    assert.ok(Math.abs(got.score - want.score) < 1e-9, `${got.score} vs ${want.score}`);
  }
  assert.deepEqual(findLag(new Float32Array(500).fill(2), b, -5, 5), { lag: 0, score: 0 }); // flat: no evidence
  assert.throws(() => findLag(b, b, 3, -3), RangeError);
});

test('refineLag: an integer shift comes back exact, a quarter-sample shift within 0.01', async () => {
  const speech = (await speechCall()).outbound;
  const [w] = windowsFor(speech.length, envelopeOf(speech), 1, 2 * RATE);
  assert.ok(w !== undefined);
  const local = speech.subarray(w, w + 2 * RATE);
  const exact = refineLag(local, speech.subarray(w - 300, w + 2 * RATE + 300), w - 300, w + 37, 100);
  assert.deepEqual(exact, { lag: w, score: exact.score });
  assert.ok(exact.score > 1 - 1e-9);
  // Band-limited x(n + 1/4): upsample 4×, keep every 4th sample from the second; then mu-law.
  const raw = (rate: number) => ['-r', String(rate), ...SOX_S16];
  const up = int16FromLE(runSox(bytesOf(speech), raw(RATE), raw(4 * RATE), ['rate', '-v', String(4 * RATE)]));
  const early = mulawRoundTrip(Int16Array.from({ length: speech.length - 1 }, (_, n) => up[4 * n + 1]!));
  const r = refineLag(local, early.subarray(w - 200, w + 2 * RATE + 200), w - 200, w, 120);
  assert.ok(Math.abs(r.lag - (w - 0.25)) < 0.01, `lag ${r.lag - w}`);
  assert.ok(r.score > 0.95, `score ${r.score}`);
});

/** Aligns a made-up call and checks everything the job relies on against the exact truth. */
async function checkCall(t: test.TestContext, c: CloudCase, tolerance: number): Promise<void> {
  const call = makeCall(await speechCall(), c);
  const a = align(call.local, call.cloud);
  const fit = a.fit!;
  t.diagnostic(`scores ${JSON.stringify(a.scores.map((row) => row.map((s) => fmt(s, 3))))} points ${a.points.length}`
    + ` lag0 err ${fmt(fit.lag0 - call.lag0)} samples, ppm err ${fmt(fit.ppm - call.ppm)}, residual ${fmt(fit.residual)}`);
  assert.deepEqual(a.mapping.channelOf, c.swap ? [1, 0] : [0, 1]);
  assert.equal(a.mapping.clear, true);
  assert.ok(a.points.length >= 6, `only ${a.points.length} windows`);
  for (const lag of a.coarse) assert.ok(Math.abs(lag - call.lag0) <= 2 * ENVELOPE_HOP, `coarse ${lag}`);
  if (tolerance === 0) {
    assert.equal(fit.lag0, call.lag0);
    assert.equal(fit.ppm, 0);
  } else {
    assert.ok(Math.abs(fit.lag0 - call.lag0) < tolerance, `lag0 ${fit.lag0} vs ${call.lag0}`);
    assert.ok(Math.abs(fit.ppm - call.ppm) < 1.5, `ppm ${fit.ppm} vs ${call.ppm}`);
  }
}

test('conversation, cloud 2.17 s ahead, same clock, lost frames: exact offset, channels in order', (t) =>
  checkCall(t, { offset: 17_333, dropped: 60 }, 0));
test('cloud starting 1.13 s after the stream, channels swapped, recording cut short: exact offset', (t) =>
  checkCall(t, { offset: -9_001, swap: true, cutTo: 55 * RATE, dropped: 60 }, 0));
test('cloud 0.3 s ahead with +5 ppm drift: offset within 0.2 sample, drift within 1.5 ppm', (t) =>
  checkCall(t, { offset: 2_411, ppm: 5, dropped: 60 }, 0.2));
test('cloud 2.5 s behind with −4 ppm drift, channels swapped, line hiss in the pauses', (t) =>
  checkCall(t, { offset: -20_000, ppm: -4, swap: true, hiss: true }, 0.2));
test('cloud the full 3 s ahead with +3 ppm drift, cut short', (t) =>
  checkCall(t, { offset: 24_000, ppm: 3, cutTo: 70 * RATE }, 0.2));

const table = (scores: number[][]): string => JSON.stringify(scores.map((r) => r.map((s) => fmt(s, 3))));

test('mapping is not clear for a recording of other speech, or with a silent channel', async (t) => {
  for (const hiss of [false, true]) {
    const { local, cloud } = makeCall(await speechCall(), { offset: 4_000, hiss });
    const other = hiss ? withHiss(await otherCall(), 4) : await otherCall();
    const unrelated = align(local, [other.inbound, other.outbound]);
    const silent = align(local, [cloud[0]!, new Int16Array(cloud[1]!.length)]);
    t.diagnostic(`${hiss ? 'hiss' : 'clean'}: other call ${table(unrelated.scores)}, silent channel ${table(silent.scores)}`);
    assert.equal(unrelated.mapping.clear, false);
    assert.equal(silent.mapping.clear, false);
    assert.equal(silent.scores[1]![1], 0);
  }
});

test('a mono recording holds both tracks: both map to channel 0, clearly, at the right offset', async (t) => {
  for (const hiss of [false, true]) {
    const { local, cloud, lag0 } = makeCall(await speechCall(), { offset: 4_003, hiss });
    const mono = align(local, [Int16Array.from(cloud[0]!, (v, i) => (v + cloud[1]![i]!) >> 1)]);
    t.diagnostic(`${hiss ? 'hiss' : 'clean'}: ${table(mono.scores)}`);
    assert.deepEqual([mono.mapping.channelOf, mono.mapping.clear], [[0, 0], true]);
    assert.ok(Math.abs(mono.fit!.lag0 - lag0) < 0.01);
  }
});

test('estimateGain: 1 for a round trip, 0.5 for a cloud twice as loud, 1 at half-sample misalignment', async () => {
  const speech = await speechCall();
  const gains = (c: CloudCase): Array<number | null> => {
    const { local, cloud, lag0, ppm } = makeCall(speech, c);
    return windowsFor(local.inbound.length - 2 * RATE, envelopeOf(local.inbound), 4, 2 * RATE).map((w) => {
      const at = Math.round(lag0 + w * (1 + ppm * 1e-6)); // to the nearest sample, as the job reads
      return estimateGain(local.inbound.subarray(w, w + 2 * RATE), cloud[0]!.subarray(at, at + 2 * RATE));
    });
  };
  const near = (want: number, tol: number) => (g: number | null) => g !== null && Math.abs(g - want) < tol;
  assert.ok(gains({ offset: 800, dropped: 60 }).every((g) => g === 1));
  assert.ok(gains({ offset: 800, scale: 2 }).every(near(0.5, 0.01)));
  assert.ok(gains({ offset: 800, ppm: 5 }).every(near(1, 0.005)));
  assert.equal(estimateGain(new Int16Array(16000), speech.inbound.subarray(0, 16000)), null);
  const other = (await otherCall()).inbound;
  assert.equal(estimateGain(speech.inbound.subarray(0, 16000), other.subarray(0, 16000)), null);
});

test('fitDrift: exact lines, one point, weights, residual', () => {
  const line = [0, 1e5, 3e5, 7e5].map((t) => ({ t, lag: 1000.25 + t * 4e-6 }));
  const fit = fitDrift(line);
  assert.ok(Math.abs(fit.lag0 - 1000.25) < 1e-9 && Math.abs(fit.ppm - 4) < 1e-9 && fit.residual < 1e-9);
  assert.deepEqual(fitDrift([{ t: 5e5, lag: -17 }]), { lag0: -17, ppm: 0, residual: 0 });
  assert.deepEqual(fitDrift([{ t: 0, lag: 7 }, { t: 9e5, lag: 7, weight: 0.3 }]), { lag0: 7, ppm: 0, residual: 0 });
  const outlier = fitDrift([...line.map((p) => ({ ...p, weight: 1 })), { t: 2e5, lag: 1010, weight: 0 }]);
  assert.ok(Math.abs(outlier.ppm - 4) < 1e-9, 'weight 0 is ignored');
  const noisy = fitDrift([{ t: 0, lag: 1 }, { t: 1, lag: -1 }, { t: 2, lag: 1 }, { t: 3, lag: -1 }]);
  assert.ok(noisy.residual > 0.8 && noisy.residual < 1);
  assert.throws(() => fitDrift([]), RangeError);
});

test('chooseMapping: identity vs swapped, the margin and score rules, mono', () => {
  const identity = chooseMapping([[0.9, 0.1], [0.05, 0.92]]);
  assert.deepEqual([identity.channelOf, identity.clear], [[0, 1], true]);
  assert.ok(Math.abs(identity.score - 1.82) < 1e-12 && Math.abs(identity.alternative - 0.15) < 1e-12);
  const swapped = chooseMapping([[0.1, 0.88], [0.9, -0.2]]);
  assert.deepEqual([swapped.channelOf, swapped.clear], [[1, 0], true]);
  assert.equal(chooseMapping([[0.9, 0.1], [0.3, 0.2]]).clear, false, 'one track scores low');
  assert.equal(chooseMapping([[0.6, 0.5], [0.55, 0.6]]).clear, false, `margin under ${MAPPING_MARGIN}`);
  const mono = chooseMapping([[0.8], [0.7]]);
  assert.deepEqual([mono.channelOf, mono.clear, mono.alternative], [[0, 0], true, NaN]);
  assert.throws(() => chooseMapping([[0.5, 0.5], [0.5]]), RangeError);
});

test('windowsFor: one window per slice where there is speech, none in silence, all inside the call', () => {
  const env = new Float32Array(9000).fill(NaN); // 90 s
  for (const [from, to] of [[500, 1500], [4000, 4150], [4500, 5200]]) env.fill(5, from, to); // 1.5 s: too short
  env.fill(0.2, 7000, 9000); // hiss only: not speech
  const starts = windowsFor(90 * RATE, env, 3, 2 * RATE);
  assert.equal(starts.length, 2);
  assert.ok(starts[0]! >= 500 * ENVELOPE_HOP && starts[0]! + 2 * RATE <= 1500 * ENVELOPE_HOP);
  assert.ok(starts[1]! >= 4500 * ENVELOPE_HOP && starts[1]! + 2 * RATE <= 5200 * ENVELOPE_HOP);
  assert.deepEqual(windowsFor(RATE, env.subarray(500), 3, 2 * RATE), [0]);
  assert.deepEqual(windowsFor(90 * RATE, new Float32Array(9000).fill(NaN), 4, 2 * RATE), []);
});

test('speed: envelopes + findLag for an hour-long track and channel', (t) => {
  const hour = 3600 * RATE;
  const delay = 12_345; // the cloud started 1.54 s earlier
  const local = new EnvelopeBuilder();
  const cloud = new EnvelopeBuilder();
  const chunk = new Int16Array(RATE);
  const next = speechLike(5);
  const before = new Int16Array(delay);
  speechLike(6)(before);
  cloud.push(before);
  let envMs = 0;
  for (let at = 0; at < hour; at += chunk.length) {
    next(chunk);
    const t0 = performance.now();
    local.push(chunk);
    cloud.push(chunk);
    envMs += performance.now() - t0;
  }
  const t0 = performance.now();
  const found = findLag(local.finish(), cloud.finish(), -MAX_LAG_FRAMES, MAX_LAG_FRAMES);
  const lagMs = performance.now() - t0;
  t.diagnostic(`1 h: envelopes of 2 × 28.8 M samples ${fmt(envMs, 0)} ms, findLag ±${MAX_LAG_FRAMES} frames`
    + ` ${fmt(lagMs, 0)} ms → ${fmt((3600 * 1000) / (envMs + lagMs), 0)}× real time for one pair`);
  assert.ok(Math.abs(found.lag * ENVELOPE_HOP - delay) <= ENVELOPE_HOP, `lag ${found.lag}`);
});
