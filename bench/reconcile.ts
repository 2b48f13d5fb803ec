// Reconciliation of a 1-hour call (DESIGN: ≥ 300× real time, "measured together with the capture
// lag it causes"; the issue asked ≥ 1,000× and "no more than a few MiB beyond the audio it must
// read"). Two parts, every measurement in a fresh process:
// 1. One core: reconcile() (and reconcileInWorker, as the job runs it) pinned to CPU 0 with
//    taskset: wall time, × real time, peak RSS (VmHWM) minus the RSS before it starts.
// 2. Capture lag: the real gateway pinned to CPU 0 takes 100 real-time streams from
//    bench/lib/ws-client.ts on CPU 1 while one reconciliation runs in a worker thread or on the
//    event loop: event-loop delay and frame lag before and during it.
// The input: espeak-ng speakers taking turns (bench/lib/rec-input.ts), 60 bursts of dropped frames
// per track, a cloud copy 1.3 s earlier with its channels swapped; the final audio is checked
// sample by sample against the conversation.
//
//   npx tsx bench/reconcile.ts [--seconds 3600] [--runs 5] [--worker-runs 3] [--semi-runs 2] [--passes 2]
//                              [--streams 100] [--unpinned 1]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from './lib/capture.js';
import { collect, machine, option, runChild, runMeasured, saveTables, spawnNode } from './lib/child.js';
import type { RecChildResult } from './lib/rec-child.js';
import { conversation, finalMismatches, writeInput } from './lib/rec-input.js';
import type { LoadServerResult, PhaseFigures } from './lib/rec-load-server.js';
import { fmt, max, median, spread, table, yesNo } from './lib/stats.js';
import { waitForQuiet } from './lib/system.js';
import type { ClientResult } from './lib/ws-common.js';

const seconds = option('seconds', 3600);
const runs = option('runs', 5);
const workerRuns = option('worker-runs', 3);
const passes = option('passes', 2);
const streams = option('streams', 100);
const semiRuns = option('semi-runs', 2);
/** Client media time: warm-up 2 s + baseline 4 s + the reconciliation + a 2 s tail, with room. */
const loadSeconds = option('load-seconds', Math.max(16, 14 + Math.ceil(seconds / 300)));

interface LagConfig { label: string; mode: 'direct' | 'worker'; serverCpu: number | undefined }
const CONFIGS: LagConfig[] = [
  { label: 'worker thread (reconcileInWorker), server on CPU 0 with it', mode: 'worker', serverCpu: 0 },
  { label: 'event loop (reconcile() on the main thread), server on CPU 0', mode: 'direct', serverCpu: 0 },
  // Optional: on this 2-CPU machine the worker then shares CPU 1 with the load client.
  ...(option('unpinned', 0) ? [{ label: 'worker thread, server unpinned (2 CPUs, client on CPU 1)', mode: 'worker', serverCpu: undefined } as const] : []),
];

