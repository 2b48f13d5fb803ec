// Capture pipeline on one core (performance-facts §3): real Twilio `media` messages, 10 calls x
// 60 s x 2 tracks interleaved, through StreamParser.parse + CallSession.media (decode, jitter
// placement, speex q5 resampling, 8k/16k/stereo WAVs with batched writeSync) and close(), against
// the naive way (alawmulaw per frame into a JS Array, wavefile toSampleRate + writeFileSync at
// stop). Every run is a fresh process pinned to CPU 0; ours and naive alternate in the same run.
//
//   npx tsx bench/pipeline.ts [--runs 7] [--naive-runs 5] [--calls 10] [--seconds 60] [--input flat|cons]
//
// --input cons (default, the method of every figure in BENCHMARKS.md): the messages as the
// template literal builds them, rope strings that each variant's JSON.parse first flattens.
// --input flat: each message copied once into a flat string, as the gateway's parser gets it
// (`Buffer.toString('utf8')` of a ws frame); experimental: the discarded ropes are garbage in old
// space, and runs with it were bimodal (a major GC inside the measured window or not).
import fs from 'node:fs';
import path from 'node:path';
import { MAX_FRAME_SAMPLES, type CallSession } from '../src/capture/call-session.js';
import { StreamParser } from '../src/twilio/messages.js';
import { initResampler, msSince, openNaive, openSession, removeDir, tempDir } from './lib/capture.js';
import { childArgs, machine, option, report, runMeasured, saveTables, type Disturbance } from './lib/child.js';
import { minimalMessage, MinimalCall } from './lib/minimal.js';
import { naiveMessage, type NaiveCall } from './lib/naive.js';
import { interleavedCalls, type Interleaved } from './lib/signal.js';
import { fmt, max, median, spread, table, yesNo } from './lib/stats.js';
import { watchOtherLoad } from './lib/system.js';

type Variant = 'ours' | 'naive' | 'parse' | 'minimal';

interface RunResult extends Disturbance {
  variant: Variant;
  frames: number;
  meanBytes: number;
  ingestMs: number;
  /** close() calls returned (ours) / stop work done (naive) */
  stopSyncMs: number;
  totalMs: number;
  bytesOnDisk: number;
}

type Timing = Omit<RunResult, 'variant' | 'bytesOnDisk' | 'otherLoadPct'>;

const SALT = 0xbe;

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return total;
}

async function runOurs(input: Interleaved, dir: string): Promise<Timing> {
  const t0 = performance.now();
  const parser = new StreamParser(MAX_FRAME_SAMPLES);
  const byStream = new Map<string, CallSession>();
  input.streamSids.forEach((s, c) => byStream.set(s, openSession(dir, c + 1, SALT)));
  for (const text of input.messages) {
    const r = parser.parse(text);
    if (!r.ok || r.message.event !== 'media') throw new Error('unexpected parse result');
    const m = r.message;
    byStream.get(m.streamSid)!.media(m.track, m.timestampMs, m.payload, Date.now());
  }
  const ingestMs = msSince(t0);
  const closing = [...byStream.values()].map((s) => s.close('stop'));
  const stopSyncMs = msSince(t0) - ingestMs;
  await Promise.all(closing);
  return { frames: input.messages.length, meanBytes: input.meanBytes, ingestMs, stopSyncMs, totalMs: msSince(t0) };
}

function runNaive(input: Interleaved, dir: string): Timing {
  const t0 = performance.now();
  const calls = new Map<string, NaiveCall>();
  input.streamSids.forEach((s, c) => calls.set(s, openNaive(dir, c + 1, SALT)));
  for (const text of input.messages) naiveMessage(text, calls);
  const ingestMs = msSince(t0);
  for (const c of calls.values()) c.stop();
  const totalMs = msSince(t0);
  return { frames: input.messages.length, meanBytes: input.meanBytes, ingestMs, stopSyncMs: totalMs - ingestMs, totalMs };
}

