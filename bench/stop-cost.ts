// Work at `stop` against call length: one call (two tracks) of 1, 10 and 60 minutes is fed as
// fast as possible, then CallSession.close() is timed (the synchronous part, which blocks the
// event loop, and the total until its promise resolves), against the naive stop work (wavefile
// fromScratch + toSampleRate(16000) + writeFileSync twice per track). Fresh process per run,
// pinned to CPU 0.
//
//   npx tsx bench/stop-cost.ts [--runs 5] [--naive-runs 3] [--naive-long-runs 1]
import { feed, initResampler, msSince, naiveSink, openNaive, openSession, oursSink, peakRss, removeDir, tempDir, trackSignals } from './lib/capture.js';
import { childArgs, machine, option, report, runMeasured, saveTables, type Disturbance } from './lib/child.js';
import { FRAMES_PER_S } from './lib/signal.js';
import { fmt, max, median, spread, table, yesNo } from './lib/stats.js';
import { watchOtherLoad } from './lib/system.js';

type Variant = 'ours' | 'naive';

interface StopResult extends Disturbance {
  variant: Variant;
  minutes: number;
  feedMs: number;
  /** the CallSession constructor (mkdir, five files opened, headers written): also on the loop */
  openMs: number;
  /** time until close() returned (ours) or the stop work finished (naive): the event-loop block */
  syncMs: number;
  totalMs: number;
  rssBeforeStopMiB: number;
  peakRssMiB: number;
}

async function oneCall(variant: Variant, minutes: number, signals: Uint8Array[][], dir: string, n: number): Promise<StopResult> {
  const other = watchOtherLoad();
  const frames = Math.round(minutes * 60 * FRAMES_PER_S);
  if (variant === 'ours') {
    const tOpen = performance.now();
    const session = openSession(dir, n);
    const openMs = msSince(tOpen);
    const t0 = performance.now();
    feed([oursSink(session)], 0, frames, signals);
    const feedMs = msSince(t0);
    const rssBeforeStopMiB = process.memoryUsage.rss() / 2 ** 20;
    const t1 = performance.now();
    const closing = session.close('stop');
    const syncMs = msSince(t1);
    const summary = await closing;
    const totalMs = msSince(t1);
    if (summary.samples !== frames * 160) throw new Error(`captured ${summary.samples} samples, expected ${frames * 160}`);
    return { variant, minutes, feedMs, openMs, syncMs, totalMs, rssBeforeStopMiB, peakRssMiB: peakRss(), otherLoadPct: other() };
  }
  const call = openNaive(dir, n);
  const t0 = performance.now();
  feed([naiveSink(call)], 0, frames, signals);
  const feedMs = msSince(t0);
  const rssBeforeStopMiB = process.memoryUsage.rss() / 2 ** 20;
  const t1 = performance.now();
  call.stop();
  const totalMs = msSince(t1);
  return { variant, minutes, feedMs, openMs: 0, syncMs: totalMs, totalMs, rssBeforeStopMiB, peakRssMiB: peakRss(), otherLoadPct: other() };
}

async function child(args: string[]): Promise<void> {
  const [variant, minutes] = [args[0] as Variant, Number(args[1])];
  await initResampler();
  const signals = trackSignals(2);
  const dir = tempDir('stop');
  try {
    await oneCall(variant, 0.1, signals, dir, 1); // warm-up: the same code paths, 6 s of audio
    report(await oneCall(variant, minutes, signals, dir, 2));
  } finally {
    removeDir(dir);
  }
}

async function parent(): Promise<void> {
  const runs = option('runs', 5);
  const naiveRuns = option('naive-runs', 3);
  const naiveLongRuns = option('naive-long-runs', 1);
  const lengths = [1, 10, 60];
  console.log(`stop-cost: one call, two tracks, pinned to CPU 0; ${machine()}`);
  const res: Array<StopResult & { disturbed: boolean }> = [];
  for (let r = 0; r < runs; r++) {
    for (const minutes of lengths) {
      const naiveWanted = minutes >= 60 ? naiveLongRuns : naiveRuns;
      for (const variant of (r % 2 === 0 ? ['ours', 'naive'] : ['naive', 'ours']) as Variant[]) {
        if (variant === 'naive' && r >= naiveWanted) continue;
        const x = await runMeasured<StopResult>('bench/stop-cost.ts', ['--child', variant, String(minutes)], {
          cpu: 0, timeoutMs: 300_000, heapMiB: 8192,
        });
        res.push(x);
        console.log(`  run ${r + 1} ${variant.padEnd(5)} ${String(minutes).padStart(2)} min: stop ${fmt(x.totalMs, 2)} ms (sync ${fmt(x.syncMs, 2)} ms), peak RSS ${fmt(x.peakRssMiB)} MiB, other load ${fmt(x.otherLoadPct)}%`);
      }
    }
  }
  const med = (xs: number[], d = 0) => (xs.length ? fmt(median(xs), d) : 'n/a');
  const pick = (v: Variant, m: number, f: (x: StopResult) => number) => res.filter((x) => x.variant === v && x.minutes === m).map(f);
  const rows = lengths.map((m) => {
    const oursTotal = pick('ours', m, (x) => x.totalMs);
    const naive = pick('naive', m, (x) => x.totalMs);
    return [
      `${m} min`, spread(pick('ours', m, (x) => x.syncMs), 2), spread(oursTotal, 2), spread(naive, 0),
      naive.length ? `${fmt(median(naive) / median(oursTotal))}×` : 'n/a',
      med(pick('ours', m, (x) => x.peakRssMiB)), med(pick('naive', m, (x) => x.peakRssMiB)),
      spread(pick('ours', m, (x) => x.openMs), 2),
    ];
  });
  const clean = res.filter((x) => x.variant === 'ours' && !x.disturbed);
  const worstSync = max(clean.map((x) => x.syncMs));
  const worstTotal = max(clean.map((x) => x.totalMs));
  const disturbed = res.filter((x) => x.disturbed).length;
  const m1 = median(pick('ours', 1, (x) => x.totalMs));
  const m60 = median(pick('ours', 60, (x) => x.totalMs));
  const flat = m60 <= Math.max(2 * m1, m1 + 2);
  const text = [
    `stop-cost: one call (2 tracks, 5 files) fed as fast as possible, then stopped; fresh process per run pinned to CPU 0; ${machine()}.\n`,
    table('Work at stop, per call (ms: median (min–max, n))', [
      'Call length', 'ours close(), synchronous', 'ours close(), total', 'naive stop (all synchronous)', 'naive / ours', 'ours peak RSS MiB', 'naive peak RSS MiB', 'ours open (constructor) ms',
    ], rows),
    table('Targets', ['Target', 'Measured', 'Met'], [
      ['< 5 ms per call (issue; facts: < 10 ms)', `worst undisturbed run (${clean.length}): ${fmt(worstSync, 2)} ms synchronous, ${fmt(worstTotal, 2)} ms total`, yesNo(worstTotal < 5)],
      ['flat in call length', `median total ${fmt(m1, 2)} ms at 1 min, ${fmt(m60, 2)} ms at 60 min`, yesNo(flat)],
    ]),
    `Runs in which other processes used > 10% of CPU 0 (kept after the retry budget, shown in the ranges, left out of the worst-run check): ${disturbed}.\n`,
  ].join('\n');
  saveTables('stop-cost', text);
}

const args = childArgs();
await (args ? child(args) : parent());
