import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamResampler, initResampler, resampleAll } from '../../src/audio/resample.js';
import {
  SOX_S16, amplitudeAt, bestLag, bytesOf, concat, dB, firstDifference, int16FromLE, prng,
  randomTones, runSox, snrDb, toInt16, tonesFloat,
} from './helpers.js';

/**
 * Test tones across 100–3,400 Hz. Frequencies end in 1 or 9 so they share no factor with 16,000:
 * a tone with a short period would put its own quantization error exactly on the image bin and
 * measure that instead of the resampler.
 */
const BAND_TONES = [...Array.from({ length: 33 }, (_, k) => 100 * (k + 1) + 1), 3399];

/** Feeds `input` in the given chunk sizes (cycled) and returns process() output + flush(). */
function streamed(input: Int16Array, sizes: number[], inRate = 8000, outRate = 16000): Int16Array {
  const r = new StreamResampler(inRate, outRate);
  const parts: Int16Array[] = [];
  let at = 0;
  for (let k = 0; at < input.length; k++) {
    const size = sizes[k % sizes.length]!;
    parts.push(r.process(input.subarray(at, at + size)).slice()); // slice: output is reused
    at += size;
  }
  parts.push(r.flush().slice());
  r.destroy();
  return concat(parts);
}

function speechLike(seed: number, n: number): Int16Array {
  const rnd = prng(seed);
  const tones = tonesFloat(randomTones(seed, 12, 80, 3900, 14000), 8000, n);
  return toInt16(tones.map((v, i) => v * (0.6 + 0.4 * Math.sin(i / 700)) + (rnd() - 0.5) * 3000));
}

test('using the resampler before initResampler() throws a clear error', () => {
  assert.throws(() => new StreamResampler(8000, 16000), /await initResampler\(\)/);
  assert.throws(() => resampleAll(new Int16Array(160), 8000, 16000), /await initResampler\(\)/);
});

test('initResampler() loads once: concurrent and repeated calls share one promise', async () => {
  const first = initResampler();
  assert.equal(initResampler(), first);
  await first;
  assert.equal(initResampler(), first);
});

test('passband ripple over 100–3,400 Hz is at most 0.01 dB (8k -> 16k)', (t) => {
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of BAND_TONES) {
    const x = toInt16(tonesFloat([{ freq: f, amp: 16384, phase: 0.3 }], 8000, 12000));
    const y = resampleAll(x, 8000, 16000);
    // 1 s windows in the steady middle: 1 Hz bins, so every tone sits exactly on a bin.
    const gain = dB(amplitudeAt(y, 16000, f, 4000, 16000) / amplitudeAt(x, 8000, f, 2000, 8000));
    lo = Math.min(lo, gain);
    hi = Math.max(hi, gain);
  }
  t.diagnostic(`passband gain ${lo.toFixed(5)} .. ${hi.toFixed(5)} dB, ripple ${(hi - lo).toFixed(5)} dB`);
  assert.ok(hi - lo <= 0.01, `ripple ${hi - lo} dB`);
  assert.ok(Math.abs(lo) <= 0.01 && Math.abs(hi) <= 0.01, `gain ${lo}..${hi} dB is not unity`);
});

test('images of tones up to 3.4 kHz are at least 90 dB below the tone', (t) => {
  let worst = -Infinity;
  let worstFreq = 0;
  for (const f of BAND_TONES) {
    const x = toInt16(tonesFloat([{ freq: f, amp: 16384, phase: 0.3 }], 8000, 12000));
    const y = resampleAll(x, 8000, 16000);
    const image = dB(amplitudeAt(y, 16000, 8000 - f, 4000, 16000) / amplitudeAt(y, 16000, f, 4000, 16000));
    if (image > worst) [worst, worstFreq] = [image, f];
  }
  t.diagnostic(`worst image ${worst.toFixed(1)} dB (tone ${worstFreq} Hz, image at ${8000 - worstFreq} Hz)`);
  assert.ok(worst <= -90, `image of ${worstFreq} Hz at ${worst} dB`);
});

test('160-sample chunks, random chunks and one sample at a time equal one whole-buffer pass', () => {
  const input = speechLike(1, 8000 * 60);
  const whole = resampleAll(input, 8000, 16000);
  assert.equal(firstDifference(streamed(input, [160]), whole), -1, '160-sample chunks');
  const rnd = prng(2);
  const sizes = Array.from({ length: 500 }, () => [0, 1, 2, 159, 161][Math.floor(rnd() * 5)]!
    + Math.floor(rnd() * (rnd() < 0.1 ? 20000 : 700)));
  assert.equal(firstDifference(streamed(input, sizes), whole), -1, 'random chunks');
  const short = input.subarray(0, 3000);
  assert.equal(firstDifference(streamed(short, [1]), resampleAll(short, 8000, 16000)), -1, '1-sample chunks');
});

test('total output after flush() is exactly 2N for 8k -> 16k, however the input is chunked', () => {
  const rnd = prng(3);
  for (const n of [0, 1, 2, 39, 40, 41, 79, 80, 159, 160, 161, 511, 512, 513, 4097, 8000 * 60 + 7]) {
    const input = toInt16(Float64Array.from({ length: n }, () => (rnd() - 0.5) * 20000));
    assert.equal(resampleAll(input, 8000, 16000).length, 2 * n, `whole, N=${n}`);
    assert.equal(streamed(input, [160]).length, 2 * n, `160-chunks, N=${n}`);
    assert.equal(streamed(input, [1, 7, 300]).length, 2 * n, `mixed chunks, N=${n}`);
  }
});

