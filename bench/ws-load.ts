// Loopback WebSocket load test (performance-facts §4): the real gateway in a server process
// pinned to CPU 0, a Twilio-like load client pinned to CPU 1, N real-time tracks (N/2 streams of
// two tracks, 50 frames/s per track) for ~20 s per step, a fresh server per step. Pass criteria as
// in §4: ≥ 97% of the expected msgs/s, lag not growing from the first to the last third, max lag
// < 250 ms, and server CPU < 80%.
//
//   npx tsx bench/ws-load.ts [--passes 2] [--seconds 20] [--steps 200,400,500,600,700,800]
import { collect, machine, option, runChild, saveTables, spawnNode } from './lib/child.js';
import { fmt, max, mean, median, table, yesNo } from './lib/stats.js';
import { waitForQuiet } from './lib/system.js';
import type { ClientResult, Sample, ServerResult } from './lib/ws-common.js';

interface Step {
  tracks: number;
  client: ClientResult;
  server: ServerResult;
  window: Sample[];
  msgsPerS: number;
  cpuPct: number;
  loopP99Ms: number;
  lagFirstMs: number;
  lagLastMs: number;
  lagMaxMs: number;
  rssMiB: number;
  /** CPU time on CPU 0 / CPU 1 used by anything but the server / client (shared machine) */
  otherLoad: [number, number];
  /** others used the CPUs, or the client could not keep its schedule: not a measurement of us */
  disturbed: boolean;
  verdict: string;
}

/** A step is re-run (within this budget) when others used > 10% of CPU 0 or > 20% of CPU 1, or
 *  the client sent its frames late (p99 > 20 ms). */
let retryBudget = option('retries', 3);

function steps(): number[] {
  const i = process.argv.indexOf('--steps');
  const raw = i >= 0 ? process.argv[i + 1] ?? '' : '200,400,500,600,700,800';
  return raw.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0 && n % 2 === 0 && n <= 2000);
}

async function startServer(): Promise<{ port: number; done: Promise<ServerResult>; stop: () => void }> {
  await waitForQuiet();
  const child = spawnNode('bench/lib/ws-server.ts', [], { cpu: 0 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('server not ready in 60 s'))), 60_000);
    let ready = false;
    const done = collect<ServerResult>(child, 'ws-server', {
      timeoutMs: 400_000,
      onLine: (line) => {
        const m = /^READY (\d+)$/.exec(line);
        if (!m || ready) return;
        ready = true;
        clearTimeout(timer);
        resolve({ port: Number(m[1]), done, stop: () => child.stdin!.end('stop\n') });
      },
    });
    done.catch((err: unknown) => (clearTimeout(timer), reject(err as Error)));
  });
}

const third = (xs: Sample[], k: 0 | 2) => xs.slice(Math.floor((k * xs.length) / 3), Math.floor(((k + 1) * xs.length) / 3));

function analyse(tracks: number, client: ClientResult, server: ServerResult): Step {
  // Seconds wholly inside the media phase, the first one skipped (streams start at random phases).
  const window = server.samples.filter((s) => s.at - 1000 >= client.t0 + 1000 && s.at <= client.tEnd + 50);
  const lagAvg = (xs: Sample[]) => mean(xs.map((s) => s.lagAvgMs));
  const step: Step = {
    tracks, client, server, window,
    msgsPerS: median(window.map((s) => s.msgsPerS)),
    cpuPct: median(window.map((s) => s.cpuPct)),
    loopP99Ms: median(window.map((s) => s.loopP99Ms)),
    lagFirstMs: lagAvg(third(window, 0)),
    lagLastMs: lagAvg(third(window, 2)),
    lagMaxMs: max(window.map((s) => s.lagMaxMs)),
    rssMiB: max(window.map((s) => s.rssMiB)),
    otherLoad: [
      Math.max(0, median(window.map((s) => (s.coreBusy[0] ?? 0) - s.cpuPct))),
      Math.max(0, mean(window.map((s) => s.coreBusy[1] ?? 0)) - client.cpuPct),
    ],
    disturbed: false,
    verdict: '',
  };
  step.disturbed = step.otherLoad[0] > 10 || step.otherLoad[1] > 20 || client.lateP99Ms > 20;
  const keepsUp = step.msgsPerS >= 0.97 * tracks * 50 && step.lagLastMs <= step.lagFirstMs + Math.max(5, step.lagFirstMs / 2)
    && step.lagMaxMs < 250 && client.opened === client.streams;
  step.verdict = (!keepsUp ? 'falls behind' : step.cpuPct < 80 ? 'ok' : 'keeps up, ≥ 80% CPU') + (step.disturbed ? ' (disturbed)' : '');
  return step;
}

/** Runs a step, again while it was disturbed and the budget lasts; keeps the least disturbed. */
async function measureStep(tracks: number, seconds: number): Promise<Step> {
  let best: Step | undefined;
  const score = (s: Step) => s.otherLoad[0] + s.otherLoad[1] + s.client.lateP99Ms;
  for (;;) {
    const s = await runStep(tracks, seconds);
    if (!best || score(s) < score(best)) best = s;
    if (!s.disturbed || retryBudget <= 0) return best;
    retryBudget--;
    console.log(`  (N=${tracks} disturbed: other load ${s.otherLoad.map((x) => fmt(x)).join('/')}%, client late p99 ${s.client.lateP99Ms} ms: repeating it)`);
  }
}

