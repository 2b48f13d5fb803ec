/**
 * Aligning the live capture with the cloud recording: pure functions, no I/O, bounded memory.
 *
 * Two stages, so an hour-long call never has to sit in memory as samples:
 * 1. Coarse: a 10 ms level envelope of every track and channel (`EnvelopeBuilder`, streamed),
 *    cross-correlated over the whole call (`findLag`) → lag to ±1 hop and a score per pair, from
 *    which `chooseMapping` decides which cloud channel is which local track.
 * 2. Fine: short sample windows where someone speaks (`windowsFor`), aligned to a fraction of a
 *    sample (`refineLag`); a line through those points (`fitDrift`) gives offset and clock drift.
 *
 * Digital silence (every sample exactly 0) is how the capture writes lost frames, so it is treated
 * as "unknown" on the local side, never as "quiet": it must not pull the correlation either way.
 */

import { fft, inverseFft } from './fft.js';

/** 10 ms at 8 kHz: fine enough to land within one hop, coarse enough that an hour is 360k values. */
export const ENVELOPE_HOP = 80;

/**
 * Level below which the envelope flattens to ~0 (about −66 dBFS): line hiss and mu-law's smallest
 * steps then count as silence instead of being stretched by the log into fake structure.
 */
const LEVEL_FLOOR = 16;
/** A run of this many exact zeros is a lost frame or muted audio, never a sound (4 ms). */
const ZERO_RUN = 32;
/** Fewest valid envelope frames (1 s) a lag must overlap before its score means anything. */
const MIN_OVERLAP_FRAMES = 100;
/** An integer lag whose windows match this well is an exact copy: nothing to interpolate. */
const EXACT_MATCH = 1 - 1e-9;
/** `chooseMapping`: the chosen total must beat the other mapping by this much… */
export const MAPPING_MARGIN = 0.3;
/** …and every track in it must correlate at least this well. */
export const MAPPING_MIN_SCORE = 0.5;
/** `estimateGain`: cloud samples quieter than this (−60 dBFS) carry more rounding than signal. */
const GAIN_MIN_LEVEL = 32;

/**
 * Streams PCM16 into one value per hop: log(1 + RMS / LEVEL_FLOOR), or NaN for a hop of digital
 * silence. Why the log: speech level spans 40 dB between vowels and consonants, and a linear
 * envelope (RMS or mean |x|) is mostly its few loudest vowels, which any two stretches of speech
 * share in shape. Measured on the espeak conversation in the tests: the right pair scores 0.88–1.0
 * either way, but other speech scores 0.06–0.16 with the log against 0.13–0.24 linear, so the log
 * leaves the wider margin for deciding "this recording is not that call".
 * Frame k covers samples [k·hop, (k+1)·hop); a trailing partial hop is left out.
 */
export class EnvelopeBuilder {
  readonly #hop: number;
  #out: Float32Array;
  #frames = 0;
  #fill = 0;
  #sumSq = 0;
  #nonZero = false;

  /** `expectedFrames`: the envelope's length when known (a file's frames / hop), so it is
   *  allocated once at its final size instead of grown by doubling. */
  constructor(hop = ENVELOPE_HOP, expectedFrames = 1024) {
    if (!Number.isInteger(hop) || hop < 1) throw new RangeError(`EnvelopeBuilder: bad hop ${hop}`);
    this.#hop = hop;
    this.#out = new Float32Array(Math.max(1, Math.ceil(expectedFrames)));
  }

  get frames(): number {
    return this.#frames;
  }