async function runMinimal(input: Interleaved, dir: string): Promise<Timing> {
  const t0 = performance.now();
  const calls = new Map<string, MinimalCall>();
  fs.mkdirSync(dir, { recursive: true });
  for (const s of input.streamSids) calls.set(s, new MinimalCall(dir, s));
  for (const text of input.messages) minimalMessage(text, calls);
  const ingestMs = msSince(t0);
  const closing = [...calls.values()].map((c) => c.close());
  const stopSyncMs = msSince(t0) - ingestMs;
  await Promise.all(closing);
  return { frames: input.messages.length, meanBytes: input.meanBytes, ingestMs, stopSyncMs, totalMs: msSince(t0) };
}

/** Parse only: the floor under both pipelines. */
function runParse(input: Interleaved): Timing {
  const t0 = performance.now();
  const parser = new StreamParser(MAX_FRAME_SAMPLES);
  let bytes = 0;
  for (const text of input.messages) {
    const r = parser.parse(text);
    if (r.ok && r.message.event === 'media') bytes += r.message.payload.length;
  }
  if (bytes === 0) throw new Error('nothing parsed');
  const totalMs = msSince(t0);
  return { frames: input.messages.length, meanBytes: input.meanBytes, ingestMs: totalMs, stopSyncMs: 0, totalMs };
}

type InputForm = 'flat' | 'cons';

/** The messages as the parser receives them (see the header). */
function messagesOf(input: Interleaved, form: InputForm): Interleaved {
  return form === 'cons' ? input : { ...input, messages: input.messages.map((m) => Buffer.from(m, 'utf8').toString('utf8')) };
}

async function child(args: string[]): Promise<void> {
  const [variant, calls, seconds] = [args[0] as Variant, Number(args[1]), Number(args[2])];
  const form = (args[3] ?? 'cons') as InputForm;
  await initResampler();
  const once = async (input: Interleaved) => {
    const dir = tempDir('pipeline');
    const other = watchOtherLoad();
    try {
      const r = variant === 'ours' ? await runOurs(input, dir) : variant === 'naive' ? runNaive(input, dir)
        : variant === 'minimal' ? await runMinimal(input, dir) : runParse(input);
      return { ...r, otherLoadPct: other(), bytesOnDisk: dirBytes(dir) };
    } finally {
      removeDir(dir);
    }
  };
  await once(messagesOf(interleavedCalls(2, 3), form)); // warm-up: the same code paths, so the JIT has seen them
  const input = messagesOf(interleavedCalls(calls, seconds), form);
  report({ variant, ...(await once(input)) });
}