async function runStep(tracks: number, seconds: number): Promise<Step> {
  const server = await startServer();
  try {
    const client = await runChild<ClientResult>('bench/lib/ws-client.ts', [String(server.port), String(tracks), String(seconds)], {
      cpu: 1, timeoutMs: (seconds + 150) * 1000, onLine: (l) => console.log(`  client: ${l}`),
    });
    server.stop();
    return analyse(tracks, client, await server.done);
  } catch (err) {
    server.stop();
    await server.done.catch(() => undefined);
    throw err;
  }
}

async function main(): Promise<void> {
  const passes = option('passes', 2);
  const seconds = option('seconds', 20);
  const ns = steps();
  console.log(`ws-load: server on CPU 0, client on CPU 1, ${seconds} s per step; ${machine()}`);
  const results: Step[] = [];
  for (let p = 0; p < passes; p++) {
    for (const n of ns) {
      const s = await measureStep(n, seconds);
      results.push(s);
      console.log(`  pass ${p + 1} N=${n}: ${fmt(s.msgsPerS)} msgs/s of ${fmt(n * 50)}, CPU ${fmt(s.cpuPct)}%, loop p99 ${fmt(s.loopP99Ms, 1)} ms, `
        + `lag ${fmt(s.lagFirstMs, 1)} → ${fmt(s.lagLastMs, 1)} ms (max ${fmt(s.lagMaxMs)}), RSS ${fmt(s.rssMiB)} MiB, `
        + `ramp ${fmt(s.client.rampMs / 1000, 1)} s, client CPU ${fmt(s.client.cpuPct)}% late p99 ${s.client.lateP99Ms} ms, other load ${s.otherLoad.map((x) => fmt(x)).join('/')}%; ${s.verdict}`
        + (s.client.errors.length ? `; client errors: ${s.client.errors.slice(0, 3).join(' | ')}` : ''));
    }
  }
  const join = (xs: Step[], f: (s: Step) => string) => xs.map(f).join(' / ');
  const rows = ns.map((n) => {
    const xs = results.filter((s) => s.tracks === n);
    return [
      `${n} (${n / 2} streams)`, join(xs, (s) => fmt(s.msgsPerS)) + ` of ${fmt(n * 50)}`, join(xs, (s) => fmt(s.cpuPct)),
      join(xs, (s) => fmt(s.loopP99Ms, 1)), join(xs, (s) => `${fmt(s.lagFirstMs, 1)} → ${fmt(s.lagLastMs, 1)}`),
      join(xs, (s) => fmt(s.lagMaxMs)), join(xs, (s) => fmt(s.server.storeMaxLagMs)), join(xs, (s) => fmt(s.rssMiB)),
      join(xs, (s) => fmt(s.client.cpuPct)), join(xs, (s) => String(s.client.lateP99Ms)),
      join(xs, (s) => s.otherLoad.map((x) => fmt(x)).join('+')),
      join(xs, (s) => `${s.server.capturesComplete}/${s.server.capturesTotal}`), join(xs, (s) => s.verdict),
    ];
  });
  const clean = (n: number) => results.filter((s) => s.tracks === n && !s.disturbed);
  const okAll = (n: number) => clean(n).length > 0 && clean(n).every((s) => s.verdict === 'ok');
  const best = max(ns.filter(okAll).concat(0));
  const text = [
    `ws-load: fresh gateway per step (buildApp, signatures on, logs at info to a file) pinned to CPU 0; load client pinned to CPU 1; `
      + `${seconds} s of real-time media per step; ${passes} pass(es), each figure listed per pass; ${machine()}. `
      + `A step is marked disturbed when other processes used > 10% of CPU 0 or > 20% of CPU 1, or the client's `
      + `send lateness p99 exceeded 20 ms; such steps were repeated while a budget of ${option('retries', 3)} repeats lasted.\n`,
    table('Real-time tracks through the real gateway on loopback (per pass: a / b)', [
      'Tracks N', 'Server msgs/s (median)', 'Server CPU % (median)', 'Loop p99 ms (median)', 'Lag avg first → last third ms',
      'Max lag ms', 'Store max_lag_ms', 'Server RSS MiB', 'Client CPU %', 'Client late p99 ms', 'Other load CPU0+CPU1 %', 'Captures complete', 'Verdict',
    ], rows),
    table('Targets', ['Target', 'Measured', 'Met'], [
      ['≥ 600 real-time tracks per core at < 80% CPU, no lag growth (issue)', `${best} tracks (every undisturbed pass ok)`, yesNo(best >= 600)],
      ['≥ 450 (DESIGN.md)', `${best} tracks`, yesNo(best >= 450)],
    ]),
  ].join('\n');
  saveTables('ws-load', text);
}

await main();
process.exit(0);