test('a 10-minute buffer in one process() call equals 160-sample streaming and is 2N long', () => {
  const second = speechLike(4, 8000);
  const input = new Int16Array(8000 * 600);
  for (let at = 0; at < input.length; at += second.length) input.set(second, at);
  const r = new StreamResampler(8000, 16000);
  const whole = concat([r.process(input).slice(), r.flush()]);
  r.destroy();
  assert.equal(whole.length, 2 * input.length);
  assert.equal(firstDifference(streamed(input, [160]), whole), -1);
});

test('8k -> 16k output is aligned to the input with zero lag', (t) => {
  const rnd = prng(5);
  const noise = Int16Array.from({ length: 24000 }, () => Math.round((rnd() - 0.5) * 16000));
  const out = resampleAll(noise, 8000, 16000);
  const even = out.filter((_, i) => i % 2 === 0); // output sample 2n is input sample n's instant
  const lagDecimated = bestLag(noise, even, 20);
  const tones = randomTones(6, 34, 100, 3400, 0.84 * 32767);
  const multitone = toInt16(tonesFloat(tones, 8000, 32000));
  const ours = resampleAll(multitone, 8000, 16000);
  const ideal = tonesFloat(tones, 16000, ours.length);
  const snrIdeal = snrDb(ours, ideal, 400, ours.length - 400);
  const sox = int16FromLE(runSox(bytesOf(multitone), ['-r', '8000', ...SOX_S16], SOX_S16, ['rate', '-v', '16000']));
  const lagSox = bestLag(sox, ours, 40);
  const snrSox = snrDb(ours, sox, 400, ours.length - 400);
  t.diagnostic(`lag vs input (decimated x-corr) ${lagDecimated}, vs sox rate -v ${lagSox} samples; ` +
    `multitone SNR vs analytic ${snrIdeal.toFixed(1)} dB, vs sox ${snrSox.toFixed(1)} dB`);
  assert.equal(lagDecimated, 0);
  assert.equal(lagSox, 0);
  assert.equal(sox.length, ours.length, 'sox and we agree on the length');
  // Only a sub-sample (< 0.001 sample) alignment error keeps these above 75 dB.
  assert.ok(snrIdeal >= 75, `SNR vs analytic ${snrIdeal} dB`);
  assert.ok(snrSox >= 75, `SNR vs sox ${snrSox} dB`);
});

test('other ratios: length ceil(N*out/in) (round ± 1), lag-free, same chunked or whole', (t) => {
  const figures: string[] = [];
  for (const [inRate, outRate] of [[22050, 8000], [48000, 8000], [16000, 8000], [8000, 48000]] as const) {
    for (const n of [0, 1, 5, 99, 1000, 12345]) {
      const len = resampleAll(new Int16Array(n), inRate, outRate).length;
      assert.equal(len, Math.ceil((n * outRate) / inRate), `${inRate}->${outRate} N=${n}`);
      assert.ok(Math.abs(len - Math.round((n * outRate) / inRate)) <= 1);
    }
    const tones = randomTones(7, 20, 100, 0.4 * Math.min(inRate, outRate), 24000);
    const input = toInt16(tonesFloat(tones, inRate, 2 * inRate));
    const out = resampleAll(input, inRate, outRate);
    const ideal = tonesFloat(tones, outRate, out.length);
    const snr = snrDb(out, ideal, outRate / 20, out.length - outRate / 20);
    const lag = bestLag(ideal, out, 20);
    figures.push(`${inRate}->${outRate}: lag ${lag}, SNR vs analytic ${snr.toFixed(1)} dB`);
    assert.equal(lag, 0, `${inRate}->${outRate} lag`);
    assert.ok(snr >= 70, `${inRate}->${outRate} SNR ${snr} dB`);
    const chunked = streamed(input, [160, 1, 4410], inRate, outRate);
    assert.equal(firstDifference(chunked, out), -1, `${inRate}->${outRate} chunked`);
  }
  t.diagnostic(figures.join('; '));
});

test('destroy() is idempotent; use after destroy() or flush() is refused clearly', () => {
  const r = new StreamResampler(8000, 16000);
  assert.equal(r.inRate, 8000);
  assert.equal(r.outRate, 16000);
  const body = r.process(new Int16Array(160)).length;
  assert.equal(body + r.flush().length, 320);
  assert.throws(() => r.process(new Int16Array(1)), /after flush\(\)/);
  assert.equal(r.flush().length, 0, 'a second flush() has nothing left');
  r.destroy();
  r.destroy();
  assert.throws(() => r.process(new Int16Array(1)), /after destroy\(\)/);
  assert.throws(() => r.flush(), /after destroy\(\)/);
});

test('invalid rates and qualities are rejected', () => {
  assert.throws(() => new StreamResampler(0, 16000), RangeError);
  assert.throws(() => new StreamResampler(8000, 16000.5), RangeError);
  assert.throws(() => new StreamResampler(8000, 16000, 11), RangeError);
});

test('thousands of instances run side by side without crosstalk and are destroyed', () => {
  const frame = speechLike(8, 160);
  const expected = streamed(frame, [160]);
  const all = Array.from({ length: 3000 }, () => new StreamResampler(8000, 16000));
  const heads = all.map((r) => r.process(frame).slice()); // every instance busy before any flush
  for (const [i, r] of all.entries()) {
    const got = concat([heads[i]!, r.flush()]);
    assert.equal(firstDifference(got, expected), -1, `instance ${i}`);
    r.destroy();
  }
});
