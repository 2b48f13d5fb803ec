// Child processes for the benchmarks: each measurement runs in a fresh Node process pinned to one
// CPU with `taskset` (performance-facts: "each microbenchmark was pinned to one CPU"), and hands
// its figures back as one `RESULT {json}` line on stdout.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForQuiet } from './system.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RESULT = 'RESULT ';

let tasksetChecked: boolean | undefined;
function hasTaskset(): boolean {
  tasksetChecked ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  if (!tasksetChecked) console.warn('taskset not available: children run unpinned');
  return tasksetChecked;
}

export interface ChildOptions {
  /** CPU to pin to; undefined runs unpinned */
  cpu?: number;
  exposeGc?: boolean;
  /** V8 old-space limit for children that hold whole calls in memory (the naive way) */
  heapMiB?: number;
  /** the child is killed (by its pid) after this long */
  timeoutMs: number;
  /** called with every stdout line that is not the result */
  onLine?: (line: string) => void;
}

/** Spawns `node --import tsx <script> ...args`, pinned when asked. stdin stays a pipe. */
export function spawnNode(script: string, args: readonly string[], o: Omit<ChildOptions, 'timeoutMs'>): ChildProcess {
  const flags = [...(o.exposeGc ? ['--expose-gc'] : []), ...(o.heapMiB ? [`--max-old-space-size=${o.heapMiB}`] : [])];
  const node = [process.execPath, ...flags, '--import', 'tsx', path.resolve(ROOT, script), ...args];
  const [cmd, ...rest] = o.cpu !== undefined && hasTaskset() ? ['taskset', '-c', String(o.cpu), ...node] : node;
  return spawn(cmd!, rest, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
}

/** Calls onLine for each complete line the stream prints. */
export function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
  });
}

/** Runs a child to completion (after waiting for a quiet machine) and returns its report. */
export async function runChild<T>(script: string, args: readonly string[], o: ChildOptions): Promise<T> {
  await waitForQuiet();
  const child = spawnNode(script, args, o);
  return collect<T>(child, `${path.basename(script)} ${args.join(' ')}`, o);
}

export function collect<T>(child: ChildProcess, label: string, o: ChildOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let result: T | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label}: no result within ${o.timeoutMs} ms, killed`));
    }, o.timeoutMs);
    lines(child.stdout!, (line) => {
      if (line.startsWith(RESULT)) result = JSON.parse(line.slice(RESULT.length)) as T;
      else o.onLine?.(line);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result !== undefined && code === 0) resolve(result);
      else reject(new Error(`${label}: exited with ${code ?? signal} and ${result === undefined ? 'no' : 'a'} result`));
    });
  });
}

/** What a measuring child reports besides its figures: how much of its CPU others used. */
export interface Disturbance {
  otherLoadPct: number;
}

/** Retries allowed per bench process for runs that others disturbed (a budget, so a busy machine
 *  costs at most a few extra runs; `--retries <n>`, default 4). */
let retryBudget: number | undefined;

/**
 * runChild for measurements: a run in which other processes used more than `maxOtherPct` of the
 * pinned CPU is repeated while the retry budget lasts; the least disturbed run is returned.
 */
export async function runMeasured<T extends Disturbance>(script: string, args: readonly string[], o: ChildOptions, maxOtherPct = 10): Promise<T & { disturbed: boolean }> {
  let best: T | undefined;
  retryBudget ??= option('retries', 4);
  for (;;) {
    const r = await runChild<T>(script, args, o);
    if (!best || r.otherLoadPct < best.otherLoadPct) best = r;
    if (!(r.otherLoadPct > maxOtherPct) || retryBudget <= 0) break;
    retryBudget--;
    console.log(`  (other processes used ${r.otherLoadPct.toFixed(0)}% of the CPU during that run: repeating it)`);
  }
  return { ...best, disturbed: best.otherLoadPct > maxOtherPct };
}

/** In a child: the arguments after `--child`, or null when the script runs as the parent. */
export function childArgs(): string[] | null {
  const i = process.argv.indexOf('--child');
  return i < 0 ? null : process.argv.slice(i + 1);
}

/** In a child: hands the figures back to the parent. */
export function report(result: unknown): void {
  process.stdout.write(RESULT + JSON.stringify(result) + '\n');
}

/** A number from `--name value` in argv, else the fallback (lets run-all shorten runs). */
export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}

/** Writes a bench's tables to bench/out/<name>.md (git-ignored) for BENCHMARKS.md. */
export function saveTables(name: string, text: string): void {
  const dir = path.join(ROOT, 'bench', 'out');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.md`), text);
}

/** The commit measured, and whether src/ had uncommitted changes at the time. */
export function revision(): string {
  // A copy of the tree outside git (a clean snapshot of a commit) names its commit here.
  if (process.env.BENCH_REVISION) return process.env.BENCH_REVISION;
  const git = (...a: string[]) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const dirty = git('status', '--porcelain', '--', 'src') !== '';
  return `${git('rev-parse', '--short', 'HEAD') || 'unknown commit'}${dirty ? ' + uncommitted src/ changes' : ''}`;
}

export function machine(): string {
  const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = info.match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
  return `Node ${process.version}, ${cpu}, ${info.match(/^processor/gm)?.length ?? '?'} CPUs, callvault ${revision()}`;
}
