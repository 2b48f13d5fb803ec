// Memory of the capture, measured as RSS after a full GC in a fresh process (performance-facts
// §3): (1) RSS per active track, N sessions (2N tracks) open and fed a few seconds, against the
// naive JS-Array capture; (2) RSS growth over a 60-minute call, ten sessions fed fast with RSS
// sampled at 1, 5, 30 and 60 minutes of audio, against one naive call. Pinned to CPU 0.
//
//   npx tsx bench/memory.ts [--sessions 200] [--seconds 5] [--runs 3] [--growth-sessions 10] [--growth-runs 2]
import type { CallSession } from '../src/capture/call-session.js';
import {
  feed, initResampler, memory, memoryAfterGc, msSince, naiveSink, openNaive, openSession, oursSink, peakRss, removeDir,
  tempDir, trackSignals, type Sink,
} from './lib/capture.js';
import { childArgs, machine, option, report, runChild, saveTables } from './lib/child.js';
import { FRAMES_PER_S } from './lib/signal.js';
import { fmt, median, spread, table, yesNo } from './lib/stats.js';

type Variant = 'ours' | 'naive';
type Mem = ReturnType<typeof memory>;

interface TracksResult {
  variant: Variant;
  tracks: number;
  baseline: Mem;
  after: Mem;
  kibPerTrack: number;
  heapKibPerTrack: number;
  externalKibPerTrack: number;
}

interface GrowthResult {
  variant: Variant;
  sessions: number;
  baseline: Mem;
  /** [minutes of audio, RSS after GC minus baseline, MiB] */
  points: Array<[number, number]>;
  peakRssMiB: number;
  feedS: number;
}

const CHECKPOINTS = [1, 5, 30, 60];

interface Opened {
  sinks: Sink[];
  close(): Promise<void>;
}

function open(variant: Variant, dir: string, count: number, salt: number): Opened {
  if (variant === 'naive') {
    const calls = Array.from({ length: count }, (_, i) => openNaive(dir, i + 1, salt));
    return { sinks: calls.map(naiveSink), close: async () => undefined };
  }
  const sessions: CallSession[] = Array.from({ length: count }, (_, i) => openSession(dir, i + 1, salt));
  return { sinks: sessions.map(oursSink), close: async () => void (await Promise.all(sessions.map((s) => s.close('stop')))) };
}

/** Warm-up in the same process: compiles the paths, loads wasm, grows nothing per-session. */
async function warmUp(variant: Variant, dir: string, signals: Uint8Array[][]): Promise<void> {
  const w = open(variant, dir, 2, 0xee);
  feed(w.sinks, 0, 2 * FRAMES_PER_S, signals);
  await w.close();
}

async function tracks(variant: Variant, sessions: number, seconds: number): Promise<TracksResult> {
  const dir = tempDir('mem');
  try {
    const signals = trackSignals(20);
    await warmUp(variant, dir, signals);
    const baseline = memoryAfterGc();
    const opened = open(variant, dir, sessions, 1);
    feed(opened.sinks, 0, seconds * FRAMES_PER_S, signals);
    const after = memoryAfterGc();
    await opened.close();
    const per = (k: keyof Mem) => ((after[k] - baseline[k]) * 1024) / (2 * sessions);
    return { variant, tracks: 2 * sessions, baseline, after, kibPerTrack: per('rss'), heapKibPerTrack: per('heapUsed'), externalKibPerTrack: per('external') };
  } finally {
    removeDir(dir);
  }
}

async function growth(variant: Variant, sessions: number): Promise<GrowthResult> {
  const dir = tempDir('growth');
  try {
    const signals = trackSignals(20);
    await warmUp(variant, dir, signals);
    const baseline = memoryAfterGc();
    const opened = open(variant, dir, sessions, 1);
    const points: Array<[number, number]> = [];
    const t0 = performance.now();
    let done = 0;
    for (const minutes of CHECKPOINTS) {
      const to = minutes * 60 * FRAMES_PER_S;
      feed(opened.sinks, done, to, signals);
      done = to;
      points.push([minutes, memoryAfterGc().rss - baseline.rss]);
    }
    const feedS = msSince(t0) / 1000;
    await opened.close();
    return { variant, sessions, baseline, points, peakRssMiB: peakRss(), feedS };
  } finally {
    removeDir(dir);
  }
}

async function child(args: string[]): Promise<void> {
  await initResampler();
  const [mode, variant, a, b] = [args[0], args[1] as Variant, Number(args[2]), Number(args[3])];
  report(mode === 'tracks' ? await tracks(variant, a, b) : await growth(variant, a));
}

