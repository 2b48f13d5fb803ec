// Runs every benchmark in turn (each in its own process, each bounded in time) and gathers their
// tables into bench/out/all.md. `npm run bench`; budget about 15 minutes on 2 cores.
//   npx tsx bench/run-all.ts [--only pipeline,ws-load]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, machine } from './lib/child.js';

/** Name, arguments and the wall-clock limit after which the bench is killed. */
/** A busy machine may cost each bench at most this many repeated runs and this long a wait. */
const SHARED = ['--retries', '1', '--quiet-wait', '20'];
const BENCHES: Array<[string, string[], number]> = [
  ['pipeline', ['--runs', '7', '--naive-runs', '4', ...SHARED], 5 * 60_000],
  ['stop-cost', ['--runs', '5', '--naive-runs', '2', '--naive-long-runs', '1', ...SHARED], 6 * 60_000],
  ['memory', ['--runs', '3', '--growth-runs', '1', ...SHARED], 4 * 60_000],
  ['ws-load', ['--passes', '2', '--seconds', '20', '--steps', '200,400,500,600,700,800', ...SHARED], 9 * 60_000],
];

function run(name: string, args: string[], limitMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', `${name}.ts`), ...args], {
      cwd: ROOT, stdio: 'inherit',
    });
    const timer = setTimeout(() => {
      console.error(`${name}: still running after ${limitMs / 60_000} min, killed`);
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

const i = process.argv.indexOf('--only');
const only = i >= 0 ? (process.argv[i + 1] ?? '').split(',') : null;
const started = Date.now();
const failed: string[] = [];
const parts: string[] = [`# Benchmark results (${new Date().toISOString()}; ${machine()})\n`];
for (const [name, args, limit] of BENCHES) {
  if (only && !only.includes(name)) continue;
  console.log(`\n=== ${name} ${args.join(' ')} ===`);
  const t = Date.now();
  const code = await run(name, args, limit);
  console.log(`=== ${name}: exit ${code} after ${((Date.now() - t) / 1000).toFixed(0)} s ===`);
  if (code !== 0) failed.push(name);
  const out = path.join(ROOT, 'bench', 'out', `${name}.md`);
  if (code === 0 && fs.existsSync(out)) parts.push(`## ${name}\n\n${fs.readFileSync(out, 'utf8')}`);
}
fs.mkdirSync(path.join(ROOT, 'bench', 'out'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'out', 'all.md'), parts.join('\n'));
console.log(`\nall benchmarks done in ${((Date.now() - started) / 60_000).toFixed(1)} min; tables in bench/out/all.md`
  + (failed.length ? `; FAILED: ${failed.join(', ')}` : ''));
process.exit(failed.length ? 1 : 0);
