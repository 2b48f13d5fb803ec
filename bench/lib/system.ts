// How busy each CPU is, from /proc/stat. The machine is shared: every measurement waits (within a
// budget) for a quiet moment, and reports how much of its own CPU something else used meanwhile,
// so a disturbed run can be retried or at least shown for what it is.
import fs from 'node:fs';

type Times = Array<{ busy: number; total: number }>;

export function cpuTimes(): Times {
  return fs.readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).map((l) => {
    const v = l.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
  });
}

/** Busy % of each CPU between two readings. */
export function busyPct(a: Times, b: Times): number[] {
  return b.map((x, i) => {
    const dt = x.total - (a[i]?.total ?? 0);
    return dt > 0 ? (100 * (x.busy - (a[i]?.busy ?? 0))) / dt : 0;
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Total time one bench process may spend waiting for quiet, so a busy machine cannot stall it
 *  (`--quiet-wait <s>`, default 90). */
const waitArg = process.argv.indexOf('--quiet-wait');
let waitBudgetMs = 1000 * (waitArg >= 0 && Number.isFinite(Number(process.argv[waitArg + 1])) ? Number(process.argv[waitArg + 1]) : 90);

/** Waits until no CPU is more than `threshold`% busy over 0.5 s, or the budget is spent. */
export async function waitForQuiet(threshold = 25): Promise<number[]> {
  for (;;) {
    const a = cpuTimes();
    await sleep(500);
    const busy = busyPct(a, cpuTimes());
    if (busy.every((b) => b <= threshold)) return busy;
    waitBudgetMs -= 500;
    if (waitBudgetMs <= 0) {
      if (waitBudgetMs > -500) console.warn(`  machine busy (${busy.map((b) => b.toFixed(0) + '%').join(', ')}); wait budget spent, measuring anyway`);
      return busy;
    }
  }
}

/** The CPU this process is pinned to, or undefined when it may run on several. */
export function pinnedCpu(): number | undefined {
  const list = fs.readFileSync('/proc/self/status', 'utf8').match(/Cpus_allowed_list:\s*(\S+)/)?.[1] ?? '';
  return /^\d+$/.test(list) ? Number(list) : undefined;
}

/** Starts watching this process's CPU; the returned function gives the % of that CPU used by
 *  anything else since (other processes, interrupts). NaN when the process is not pinned. */
export function watchOtherLoad(): () => number {
  const cpu = pinnedCpu();
  const t0 = { at: performance.now(), cores: cpuTimes(), own: process.cpuUsage() };
  return () => {
    if (cpu === undefined) return NaN;
    const busy = busyPct(t0.cores, cpuTimes())[cpu] ?? 0;
    const own = process.cpuUsage(t0.own);
    const ownPct = (own.user + own.system) / 10 / (performance.now() - t0.at);
    return Math.max(0, busy - ownPct);
  };
}
