// One reconciliation in a fresh process (bench/reconcile.ts pins it with taskset): reads the
// ReconcileInput from a JSON file, loads what the run needs, takes the RSS after GC as the
// baseline, resets the peak (VmHWM, via /proc/self/clear_refs), runs reconcile() directly or
// through reconcileInWorker, and reports wall time, CPU time, peak RSS and the report's findings.
//   args: <direct|worker> <input.json>
import fs from 'node:fs';
import { initResampler } from '../../src/audio/resample.js';
import { reconcileInWorker } from '../../src/jobs/reconcile/in-worker.js';
import { reconcile, type ReconcileInput } from '../../src/jobs/reconcile/run.js';
import { gc, peakRss } from './capture.js';
import { report } from './child.js';
import { watchOtherLoad } from './system.js';

export interface RecChildResult {
  mode: string;
  wallMs: number;
  cpuMs: number;
  baselineMiB: number;
  peakMiB: number;
  peakResetOk: boolean;
  verdict: string;
  offsetS: number | null;
  driftPpm: number | null;
  agentChannel: number | null;
  mappingClear: boolean;
  points: number;
  finalCoverage: number;
  otherLoadPct: number;
}

const [mode, inputFile] = process.argv.slice(2) as ['direct' | 'worker', string];
const input = JSON.parse(fs.readFileSync(inputFile, 'utf8')) as ReconcileInput;
await initResampler();
gc();
const baselineMiB = process.memoryUsage.rss() / 2 ** 20;
let peakResetOk = true;
try {
  fs.writeFileSync('/proc/self/clear_refs', '5'); // "5": reset the peak RSS to the current RSS
} catch {
  peakResetOk = false;
}
const other = watchOtherLoad();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const r = mode === 'worker' ? await reconcileInWorker(input) : await reconcile(input);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const result: RecChildResult = {
  mode, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, baselineMiB, peakMiB: peakRss(), peakResetOk,
  verdict: r.verdict, offsetS: r.offset_s, driftPpm: r.drift_ppm, agentChannel: r.speakers.agent.cloud_channel,
  mappingClear: r.mapping.clear, points: r.alignment_points,
  finalCoverage: Math.min(r.coverage_percent.final.agent, r.coverage_percent.final.customer), otherLoadPct: other(),
};
report(result);
process.exit(0);