async function oneCore(inputJson: string, mode: 'direct' | 'worker', n: number, nodeOptions = ''): Promise<RecChildResult[]> {
  const out: RecChildResult[] = [];
  for (let i = 0; i < n; i++) {
    spawnSync('sync');
    // The child inherits NODE_OPTIONS when it is spawned (after runChild's wait for a quiet
    // machine), so the flags stay set until it has finished.
    const saved = process.env.NODE_OPTIONS;
    if (nodeOptions) process.env.NODE_OPTIONS = `${saved ?? ''} ${nodeOptions}`.trim();
    let r: RecChildResult & { disturbed: boolean };
    try {
      r = await runMeasured<RecChildResult>('bench/lib/rec-child.ts', [mode, inputJson], { cpu: 0, exposeGc: true, timeoutMs: 180_000 });
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
    console.log(`  ${mode}${nodeOptions ? ` ${nodeOptions}` : ''} run ${i + 1}: ${fmt(r.wallMs)} ms (${fmt((seconds * 1000) / r.wallMs)}× real time), CPU ${fmt(r.cpuMs)} ms, `
      + `RSS ${fmt(r.baselineMiB, 1)} → peak ${fmt(r.peakMiB, 1)} MiB; ${r.verdict}, offset ${r.offsetS} s, agent = cloud channel ${r.agentChannel}`
      + (r.disturbed ? ` (others used ${fmt(r.otherLoadPct)}% of CPU 0)` : ''));
    out.push(r);
  }
  return out;
}

type LagResult = LoadServerResult & { disturbed: boolean };
let retryBudget = 1;

/** A lag run, repeated (within the budget) while others disturbed it. */
async function lagMeasured(inputJson: string, c: LagConfig): Promise<LagResult> {
  for (;;) {
    const r = await lagRun(inputJson, c);
    if (!r.disturbed || retryBudget-- <= 0) return r;
    console.log('  (that run was disturbed by other processes or a late client: repeating it)');
  }
}

async function lagRun(inputJson: string, c: LagConfig): Promise<LagResult> {
  let lateP99 = 0;
  spawnSync('sync'); // the previous run's final files must not be flushed during this one
  await waitForQuiet();
  const server = spawnNode('bench/lib/rec-load-server.ts', [c.mode, inputJson], c.serverCpu === undefined ? {} : { cpu: c.serverCpu });
  let onReady: (port: number) => void = () => {};
  const ready = new Promise<number>((resolve) => (onReady = resolve));
  const done = collect<LoadServerResult>(server, 'rec-load-server', {
    timeoutMs: 300_000, onLine: (l) => /^READY (\d+)$/.test(l) && onReady(Number(l.slice(6))),
  });
  const port = await Promise.race([ready, done.then(() => NaN)]);
  try {
    const client = await runChild<ClientResult>('bench/lib/ws-client.ts', [String(port), String(2 * streams), String(loadSeconds)], {
      cpu: 1, timeoutMs: (loadSeconds + 150) * 1000,
    });
    if (client.opened !== client.streams || client.errors.length) console.log(`  client: ${client.opened}/${client.streams} streams; ${client.errors.slice(0, 3).join(' | ')}`);
    lateP99 = client.lateP99Ms;
  } finally {
    server.stdin!.end('stop\n');
  }
  const r = await done;
  // Others' load on the two CPUs (the server's own CPU is known only where it is pinned), and a
  // client that could not keep time, make the run a measurement of the machine, not of us.
  const others = r.phases.map((p) => (c.serverCpu === undefined ? 0 : (p.coreBusy[0] ?? 0) - p.cpuPct));
  return { ...r, disturbed: max(others) > 15 || lateP99 > 20 };
}

const phase = (r: LoadServerResult, name: string): PhaseFigures => r.phases.find((p) => p.name.startsWith(name))!;

function lagRow(label: string, rs: LoadServerResult[], name: string, withReconcile: boolean, pinned = true): string[] {
  const ps = rs.map((r) => phase(r, name));
  return [
    label, withReconcile ? spread(rs.map((r) => r.reconcileMs / 1000), 1) : '—',
    spread(ps.map((p) => p.loopP99Ms), 1), spread(ps.map((p) => p.stallMaxMs)),
    spread(ps.map((p) => p.lagP50Ms), 1), spread(ps.map((p) => p.lagP99Ms), 1), spread(ps.map((p) => p.lagMaxMs)),
    spread(ps.map((p) => p.cpuPct)), pinned ? spread(ps.map((p) => Math.max(0, (p.coreBusy[0] ?? 0) - p.cpuPct))) : '—', withReconcile ? rs.map((r) => (r.complete ? r.verdict : `${r.verdict} (cut short)`)).join(', ') : '—',
  ];
}

async function main(): Promise<void> {
  const header = `reconcile: one ${seconds} s call; fresh process per run; ${machine()}`;
  console.log(header);
  const dir = tempDir('reconcile');
  try {
    const t = performance.now();
    const call = await conversation(seconds);
    const built = writeInput(dir, call, 1.3);
    const inputJson = path.join(dir, 'input.json');
    fs.writeFileSync(inputJson, JSON.stringify(built.input));
    const inputMiB = ['inbound', 'outbound'].map((k) => fs.statSync(path.join(dir, built.input.local!.files[k as 'inbound']!)).size)
      .concat(fs.statSync(path.join(dir, built.input.cloud!.file)).size).reduce((a, b) => a + b, 0) / 2 ** 20;
    console.log(`  input (${call.source}, ${built.droppedFrames.inbound}+${built.droppedFrames.outbound} frames dropped, `
      + `${fmt(inputMiB)} MiB of WAV) built in ${fmt((performance.now() - t) / 1000, 1)} s`);

    const direct = await oneCore(inputJson, 'direct', runs);
    const check = finalMismatches(dir, call);
    const worker = await oneCore(inputJson, 'worker', workerRuns);
    const capped = await oneCore(inputJson, 'direct', semiRuns, '--max-semi-space-size=1');
    const lag: LagResult[][] = CONFIGS.map(() => []);
    for (let p = 0; p < passes; p++) {
      for (const [i, c] of CONFIGS.entries()) {
        const r = await lagMeasured(inputJson, c);
        lag[i]!.push(r);
        const b = phase(r, 'baseline');
        const d = phase(r, 'reconciling');
        console.log(`  pass ${p + 1}, ${c.label}: reconcile ${fmt(r.reconcileMs)} ms; loop p99 ${fmt(b.loopP99Ms, 1)} → ${fmt(d.loopP99Ms, 1)} ms `
          + `(longest stall ${fmt(d.stallMaxMs)} ms), frame lag p99 ${fmt(b.lagP99Ms, 1)} → ${fmt(d.lagP99Ms, 1)} ms (max ${fmt(d.lagMaxMs)})`
          + `${r.complete ? '' : ' CUT SHORT'}${r.disturbed ? ' (disturbed)' : ''}`);
      }
    }
    const x = (rs: RecChildResult[]) => rs.map((r) => (seconds * 1000) / r.wallMs);
    const growth = (rs: RecChildResult[]) => rs.map((r) => r.peakMiB - r.baselineMiB);
    const first = direct[0]!;
    const xCpu = direct.map((r) => (seconds * 1000) / r.cpuMs);
    const tables = [
      `${header}.\n\nInput: ${call.source}, two speakers taking turns with hiss between turns, ${fmt(seconds)} s at 8 kHz; `
        + `${built.droppedFrames.inbound} + ${built.droppedFrames.outbound} frames (20 ms) dropped from the live capture in 60 bursts per track; `
        + `cloud copy starts 1.3 s earlier, channels swapped (${fmt(inputMiB)} MiB of WAV in all). Runs where others used > 10% of CPU 0 were repeated.\n`,
      table(`Reconciliation of a ${fmt(seconds / 60)}-minute call, one core (taskset -c 0): median (min–max, n)`,
        ['Path', 'Wall s', '× real time', 'CPU s', '× real time by CPU time', 'Others on CPU 0, %', 'RSS before, MiB', 'Peak RSS − before, MiB', 'Verdict, offset, agent channel'],
        [['reconcile() in the process', direct], ['reconcileInWorker (worker thread, as the job runs it)', worker],
          ['reconcile(), V8 young generation capped (--max-semi-space-size=1): live memory, not GC slack', capped]].map(([label, rs]) => {
          const v = rs as RecChildResult[];
          return [label as string, spread(v.map((r) => r.wallMs / 1000), 2), spread(x(v)), spread(v.map((r) => r.cpuMs / 1000), 2),
            spread(v.map((r) => (seconds * 1000) / r.cpuMs)), spread(v.map((r) => r.otherLoadPct)),
            spread(v.map((r) => r.baselineMiB), 1), spread(growth(v), 1),
            [...new Set(v.map((r) => `${r.verdict}, ${r.offsetS} s, ch ${r.agentChannel}`))].join('; ')];
        })),
      `Found: verdict ${first.verdict}, offset ${first.offsetS} s (true 1.3 s), drift ${first.driftPpm} ppm, agent = cloud channel ${first.agentChannel} `
        + `(swapped: true 1), mapping clear ${first.mappingClear}, ${first.points} alignment points, final coverage ${first.finalCoverage}%; `
        + `final.stereo.wav vs the conversation: ${check.mismatched} of ${fmt(check.frames * 2)} samples differ.\n`,
      table(`Capture lag while a reconciliation runs: ${streams} real-time streams (${2 * streams} tracks, ${fmt(streams * 100)} msgs/s) `
        + `through the gateway's media-stream endpoint, client on CPU 1; median (min–max, n=${passes})`,
        ['Reconciliation', 'Reconcile s', 'Loop delay p99 ms (monitorEventLoopDelay)', 'Longest loop stall ms (10 ms timer)', 'Frame lag p50 ms', 'Frame lag p99 ms', 'Frame lag max ms', 'Server CPU %', 'Others on CPU 0, %', 'Verdicts'],
        [lagRow('none (the 4 s before it, every pinned run)', lag.filter((_, i) => CONFIGS[i]!.serverCpu !== undefined).flat(), 'baseline', false),
          ...CONFIGS.map((c, i) => lagRow(c.label, lag[i]!, 'reconciling', true, c.serverCpu !== undefined))]),
      'Phases: "none" is the 4 s before the reconciliation starts; the others run from its start to 2 s after its end '
        + '(frames held up by a blocked loop arrive late after it unblocks). Frame lag: arrival minus media.timestamp, relative to the '
        + 'smallest value on its stream. The longest stall comes from a 10 ms interval timer: monitorEventLoopDelay drops the first '
        + 'delay after reset() (Node 20: a 3 s block right after reset() leaves max at 5 ms), and the reconciliation starts right after one. "Others on CPU 0": busy time of CPU 0 not used by the server (the machine is shared; '
        + 'runs above 15 % were repeated while the retry budget lasted).\n',
    ];
    const worst = (i: number) => max(lag[i]!.map((r) => phase(r, 'reconciling').lagMaxMs));
    tables.push(table('Targets', ['Target', 'Measured', 'Met'], [
      ['≥ 300× real time, one core (DESIGN)', `${fmt(median(x(direct)))}× wall (runs ${fmt(Math.min(...x(direct)))}–${fmt(Math.max(...x(direct)))}×), ${fmt(median(xCpu))}× by CPU time`, yesNo(median(x(direct)) >= 300)],
      ['≥ 1,000× real time (issue)', `${fmt(median(x(direct)))}× wall, ${fmt(median(xCpu))}× by CPU time`, yesNo(median(x(direct)) >= 1000)],
      ['memory: a few MiB beyond the audio it reads (read as ≤ 10 MiB peak growth)', `${fmt(max(growth(direct)), 1)} MiB worst run; `
        + `${fmt(max(growth(capped)), 1)} MiB with the young generation capped (${fmt(inputMiB)} MiB of input)`, yesNo(max(growth(direct)) <= 10)],
      ['off the capture loop: no frame later than 250 ms (ws-load criterion) while it runs in a worker, server on one core', `${fmt(worst(0))} ms worst run`, yesNo(worst(0) < 250)],
      ['the same with reconcile() on the event loop (for comparison)', `${fmt(worst(1))} ms worst run`, yesNo(worst(1) < 250)],
      ['found the truth: offset 1.3 s, channels swapped, final audio sample-exact', `${first.offsetS} s, ch ${first.agentChannel}, ${check.mismatched} samples differ`,
        yesNo(Math.abs((first.offsetS ?? 0) - 1.3) < 1 / 8000 && first.agentChannel === 1 && check.mismatched === 0)],
    ]));
    saveTables('reconcile', tables.join('\n'));
  } finally {
    removeDir(dir);
  }
}

await main();
process.exit(0);
