// Shared set-up for the in-process benchmarks: real CallSessions with the gateway's default
// capture settings, temp folders, fast feeding of both tracks, and RSS after GC.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initResampler } from '../../src/audio/resample.js';
import { CallSession } from '../../src/capture/call-session.js';
import { loadConfig, type CaptureConfig } from '../../src/config.js';
import { NaiveCall } from './naive.js';
import { gatewayEnv } from './ws-common.js';
import { FRAME_BYTES, FRAME_MS, sid, speechLikeMulaw, type TrackName } from './signal.js';

export { initResampler };

/** CAPTURE_JITTER_MS and CAPTURE_FLUSH_MS as the gateway runs with no overrides. */
export function captureDefaults(): CaptureConfig {
  return loadConfig(gatewayEnv(os.tmpdir())).capture;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cv-bench-${prefix}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function openSession(dir: string, n: number, salt = 0): CallSession {
  const c = captureDefaults();
  return new CallSession({
    recordingsDir: dir, callSid: sid('CA', n, salt), streamSid: sid('MZ', n, salt), jitterMs: c.jitterMs, flushMs: c.flushMs,
  });
}

export function openNaive(dir: string, n: number, salt = 0): NaiveCall {
  return new NaiveCall(path.join(dir, sid('CA', n, salt)), sid('MZ', n, salt));
}

/** Anything that takes one track's frame. */
export type Sink = (track: TrackName, timestampMs: number, payload: Uint8Array) => void;

export const oursSink = (s: CallSession): Sink => (track, ts, p) => {
  s.media(track, ts, p, Date.now());
};
export const naiveSink = (c: NaiveCall): Sink => (track, _ts, p) => c.tracks[track].add(p);

/** 10 s of distinct speech-like audio per track, cut into 160-byte frames, looped by feed(). */
export function trackSignals(count: number): Uint8Array[][] {
  return Array.from({ length: count }, (_, k) => {
    const m = speechLikeMulaw(10, k + 1);
    const frames: Uint8Array[] = [];
    for (let o = 0; o + FRAME_BYTES <= m.length; o += FRAME_BYTES) frames.push(m.subarray(o, o + FRAME_BYTES));
    return frames;
  });
}

/** Frames [from, to) of every sink's two tracks, round-robin across sinks, as fast as possible. */
export function feed(sinks: readonly Sink[], from: number, to: number, signals: Uint8Array[][]): void {
  for (let f = from; f < to; f++) {
    for (let s = 0; s < sinks.length; s++) {
      const sink = sinks[s]!;
      const a = signals[(2 * s) % signals.length]!;
      const b = signals[(2 * s + 1) % signals.length]!;
      sink('inbound', f * FRAME_MS, a[f % a.length]!);
      sink('outbound', f * FRAME_MS, b[f % b.length]!);
    }
  }
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) g();
}

const MiB = 1024 * 1024;

export function memory(): { rss: number; heapUsed: number; external: number; arrayBuffers: number } {
  const m = process.memoryUsage();
  return { rss: m.rss / MiB, heapUsed: m.heapUsed / MiB, external: m.external / MiB, arrayBuffers: m.arrayBuffers / MiB };
}

export function memoryAfterGc(): ReturnType<typeof memory> {
  gc();
  return memory();
}

/** Peak RSS of this process so far (VmHWM), MiB. */
export function peakRss(): number {
  const kb = Number(fs.readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s*(\d+)/)?.[1] ?? NaN);
  return kb / 1024;
}

export const msSince = (t0: number): number => performance.now() - t0;