  push(samples: Int16Array): void {
    let i = 0;
    while (i < samples.length) {
      const end = Math.min(samples.length, i + this.#hop - this.#fill);
      let sumSq = this.#sumSq;
      let nonZero = this.#nonZero;
      this.#fill += end - i;
      for (; i < end; i++) {
        const x = samples[i]!;
        sumSq += x * x;
        if (x !== 0) nonZero = true;
      }
      this.#sumSq = sumSq;
      this.#nonZero = nonZero;
      if (this.#fill === this.#hop) this.#emit();
    }
  }

  /** The envelope so far (a copy; the builder can go on). */
  finish(): Float32Array {
    return this.#out.slice(0, this.#frames);
  }

  /** The envelope without a copy; the builder is done (for whole files, with expectedFrames). */
  take(): Float32Array {
    const out = this.#out.subarray(0, this.#frames);
    this.#out = new Float32Array(1);
    this.#frames = 0;
    return out;
  }

  #emit(): void {
    if (this.#frames === this.#out.length) {
      const grown = new Float32Array(this.#out.length * 2);
      grown.set(this.#out);
      this.#out = grown;
    }
    this.#out[this.#frames++] = this.#nonZero
      ? Math.log1p(Math.sqrt(this.#sumSq / this.#hop) / LEVEL_FLOOR)
      : NaN;
    this.#fill = 0;
    this.#sumSq = 0;
    this.#nonZero = false;
  }
}

/**
 * Whole-call envelope cross-correlation: the lag (in frames, within [minLag, maxLag]) at which
 * a[i] ≈ b[i + lag], scored by Pearson correlation over the frames both cover where `a`, the local
 * track, has speech: "does this cloud channel hold this track's speech here?". Frames where `a` is
 * NaN (lost, muted) or quiet (under `speechLevel`) are left out: in a conversation each track is
 * quiet while the other speaks, and line hiss against hiss would otherwise correlate any two calls'
 * turn-taking (measured 0.4–0.6 for the wrong channel and for another call's recording, against
 * under 0.2 gated); it also lets a track match a mono recording that holds both voices. `b` is the cloud channel: its NaN
 * frames are real silence there (a recording loses nothing) and count as the quietest level, 0.
 * Cost O(N log R) time and O(R) memory for N frames and R lags (blocked FFT, below): an hour
 * (360k frames) over ±350 lags measured 0.1–0.2 s on one core.
 */
export function findLag(a: Float32Array, b: Float32Array, minLag: number, maxLag: number): { lag: number; score: number } {
  if (!Number.isInteger(minLag) || !Number.isInteger(maxLag) || minLag > maxLag) {
    throw new RangeError(`findLag: bad lag range [${minLag}, ${maxLag}]`);
  }
  const span = maxLag - minLag + 1;
  const gate = speechLevel(a, a.length);
  const meanA = finiteMean(a, gate);
  const meanB = finiteMean(b, -Infinity, true);
  const cross = crossSums(a, b, gate, meanA, meanB, minLag, span);
  const headEnd = Math.min(a.length, Math.max(0, -minLag));
  const head = prefixSums(a, gate, meanA, 0, headEnd);
  const tailFrom = clamp(b.length - maxLag, 0, a.length);
  const tail = prefixSums(a, gate, meanA, tailFrom, clamp(b.length - minLag, 0, a.length));
  let best = { lag: clamp(0, minLag, maxLag), score: 0 };
  let bestScore = -Infinity;
  for (let k = 0; k < span; k++) {
    const lag = minLag + k;
    const lo = Math.min(a.length, Math.max(0, -lag));
    const hi = clamp(b.length - lag, 0, a.length);
    if (hi <= lo) continue;
    const n = tail.n[hi - tailFrom]! - head.n[lo]!;
    if (n < MIN_OVERLAP_FRAMES) continue;
    const sa = tail.s1[hi - tailFrom]! - head.s1[lo]!;
    const saa = tail.s2[hi - tailFrom]! - head.s2[lo]!;
    const score = pearson(n, sa, saa, cross.sb[k]!, cross.sbb[k]!, cross.sab[k]!);
    // On a tie (a flat side scores 0 everywhere) the lag nearest 0 is the least surprising answer.
    if (score > bestScore || (score === bestScore && Math.abs(lag) < Math.abs(best.lag))) {
      bestScore = score;
      best = { lag, score };
    }
  }
  return best;
}

function pearson(n: number, sa: number, saa: number, sb: number, sbb: number, sab: number): number {
  const va = saa - (sa * sa) / n;
  const vb = sbb - (sb * sb) / n;
  // A flat side (a silent channel) has no shape to match: score 0, not 0/0. The bound sits far
  // above FFT rounding (~1e-12 per frame) and far below any real level variance (~1 per frame).
  if (va <= 1e-6 * n || vb <= 1e-6 * n) return 0;
  return clamp((sab - (sa * sb) / n) / Math.sqrt(va * vb), -1, 1);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Mean of the values ≥ gate (or of all, NaN as 0): centring keeps the sums well conditioned. */
function finiteMean(x: Float32Array, gate: number, nanIsZero = false): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v >= gate) sum += v;
    if (v >= gate || nanIsZero) n++;
  }
  return n > 0 ? sum / n : 0;
}

interface Prefix { n: Float64Array; s1: Float64Array; s2: Float64Array }

/** Count, sum and sum of squares of the centred a[0, i) ≥ gate, for every i in [from, to]. */
function prefixSums(a: Float32Array, gate: number, mean: number, from: number, to: number): Prefix {
  const len = to - from + 1;
  const p: Prefix = { n: new Float64Array(len), s1: new Float64Array(len), s2: new Float64Array(len) };
  let n = 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i <= to; i++) {
    if (i >= from) {
      p.n[i - from] = n;
      p.s1[i - from] = s1;
      p.s2[i - from] = s2;
    }
    const v = i < to ? a[i]! : NaN;
    if (!(v >= gate)) continue;
    const d = v - mean;
    n++;
    s1 += d;
    s2 += d * d;
  }
  return p;
}

/**
 * For each lag k in [0, span): Σ ma·a·b, Σ ma·b and Σ ma·b² with b taken at i + minLag + k (ma =
 * "a ≥ gate", so never NaN; b outside its array contributes 0). Overlap-save over blocks of a, one FFT size
 * for the whole call: two real signals packed per complex FFT, four FFTs per block.
 */
function crossSums(a: Float32Array, b: Float32Array, gate: number, meanA: number, meanB: number, minLag: number, span: number):
  { sab: Float64Array; sb: Float64Array; sbb: Float64Array } {
  const size = Math.max(1024, 2 ** Math.ceil(Math.log2(4 * span)));
  const block = size - span + 1;
  const out = { sab: new Float64Array(span), sb: new Float64Array(span), sbb: new Float64Array(span) };
  const [xr, xi, yr, yi, pr, pi, qr, qi] = Array.from({ length: 8 }, () => new Float64Array(size)) as
    [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  for (let s = 0; s < a.length; s += block) {
    if (!fillBlock(a, b, gate, meanA, meanB, s, s + minLag, block, xr, xi, yr, yi)) continue;
    fft(xr, xi);
    fft(yr, yi);
    for (let k = 0; k < size; k++) {
      const m = (size - k) & (size - 1);
      // Unpack: X = FFT(ma·a + i·ma) → A (of ma·a), M (of ma); Y = FFT(b + i·b²) → B, B2.
      const ar = (xr[k]! + xr[m]!) / 2, ai = (xi[k]! - xi[m]!) / 2;
      const mr = (xi[k]! + xi[m]!) / 2, mi = (xr[m]! - xr[k]!) / 2;
      const br = (yr[k]! + yr[m]!) / 2, bi = (yi[k]! - yi[m]!) / 2;
      const cr = (yi[k]! + yi[m]!) / 2, ci = (yr[m]! - yr[k]!) / 2;
      // conj(A)·B and conj(M)·B packed as one spectrum (both inverses are real), conj(M)·B2 alone.
      const p1r = ar * br + ai * bi, p1i = ar * bi - ai * br;
      const p2r = mr * br + mi * bi, p2i = mr * bi - mi * br;
      pr[k] = p1r - p2i;
      pi[k] = p1i + p2r;
      qr[k] = mr * cr + mi * ci;
      qi[k] = mr * ci - mi * cr;
    }
    inverseFft(pr, pi);
    inverseFft(qr, qi);
    for (let k = 0; k < span; k++) {
      out.sab[k]! += pr[k]!;
      out.sb[k]! += pi[k]!;
      out.sbb[k]! += qr[k]!;
    }
  }
  return out;
}

/** Loads one block; false when no frame of a passes the gate (nothing to add). */
function fillBlock(a: Float32Array, b: Float32Array, gate: number, meanA: number, meanB: number, aStart: number, bStart: number,
  block: number, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): boolean {
  let any = false;
  for (let j = 0; j < xr.length; j++) {
    const v = j < block && aStart + j < a.length ? a[aStart + j]! : NaN;
    const valid = v >= gate;
    any ||= valid;
    xr[j] = valid ? v - meanA : 0;
    xi[j] = valid ? 1 : 0;
    const idx = bStart + j;
    const w = idx >= 0 && idx < b.length ? b[idx]! : NaN;
    const d = w === w ? w - meanB : idx >= 0 && idx < b.length ? -meanB : 0;
    yr[j] = d;
    yi[j] = d * d;
  }
  return any;
}

/**
 * Sample-level lag around `approx`: local[i] ≈ cloudSignal[i + lag], cloudSignal[k] being
 * cloud[k − cloudStart]. Normalized cross-correlation at every integer lag in approx ± radius over
 * the local samples outside digital-silence runs (lost frames), then the peak is interpolated.
 * Cost O(n·(2·radius + 1)) for n local samples; windows are short (a second or two), so direct
 * sums are cheaper than an FFT and exact. A lag whose overlap holds less than half of the local
 * window is not scored: a sliver at the edge can match anything.
 */
export function refineLag(local: Int16Array, cloud: Int16Array, cloudStart: number, approx: number, radius: number):
  { lag: number; score: number } {
  if (!Number.isInteger(approx) || !Number.isInteger(cloudStart) || !Number.isInteger(radius) || radius < 0) {
    throw new RangeError('refineLag: approx, cloudStart and radius must be integers, radius ≥ 0');
  }
  const ranges = validRanges(local);
  let valid = 0;
  for (let r = 0; r < ranges.length; r += 2) valid += ranges[r + 1]! - ranges[r]!;
  const ncc = new Float64Array(2 * radius + 1).fill(NaN);
  for (let k = 0; k < ncc.length; k++) {
    ncc[k] = nccAt(local, cloud, ranges, approx - radius + k - cloudStart, valid / 2);
  }
  let best = -1;
  for (let k = 0; k < ncc.length; k++) if (ncc[k]! > (best < 0 ? -Infinity : ncc[best]!)) best = k;
  if (best < 0) return { lag: approx, score: 0 };
  const score = ncc[best]!;
  const lag = approx - radius + best;
  // Identical samples (a pure integer shift) are an exact answer; interpolating would only add the
  // window edges' asymmetry. A peak on the search edge has no far neighbour to interpolate with.
  if (score >= EXACT_MATCH || best === 0 || best === ncc.length - 1) return { lag, score };
  return { lag: lag + peakOffset(ncc, best), score };
}

/** NCC of x[i] against y[i + off] over the valid ranges; NaN when the overlap is too small. */
function nccAt(x: Int16Array, y: Int16Array, ranges: number[], off: number, minCount: number): number {
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  let n = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    const lo = Math.max(ranges[r]!, -off);
    const hi = Math.min(ranges[r + 1]!, y.length - off);
    for (let i = lo; i < hi; i++) {
      const a = x[i]!;
      const b = y[i + off]!;
      sxy += a * b;
      sxx += a * a;
      syy += b * b;
    }
    n += Math.max(0, hi - lo);
  }
  if (n < minCount || n === 0) return NaN;
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** Taps either side for interpolating the correlation, and the fine grid it is searched on. */
const SINC_HALF = 16;
const FINE_STEPS = 16;

/**
 * Sub-sample position of the peak at ncc[k], within ±0.5. A parabola through three points is off
 * by up to 0.07 sample on speech (the peak of a 3.4 kHz-wide correlation is not a parabola), but
 * the cross-correlation of band-limited signals is itself band-limited, so windowed-sinc
 * interpolation from its integer values is nearly exact; the fine grid's own parabola is then
 * accurate to a small fraction of 1/FINE_STEPS.
 */
function peakOffset(ncc: Float64Array, k: number): number {
  let half = 0;
  while (half < SINC_HALF && k - half - 1 >= 0 && k + half + 1 < ncc.length
    && Number.isFinite(ncc[k - half - 1]!) && Number.isFinite(ncc[k + half + 1]!)) half++;
  if (half === 0) return 0;
  const at = (tau: number): number => (half < 2 ? parabolaAt(ncc, k, tau) : sincAt(ncc, k, tau, half));
  let best = 0;
  let bestValue = -Infinity;
  const values: number[] = [];
  for (let s = 0; s <= FINE_STEPS; s++) {
    values.push(at(s / FINE_STEPS - 0.5));
    if (values[s]! > bestValue) [best, bestValue] = [s, values[s]!];
  }
  const tau = best / FINE_STEPS - 0.5;
  if (best === 0 || best === FINE_STEPS) return tau;
  const [l, m, r] = [values[best - 1]!, bestValue, values[best + 1]!];
  const den = l - 2 * m + r;
  return den < 0 ? tau + (l - r) / (2 * den) / FINE_STEPS : tau;
}

function parabolaAt(ncc: Float64Array, k: number, tau: number): number {
  const [l, m, r] = [ncc[k - 1]!, ncc[k]!, ncc[k + 1]!];
  return m + (tau * (r - l)) / 2 + (tau * tau * (l - 2 * m + r)) / 2;
}

/** ncc interpolated at k + tau with a Hann-windowed sinc over k ± half. */
function sincAt(ncc: Float64Array, k: number, tau: number, half: number): number {
  let sum = 0;
  for (let j = -half; j <= half; j++) sum += ncc[k + j]! * tap(tau - j, half);
  return sum;
}

/** Hann-windowed sinc, zero from |u| = half + 1 on. */
function tap(u: number, half: number): number {
  if (Math.abs(u) >= half + 1) return 0;
  const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
  return sinc * Math.cos((Math.PI * u) / (2 * (half + 1))) ** 2;
}

/** [start, end, start, end, …] of `s` outside runs of ZERO_RUN or more exact zeros. */
function validRanges(s: Int16Array): number[] {
  const out: number[] = [];
  let from = 0;
  let zeros = -1;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s[i] === 0) {
      if (zeros < 0) zeros = i;
      continue;
    }
    if (zeros >= 0 && i - zeros >= ZERO_RUN) {
      if (zeros > from) out.push(from, zeros);
      from = i;
    }
    zeros = -1;
  }
  if (s.length > from) out.push(from, s.length);
  return out;
}

/** Windows need this share of speech frames to be worth measuring. */
const MIN_ACTIVE = 0.3;

/**
 * Up to `count` window starts (local sample indexes, each window inside [0, durationSamples)),
 * one per equal slice of the call, each where `activity` (an envelope of ENVELOPE_HOP frames)
 * holds the most speech frames; a slice with too little speech gives none. Pass as duration the
 * part of the track the cloud covers, and the envelope of the track that will be refined.
 */
export function windowsFor(durationSamples: number, activity: Float32Array, count: number, windowSamples: number): number[] {
  if (count < 1 || durationSamples <= 0 || windowSamples <= 0) return [];
  const frames = Math.min(activity.length, Math.floor(durationSamples / ENVELOPE_HOP));
  const width = Math.max(1, Math.min(frames, Math.round(windowSamples / ENVELOPE_HOP)));
  const lastStart = Math.max(0, durationSamples - windowSamples);
  const lastFrame = Math.max(0, frames - width);
  const level = speechLevel(activity, frames);
  const isSpeech = (f: number): number => (activity[f]! >= level ? 1 : 0); // NaN compares false
  const starts: number[] = [];
  for (let s = 0; s < count; s++) {
    const from = Math.floor((s * (lastFrame + 1)) / count);
    const to = Math.floor(((s + 1) * (lastFrame + 1)) / count);
    if (to <= from) continue;
    let inWindow = 0;
    for (let f = from; f < from + width; f++) inWindow += isSpeech(f);
    let best = from;
    let bestCount = inWindow;
    for (let f = from + 1; f < to; f++) {
      inWindow += isSpeech(f + width - 1) - isSpeech(f - 1);
      if (inWindow > bestCount) [best, bestCount] = [f, inWindow];
    }
    if (bestCount >= MIN_ACTIVE * width) starts.push(Math.min(best * ENVELOPE_HOP, lastStart));
  }
  return starts;
}

/**
 * The level that counts as speech: 20 dB under the track's 90th percentile (loud speech), and at
 * least RMS 64 (−54 dBFS) so a track of line noise alone finds no "speech".
 */
function speechLevel(env: Float32Array, frames: number): number {
  const BINS = 1000;
  const TOP = 10; // log1p(32768 / LEVEL_FLOOR) ≈ 7.6
  const hist = new Uint32Array(BINS);
  let n = 0;
  for (let f = 0; f < frames; f++) {
    const v = env[f]!;
    if (v === v) {
      hist[Math.min(BINS - 1, Math.floor((v / TOP) * BINS))]!++;
      n++;
    }
  }
  let bin = 0;
  for (let seen = 0; bin < BINS && seen + hist[bin]! < 0.9 * n; bin++) seen += hist[bin]!;
  return Math.max(Math.log1p(64 / LEVEL_FLOOR), (bin / BINS) * TOP - Math.LN10);
}

/**
 * Weighted least squares lag(t) = lag0 + t·ppm·1e-6 (t, lag in samples; weight defaults to 1,
 * points with weight ≤ 0 are ignored). Residual: weighted RMS distance to the line, in samples.
 * Sums are taken relative to the first point so equal lags give lag0 exactly, not to a rounding.
 */
export function fitDrift(points: Array<{ t: number; lag: number; weight?: number }>): { lag0: number; ppm: number; residual: number } {
  const used = points.filter((p) => (p.weight ?? 1) > 0);
  const first = used[0];
  if (!first) throw new RangeError('fitDrift: no point with a positive weight');
  let sw = 0, st = 0, sl = 0;
  for (const p of used) {
    const w = p.weight ?? 1;
    sw += w;
    st += w * (p.t - first.t);
    sl += w * (p.lag - first.lag);
  }
  const tMean = first.t + st / sw;
  const lagMean = first.lag + sl / sw;
  let stt = 0, stl = 0;
  for (const p of used) {
    const w = p.weight ?? 1;
    stt += w * (p.t - tMean) ** 2;
    stl += w * (p.t - tMean) * (p.lag - lagMean);
  }
  const slope = stt > 0 ? stl / stt : 0;
  const lag0 = lagMean - slope * tMean;
  let sr = 0;
  for (const p of used) sr += (p.weight ?? 1) * (p.lag - lagMean - slope * (p.t - tMean)) ** 2;
  return { lag0, ppm: slope * 1e6, residual: Math.sqrt(sr / sw) };
}

/**
 * Which cloud channel holds each local track, from scores[track][channel] (findLag scores).
 * Several channels: every one-to-one assignment is totalled (for 2 × 2, identity vs swapped) and
 * `alternative` is the runner-up total. One channel (a mono recording): every track maps to it and
 * there is no alternative (NaN). `clear` needs the winner ahead by MAPPING_MARGIN and each of its
 * tracks at MAPPING_MIN_SCORE or more: a correct pair scores ~0.9, an unrelated one under ~0.3.
 */
export function chooseMapping(scores: number[][]): { channelOf: number[]; score: number; alternative: number; clear: boolean } {
  const channels = scores[0]?.length ?? 0;
  if (channels === 0 || scores.some((row) => row.length !== channels)) {
    throw new RangeError('chooseMapping: scores must be a non-empty tracks × channels table');
  }
  if (channels > 1 && scores.length > channels) {
    throw new RangeError(`chooseMapping: ${scores.length} tracks cannot map one-to-one onto ${channels} channels`);
  }
  const ranked = assignments(scores.length, channels)
    .map((channelOf) => ({ channelOf, score: channelOf.reduce((s, c, t) => s + scores[t]![c]!, 0) }))
    .sort((p, q) => q.score - p.score);
  const { channelOf, score } = ranked[0]!;
  const alternative = ranked[1]?.score ?? NaN;
  const strong = channelOf.every((c, t) => scores[t]![c]! >= MAPPING_MIN_SCORE);
  const ahead = Number.isNaN(alternative) || score - alternative >= MAPPING_MARGIN;
  return { channelOf, score, alternative, clear: strong && ahead };
}

/** Every one-to-one map of `tracks` onto `channels` (all onto 0 when there is one channel). */
function assignments(tracks: number, channels: number): number[][] {
  if (channels === 1) return [Array.from({ length: tracks }, () => 0)];
  const out: number[][] = [];
  const extend = (prefix: number[]): void => {
    if (prefix.length === tracks) out.push(prefix);
    else for (let c = 0; c < channels; c++) if (!prefix.includes(c)) extend([...prefix, c]);
  };
  extend([]);
  return out;
}

/** Samples of signal (0.1 s) below which a gain is a guess. */
const MIN_GAIN_SAMPLES = 800;
/** Windows that correlate worse than this do not hold the same audio: their gain means nothing. */
const GAIN_MIN_SCORE = 0.5;

/**
 * Least-squares g with local ≈ g·cloud over two windows aligned to the nearest sample, or null
 * when there is too little signal or the windows do not match. The fit is made at the sub-sample
 * alignment (found here, cloud interpolated to it): half a sample off costs ~9 % of g on speech.
 * Samples are chosen by the cloud's level only (selecting on the regressor leaves the fit
 * unbiased) and outside the local's digital-silence runs (lost frames, which would drag g to 0).
 */
export function estimateGain(local: Int16Array, cloud: Int16Array): number | null {
  const found = refineLag(local, cloud, 0, 0, SINC_HALF + 1);
  if (found.score < GAIN_MIN_SCORE) return null;
  const shift = Math.floor(found.lag);
  const frac = found.lag - shift;
  const taps = frac === 0 ? [1] : Array.from({ length: 2 * SINC_HALF }, (_, j) => tap(frac - (j - SINC_HALF + 1), SINC_HALF));
  const first = frac === 0 ? 0 : 1 - SINC_HALF; // cloud offset of taps[0], relative to i + shift
  const ranges = validRanges(local);
  let slc = 0;
  let scc = 0;
  let n = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    const lo = Math.max(ranges[r]!, -shift - first);
    const hi = Math.min(ranges[r + 1]!, cloud.length - shift - first - taps.length + 1);
    for (let i = lo; i < hi; i++) {
      let c = 0;
      for (let j = 0; j < taps.length; j++) c += taps[j]! * cloud[i + shift + first + j]!;
      if (c < GAIN_MIN_LEVEL && c > -GAIN_MIN_LEVEL) continue;
      slc += local[i]! * c;
      scc += c * c;
      n++;
    }
  }
  return n >= MIN_GAIN_SAMPLES ? slc / scc : null;
}