async function parent(): Promise<void> {
  const sessions = option('sessions', 200);
  const seconds = option('seconds', 5);
  const runs = option('runs', 3);
  const growthSessions = option('growth-sessions', 10);
  const growthRuns = option('growth-runs', 2);
  const opts = { cpu: 0, exposeGc: true, heapMiB: 8192, timeoutMs: 300_000 };
  console.log(`memory: pinned to CPU 0, RSS after GC; ${machine()}`);
  const perTrack: Record<Variant, TracksResult[]> = { ours: [], naive: [] };
  for (let r = 0; r < runs; r++) {
    for (const v of (r % 2 ? ['naive', 'ours'] : ['ours', 'naive']) as Variant[]) {
      const x = await runChild<TracksResult>('bench/memory.ts', ['--child', 'tracks', v, String(sessions), String(seconds)], opts);
      perTrack[v].push(x);
      console.log(`  run ${r + 1} ${v.padEnd(5)}: ${fmt(x.kibPerTrack, 1)} KiB RSS per track (heap ${fmt(x.heapKibPerTrack, 1)}, external ${fmt(x.externalKibPerTrack, 1)})`);
    }
  }
  const grown: Record<Variant, GrowthResult[]> = { ours: [], naive: [] };
  for (let r = 0; r < Math.max(growthRuns, 1); r++) {
    for (const [v, n] of [['ours', growthSessions], ['naive', 1]] as Array<[Variant, number]>) {
      const x = await runChild<GrowthResult>('bench/memory.ts', ['--child', 'growth', v, String(n)], opts);
      grown[v].push(x);
      console.log(`  growth run ${r + 1} ${v.padEnd(5)} x${n}: ${x.points.map(([m, d]) => `${m} min ${fmt(d, 1)} MiB`).join(', ')}; peak ${fmt(x.peakRssMiB)} MiB; fed in ${fmt(x.feedS, 1)} s`);
    }
  }
  const kib = (v: Variant) => perTrack[v].map((x) => x.kibPerTrack);
  const oursKib = median(kib('ours'));
  const at = (v: Variant, m: number) => grown[v].map((x) => x.points.find(([mm]) => mm === m)?.[1] ?? NaN);
  const perCallHour = (v: Variant) => grown[v].map((x) => ((x.points.at(-1)?.[1] ?? NaN) - (x.points.find(([m]) => m === 5)?.[1] ?? NaN)) * 60 / 55 / x.sessions);
  const oursHour = median(perCallHour('ours'));
  const text = [
    `memory: fresh process per run pinned to CPU 0, RSS after 4× gc() minus the RSS after a warm-up (resampler loaded, code compiled); ${machine()}.\n`,
    table(`RSS per active track: ${sessions} sessions = ${2 * sessions} tracks, each fed ${seconds} s (KiB: median (min–max, n))`,
      ['Capture', 'RSS per track', 'JS heap per track', 'external per track', 'naive / ours'], [
        ['**ours (CallSession)**', spread(kib('ours'), 1), spread(perTrack.ours.map((x) => x.heapKibPerTrack), 1), spread(perTrack.ours.map((x) => x.externalKibPerTrack), 1), '1.0×'],
        ['naive (JS Array)', spread(kib('naive'), 1), spread(perTrack.naive.map((x) => x.heapKibPerTrack), 1), spread(perTrack.naive.map((x) => x.externalKibPerTrack), 1), `${fmt(median(kib('naive')) / oursKib, 1)}×`],
      ]),
    table('RSS growth over a 60-minute call (MiB above baseline, after GC: median (min–max, n))',
      ['Capture', ...CHECKPOINTS.map((m) => `${m} min`), 'Growth 5→60 min per call-hour', 'Peak RSS MiB'], [
        [`**ours, ${growthSessions} sessions**`, ...CHECKPOINTS.map((m) => spread(at('ours', m), 1)), spread(perCallHour('ours'), 2), fmt(median(grown.ours.map((x) => x.peakRssMiB)))],
        ['naive, 1 call', ...CHECKPOINTS.map((m) => spread(at('naive', m), 1)), spread(perCallHour('naive'), 1), fmt(median(grown.naive.map((x) => x.peakRssMiB)))],
      ]),
    table('Targets', ['Target', 'Measured', 'Met'], [
      ['≤ 100 KiB RSS per track (issue)', `${fmt(oursKib, 1)} KiB`, yesNo(oursKib <= 100)],
      ['≤ 128 KiB RSS per track (DESIGN.md)', `${fmt(oursKib, 1)} KiB`, yesNo(oursKib <= 128)],
      ['growth flat (< 1 MiB per call-hour)', `${fmt(oursHour, 2)} MiB per call-hour`, yesNo(oursHour < 1)],
    ]),
  ].join('\n');
  saveTables('memory', text);
}

const args = childArgs();
await (args ? child(args) : parent());