async function parent(): Promise<void> {
  const runs = option('runs', 7);
  const naiveRuns = option('naive-runs', 5);
  const calls = option('calls', 10);
  const seconds = option('seconds', 60);
  const ai = process.argv.indexOf('--input');
  const form: InputForm = ai >= 0 && process.argv[ai + 1] === 'flat' ? 'flat' : 'cons';
  console.log(`pipeline: ${calls} calls x ${seconds} s x 2 tracks, ${form} input strings, pinned to CPU 0; ${machine()}`);
  const results: Record<Variant, Array<RunResult & { disturbed: boolean }>> = { ours: [], naive: [], parse: [], minimal: [] };
  for (let r = 0; r < runs; r++) {
    const order: Variant[] = r % 2 === 0 ? ['ours', 'naive', 'minimal', 'parse'] : ['parse', 'minimal', 'naive', 'ours'];
    for (const v of order) {
      if (v === 'naive' && r >= naiveRuns) continue;
      const res = await runMeasured<RunResult>('bench/pipeline.ts', ['--child', v, String(calls), String(seconds), form], {
        cpu: 0, timeoutMs: 240_000,
      });
      results[v].push(res);
      console.log(`  run ${r + 1} ${v.padEnd(5)}: ${fmt(res.frames / (res.totalMs / 1000))} frames/s (ingest ${fmt(res.ingestMs)} ms, stop ${fmt(res.totalMs - res.ingestMs)} ms), other load ${fmt(res.otherLoadPct)}%`);
    }
  }
  const fps = (rs: RunResult[], ms: (r: RunResult) => number) => rs.map((r) => r.frames / (ms(r) / 1000));
  const total = (v: Variant) => fps(results[v], (r) => r.totalMs);
  const ingest = (v: Variant) => fps(results[v], (r) => r.ingestMs);
  const ratio = median(total('ours')) / median(total('naive'));
  const paired = results.naive.map((n, i) => results.ours[i]!.totalMs > 0 ? n.totalMs / results.ours[i]!.totalMs : NaN);
  const frames = results.ours[0]?.frames ?? 0;
  const row = (name: string, v: Variant, xs: number[], stop: string) =>
    [name, spread(xs), fmt(median(xs) / 50), stop, fmt(median(xs) / median(total('naive')), 1) + '×'];
  const stopMs = (v: Variant) => spread(results[v].map((r) => r.totalMs - r.ingestMs));
  const all = Object.values(results).flat();
  const text = [
    `pipeline: ${calls} calls × ${seconds} s × 2 tracks = ${fmt(frames)} media messages of ${fmt(results.ours[0]?.meanBytes ?? 0)} B mean, `
      + `${form === 'flat' ? 'flat strings (as Buffer.toString gives the parser)' : 'rope strings (--input cons)'}; `
      + `one fresh process per run pinned to CPU 0 (taskset); ${machine()}.\n`,
    table('Capture pipeline, one core (frames/s: median (min–max, n))', ['Pipeline', 'Frames/s', 'Real-time tracks', 'Stop work, ms', 'vs naive incl. stop'], [
      row('**ours: parse + CallSession.media + close()**', 'ours', total('ours'), stopMs('ours')),
      row('ours, ingest only (before close)', 'ours', ingest('ours'), '—'),
      row('prototype-style streaming (§3: decode, speex q5, 8k + 16k WAVs batched 1 s) + close', 'minimal', total('minimal'), stopMs('minimal')),
      row('StreamParser.parse only (floor)', 'parse', total('parse'), '—'),
      row('naive, ingest only', 'naive', ingest('naive'), '—'),
      row('**naive, including its stop work**', 'naive', total('naive'), stopMs('naive')),
    ]),
    table('Targets', ['Target', 'Measured', 'Met'], [
      ['≥ 150k frames/s (issue)', fmt(median(total('ours'))), yesNo(median(total('ours')) >= 150_000)],
      ['≥ 90k frames/s per core (DESIGN.md)', fmt(median(total('ours'))), yesNo(median(total('ours')) >= 90_000)],
      ['≥ 20× naive incl. stop (issue)', `${fmt(ratio, 1)}× (paired runs ${fmt(Math.min(...paired), 1)}–${fmt(Math.max(...paired), 1)}×)`, yesNo(ratio >= 20)],
      ['≥ 15× naive incl. stop (DESIGN.md)', `${fmt(ratio, 1)}×`, yesNo(ratio >= 15)],
    ]),
    `Bytes written per run: ours ${fmt((results.ours[0]?.bytesOnDisk ?? 0) / 1e6, 1)} MB (8k + 16k per track + stereo), `
      + `naive ${fmt((results.naive[0]?.bytesOnDisk ?? 0) / 1e6, 1)} MB (8k + 16k per track). `
      + `Other processes used at most ${fmt(max(all.map((r) => r.otherLoadPct)))}% of CPU 0 during a kept run; `
      + `${all.filter((r) => r.disturbed).length} kept run(s) above 10% after retries.\n`,
  ].join('\n');
  saveTables('pipeline', text);
}

const args = childArgs();
await (args ? child(args) : parent());
