// The server half of bench/ws-load.ts: the real gateway (buildApp, signatures on, a temp
// RECORDINGS_DIR, logs at info to a file) on loopback. It reports every second the media
// messages that reached a CallSession, process CPU, event-loop delay p99, RSS, and the lag of
// every frame (arrival minus media.timestamp, relative to the smallest value on its stream),
// taken by wrapping CallSession.prototype.media in this process only. Started by ws-load.ts;
// prints `READY <port>`, and on the stdin line `stop` closes the app and prints its figures.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { CallSession } from '../../src/capture/call-session.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { removeDir, tempDir } from './capture.js';
import { lines, report } from './child.js';
import { max } from './stats.js';
import { busyPct, cpuTimes } from './system.js';
import { gatewayEnv, type Sample, type ServerResult } from './ws-common.js';

const SELF_TIMEOUT_MS = 300_000;

const window = { msgs: 0, lagSum: 0, lagMax: 0 };
const minOffset = new WeakMap<CallSession, number>();
const media = CallSession.prototype.media;
CallSession.prototype.media = function (this: CallSession, ...args: Parameters<CallSession['media']>) {
  const offset = args[3] - args[1];
  let min = minOffset.get(this);
  if (min === undefined || offset < min) minOffset.set(this, (min = offset));
  const lag = offset - min;
  window.msgs++;
  window.lagSum += lag;
  if (lag > window.lagMax) window.lagMax = lag;
  return media.apply(this, args);
};

async function main(): Promise<void> {
  const dir = tempDir('ws-server');
  // Whatever ends this process (a failed build, the parent's kill, the self-timeout), the
  // recordings go with it.
  process.on('exit', () => removeDir(dir));
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(1));
  const logFile = path.join(dir, 'gateway.log');
  const config = loadConfig(gatewayEnv(dir));
  const destination = pino.destination({ dest: logFile, sync: false });
  const app = await buildApp(config, { logger: createLogger('info', destination) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const samples: Sample[] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let last = { at: performance.now(), cpu: process.cpuUsage(), cores: cpuTimes() };
  const sampler = setInterval(() => {
    const now = { at: performance.now(), cpu: process.cpuUsage(), cores: cpuTimes() };
    const seconds = (now.at - last.at) / 1000;
    const cpuUs = now.cpu.user - last.cpu.user + now.cpu.system - last.cpu.system;
    samples.push({
      at: Date.now(), msgsPerS: window.msgs / seconds, cpuPct: cpuUs / 1e4 / seconds, loopP99Ms: loop.percentile(99) / 1e6,
      lagAvgMs: window.msgs ? window.lagSum / window.msgs : 0, lagMaxMs: window.lagMax,
      rssMiB: process.memoryUsage.rss() / 2 ** 20, sessions: app.gateway.registry.size,
      coreBusy: busyPct(last.cores, now.cores),
    });
    Object.assign(window, { msgs: 0, lagSum: 0, lagMax: 0 });
    loop.reset();
    last = now;
  }, 1000);
  const selfTimeout = setTimeout(() => process.exit(3), SELF_TIMEOUT_MS);
  selfTimeout.unref();
  process.stdout.write(`READY ${port}\n`);

  await new Promise<void>((resolve) => lines(process.stdin, (l) => l.trim() === 'stop' && resolve()));
  clearInterval(sampler);
  for (let i = 0; i < 150 && app.gateway.registry.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
  await app.close(); // finalises what is still open and waits for the store writes
  destination.flushSync();
  report(await summarize(samples, dir, logFile));
  clearTimeout(selfTimeout);
}

/** Reads the captures' own max_lag_ms from the store file and counts warn+ log lines. */
async function summarize(samples: Sample[], dir: string, logFile: string): Promise<ServerResult> {
  const { openStore } = await import('../../src/store/db.js');
  const store = await openStore({ databasePath: path.join(dir, 'callvault.sqlite') });
  const rows = (await store.knex('captures').select('state', 'stats')) as Array<{ state: string; stats: string | null }>;
  await store.close();
  const lags = rows.map((r) => (r.stats ? Number((JSON.parse(r.stats) as { max_lag_ms?: number }).max_lag_ms ?? 0) : 0));
  const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : [];
  return {
    samples,
    storeMaxLagMs: lags.length ? max(lags) : NaN,
    capturesComplete: rows.filter((r) => r.state === 'complete').length,
    capturesTotal: rows.length,
    warnLines: log.filter((l) => (JSON.parse(l) as { level: number }).level >= 40).length,
  };
}

await main();
process.exit(0);
