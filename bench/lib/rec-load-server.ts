// The server half of the capture-lag measurement in bench/reconcile.ts: the real gateway
// (buildApp, signatures on) on loopback, fed by bench/lib/ws-client.ts in another process. Once
// media flows it measures a baseline, then runs one reconciliation of the 1-hour input either
// through reconcileInWorker (as the job does) or with reconcile() on this event loop, and
// measures on until `TAIL_S` after it ends. Per phase: frame lag (arrival minus media.timestamp,
// relative to the smallest value on its stream, taken by wrapping CallSession.prototype.media),
// event-loop delay (monitorEventLoopDelay), the longest stall of a 10 ms interval timer (the
// histogram drops its first delay after reset(), which is the reconciliation's block when that
// starts right after the phase change) and CPU. Prints `READY <port>`; on the stdin line
// `stop` it closes the app and prints its figures.
//   args: <direct|worker> <input.json>
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { CallSession } from '../../src/capture/call-session.js';
import { loadConfig } from '../../src/config.js';
import { reconcileInWorker } from '../../src/jobs/reconcile/in-worker.js';
import { reconcile, type ReconcileInput } from '../../src/jobs/reconcile/run.js';
import { createLogger } from '../../src/log.js';
import { removeDir, tempDir } from './capture.js';
import { lines, report } from './child.js';
import { max, quantile } from './stats.js';
import { busyPct, cpuTimes } from './system.js';
import { gatewayEnv } from './ws-common.js';

const WARMUP_S = 2;
const BASELINE_S = 4;
const TAIL_S = 2;
const SELF_TIMEOUT_MS = 240_000;

export interface PhaseFigures {
  name: string;
  seconds: number;
  frames: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  loopP99Ms: number;
  loopMaxMs: number;
  /** the longest gap beyond its period between two ticks of a 10 ms interval timer */
  stallMaxMs: number;
  cpuPct: number;
  coreBusy: number[];
}

export interface LoadServerResult {
  mode: string;
  phases: PhaseFigures[];
  reconcileMs: number;
  verdict: string;
  offsetS: number | null;
  /** the reconciliation ended, and its tail was measured, before the client stopped */
  complete: boolean;
}

const [mode, inputFile] = process.argv.slice(2) as ['direct' | 'worker', string];
const input = JSON.parse(fs.readFileSync(inputFile, 'utf8')) as ReconcileInput;

const loop = monitorEventLoopDelay({ resolution: 5 });
let lags: number[] = [];
const TICK_MS = 10;
let stallMax = 0;
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  stallMax = Math.max(stallMax, now - lastTick - TICK_MS);
  lastTick = now;
}, TICK_MS).unref();
let firstMedia: (() => void) | undefined;
const minOffset = new WeakMap<CallSession, number>();
const media = CallSession.prototype.media;
CallSession.prototype.media = function (this: CallSession, ...args: Parameters<CallSession['media']>) {
  const offset = args[3] - args[1];
  let min = minOffset.get(this);
  if (min === undefined || offset < min) minOffset.set(this, (min = offset));
  lags.push(offset - min);
  firstMedia?.();
  return media.apply(this, args);
};

const phases: PhaseFigures[] = [];
let mark = { at: performance.now(), cpu: process.cpuUsage(), cores: cpuTimes() };
/** Closes the running phase under `name` and starts the next one. */
let stopped = false;
function endPhase(name: string): void {
  if (stopped) return;
  const now = { at: performance.now(), cpu: process.cpuUsage(), cores: cpuTimes() };
  const seconds = (now.at - mark.at) / 1000;
  const cpuUs = now.cpu.user - mark.cpu.user + now.cpu.system - mark.cpu.system;
  phases.push({
    name, seconds, frames: lags.length, lagP50Ms: quantile(lags, 0.5), lagP99Ms: quantile(lags, 0.99), lagMaxMs: max(lags),
    loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6, stallMaxMs: stallMax, cpuPct: cpuUs / 1e4 / seconds, coreBusy: busyPct(mark.cores, now.cores),
  });
  lags = [];
  stallMax = 0;
  loop.reset();
  mark = now;
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

async function measure(): Promise<Omit<LoadServerResult, 'phases' | 'complete'>> {
  await new Promise<void>((resolve) => (firstMedia = resolve));
  firstMedia = undefined;
  await sleep(WARMUP_S);
  endPhase('warm-up');
  await sleep(BASELINE_S);
  endPhase('baseline');
  const t0 = performance.now();
  const r = mode === 'worker' ? await reconcileInWorker(input) : await reconcile(input);
  const reconcileMs = performance.now() - t0;
  await sleep(TAIL_S);
  endPhase('reconciling');
  return { mode, reconcileMs, verdict: r.verdict, offsetS: r.offset_s };
}

async function main(dir: string): Promise<void> {
  const destination = pino.destination({ dest: `${dir}/gateway.log`, sync: false });
  const app = await buildApp(loadConfig(gatewayEnv(dir)), { logger: createLogger('info', destination) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const selfTimeout = setTimeout(() => process.exit(3), SELF_TIMEOUT_MS);
  loop.enable();
  let done: Awaited<ReturnType<typeof measure>> | undefined;
  const measuring = measure().then((r) => (done = r));
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
  await new Promise<void>((resolve) => lines(process.stdin, (l) => l.trim() === 'stop' && resolve()));
  const complete = done !== undefined;
  if (!complete) endPhase('reconciling (cut short by the end of the load)');
  stopped = true;
  const r = done ?? (await measuring);
  await app.close();
  destination.flushSync();
  report({ ...r, phases: phases.filter((p) => p.name !== 'warm-up'), complete } satisfies LoadServerResult);
  clearTimeout(selfTimeout);
}

const dir = tempDir('rec-load');
try {
  await main(dir);
} finally {
  removeDir(dir);
}
process.exit(0);
