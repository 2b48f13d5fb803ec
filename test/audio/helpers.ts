/** Shared by the audio tests: a sox runner, a seeded PRNG, signal generators and measurements. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../src/cli/simulator/impairments.js';

/** Raw signed 16-bit little-endian mono, the sox spelling used by every sox call here. */
export const SOX_S16 = ['-t', 'raw', '-e', 'signed', '-b', '16', '-L', '-c', '1'];

/**
 * Runs `sox -D <inArgs> in.raw <outArgs> out.raw <effects>` in a temp dir and returns out.raw.
 * `-D` turns off sox's automatic dither, which would otherwise add noise to the reference.
 */
export function runSox(input: Uint8Array, inArgs: string[], outArgs: string[], effects: string[] = []): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'callvault-audio-'));
  try {
    const inPath = join(dir, 'in.raw');
    const outPath = join(dir, 'out.raw');
    writeFileSync(inPath, input);
    execFileSync('sox', ['-D', ...inArgs, inPath, ...outArgs, outPath, ...effects], { stdio: 'pipe' });
    return readFileSync(outPath);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function int16FromLE(buf: Buffer): Int16Array {
  const out = new Int16Array(buf.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(2 * i);
  return out;
}

export function bytesOf(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** Deterministic PRNG so failures reproduce: the simulator's mulberry32. */
export const prng = mulberry32;

export interface Tone { freq: number; amp: number; phase: number }

/** Sum of sines sampled at `rate`, as exact float values (no rounding). */
export function tonesFloat(tones: Tone[], rate: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (const { freq, amp, phase } of tones) {
    const w = (2 * Math.PI * freq) / rate;
    for (let i = 0; i < n; i++) out[i]! += amp * Math.sin(w * i + phase);
  }
  return out;
}

export function toInt16(x: Float64Array): Int16Array {
  return Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
}

/** Random tones with integer-Hz frequencies in [lo, hi], so whole-second windows are exact bins. */
export function randomTones(seed: number, count: number, lo: number, hi: number, peak: number): Tone[] {
  const rnd = prng(seed);
  const used = new Set<number>();
  const tones: Tone[] = [];
  while (tones.length < count) {
    const freq = lo + Math.floor(rnd() * (hi - lo + 1));
    if (used.has(freq)) continue;
    used.add(freq);
    tones.push({ freq, amp: peak / count, phase: 2 * Math.PI * rnd() });
  }
  return tones;
}

/**
 * Amplitude of the component at `freq` over x[start, start + n) with a rectangular window.
 * With n * freq / rate an integer (an exact DFT bin) and every other component also on a bin,
 * there is no leakage, so this is the true amplitude to within the quantization noise.
 */
export function amplitudeAt(x: ArrayLike<number>, rate: number, freq: number, start: number, n: number): number {
  const w = (2 * Math.PI * freq) / rate;
  let re = 0;
  let im = 0;
  for (let i = 0; i < n; i++) {
    const v = x[start + i]!;
    re += v * Math.cos(w * i);
    im -= v * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / n;
}

export const dB = (ratio: number): number => 20 * Math.log10(ratio);

/** Signal-to-error ratio of `got` against `want` over [start, end), in dB. */
export function snrDb(got: ArrayLike<number>, want: ArrayLike<number>, start: number, end: number): number {
  let signal = 0;
  let error = 0;
  for (let i = start; i < end; i++) {
    const w = want[i]!;
    const e = got[i]! - w;
    signal += w * w;
    error += e * e;
  }
  return 10 * Math.log10(signal / error);
}

/** The lag (in samples, within ±maxLag) at which `b` best matches `a`: b[i + lag] ≈ a[i]. */
export function bestLag(a: ArrayLike<number>, b: ArrayLike<number>, maxLag: number): number {
  const n = Math.min(a.length, b.length);
  let best = 0;
  let bestScore = -Infinity;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let score = 0;
    for (let i = maxLag; i < n - maxLag; i++) score += a[i]! * b[i + lag]!;
    if (score > bestScore) {
      bestScore = score;
      best = lag;
    }
  }
  return best;
}

/** Index of the first difference, or -1 when equal in length and content. */
export function firstDifference(a: Int16Array, b: Int16Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
