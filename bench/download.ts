// Cloud-recording download (issue: "the time from callback to verified file against the fake
// server, with 30 % of requests failing; memory while a 1-hour recording downloads (streamed, so
// flat)"). Two parts, every measurement in a fresh process, loopback only:
// 1. Callback → verified file: the real gateway and the fake Twilio REST server
//    (bench/lib/dl-latency.ts), N dual recordings, signed callbacks 1 s apart, with 0 % and 30 %
//    of the metadata and media requests failing (seeded mix: 404 not ready, 500, 503, bodies cut
//    short, stalls), and 30 % without metadata stalls as a control (see the notes it prints).
// 2. Memory: the fake in its own process serving a 60-minute and a 10-minute dual recording;
//    TwilioRest.downloadMedia vs a naive arrayBuffer-then-writeFile download, each in a fresh
//    process pinned to CPU 0 (bench/lib/dl-memory-child.ts), RSS sampled every 100 ms.
//
//   npx tsx bench/download.ts [--passes 2] [--recordings 20] [--spacing-ms 1000] [--runs 3]
import { collect, machine, option, runChild, saveTables, spawnNode } from './lib/child.js';
import { BENCH_JOB_ENV, type LatencyResult, type MemoryResult } from './lib/dl-common.js';
import { fmt, max, mean, median, quantile, spread, table, yesNo } from './lib/stats.js';

const passes = option('passes', 2);
const recordings = option('recordings', 20);
const spacingMs = option('spacing-ms', 1000);
const durationS = option('duration', 60);
const runs = option('runs', 3);
const LONG_S = 3600;
const SHORT_S = 600;

const SCENARIOS = [
  { label: '0 %', rate: 0, stallMetadata: 1 },
  { label: '30 % (404 not ready, 500, 503, cut-short bodies, stalls)', rate: 0.3, stallMetadata: 1 },
  { label: '30 %, metadata stalls replaced by 503 (control)', rate: 0.3, stallMetadata: 0 },
];

async function latency(): Promise<string[]> {
  const results = SCENARIOS.map(() => [] as LatencyResult[]);
  for (let p = 0; p < passes; p++) {
    for (const [i, s] of SCENARIOS.entries()) {
      const r = await runChild<LatencyResult>('bench/lib/dl-latency.ts',
        [String(s.rate), String(recordings), String(durationS), String(spacingMs), String(p + 1), String(s.stallMetadata)], { timeoutMs: 240_000 });
      results[i]!.push(r);
      console.log(`  pass ${p + 1}, ${s.label}: ${r.verified}/${r.recordings} verified, p50 ${fmt(quantile(r.readyMs, 0.5))} ms, `
        + `max ${fmt(max(r.readyMs))} ms, ${r.faults.failed}/${r.faults.requests} requests failed, ${r.faults.metadataStalls} metadata stalls`
        + (r.failures.length ? `; ${r.failures.join('; ')}` : ''));
    }
  }
  const rows = SCENARIOS.map((s, i) => {
    const rs = results[i]!;
    const ready = rs.flatMap((r) => r.readyMs).map((ms) => ms / 1000);
    const attempts = rs.flatMap((r) => r.attempts);
    const f = (k: keyof LatencyResult['faults']['byName']) => rs.reduce((a, r) => a + r.faults.byName[k], 0);
    const stuck = rs.reduce((a, r) => a + r.recordings - r.verified, 0);
    return [
      s.label, `${rs.reduce((a, r) => a + r.verified, 0)} / ${rs.reduce((a, r) => a + r.recordings, 0)}`, String(stuck),
      `${fmt(quantile(ready, 0.5), 2)} / ${fmt(quantile(ready, 0.9), 2)} / ${fmt(max(ready), 2)}`,
      rs.map((r) => fmt(quantile(r.readyMs, 0.5) / 1000, 2)).join(', '),
      `${fmt(mean(attempts), 2)} / ${fmt(median(attempts))} / ${max(attempts)}`,
      `${rs.reduce((a, r) => a + r.faults.failed, 0)} of ${rs.reduce((a, r) => a + r.faults.requests, 0)}`,
      s.rate ? `${f('404 not ready')} / ${f('500')} / ${f('503')} / ${f('cut-short body')} / ${f('stall')} (${rs.reduce((a, r) => a + r.faults.metadataStalls, 0)})` : '—',
    ];
  });
  const all = results.flat();
  const recMs = all.flatMap((r) => r.jobMs.reconcile ?? []);
  const dlMs = all.flatMap((r) => r.jobMs['recording-download'] ?? []);
  const failures = all.flatMap((r) => r.failures);
  return [
    `Set-up: the real gateway (buildApp) and the fake Twilio REST server in one process, unpinned; ${recordings} recordings of ${durationS} s dual `
      + `(${fmt((durationS * 32000) / 1e6, 2)} MB each) per run, signed \`completed\` callbacks ${spacingMs} ms apart over loopback; `
      + `${Object.entries(BENCH_JOB_ENV).map(([k, v]) => `${k}=${v}`).join(', ')}, JOB_CONCURRENCY=${all[0]?.concurrency ?? '?'} (default); `
      + `ready = the store says \`ready\` (polled every 20 ms); ${passes} runs per row, seeds 1–${passes}.\n`,
    table('Callback → verified file, per recording (pooled over runs)',
      ['Requests failing', 'Verified / recordings', 'Not ready at the end', 'p50 / p90 / max, s', 'p50 per run, s',
        'Attempts mean / median / max', 'Requests failed', '404 / 500 / 503 / cut / stall (of which metadata stalls)'], rows),
    `Each verified file: sha256 of the file on disk = the store's sha256 = sha256 of the WAV the fake serves. `
      + `Successful download job: median ${fmt(median(dlMs))} ms (max ${fmt(max(dlMs))}); each ready recording also sets off a cloud-only `
      + `reconciliation job that shares the ${all[0]?.concurrency ?? '?'} job slots: median ${fmt(median(recMs))} ms (max ${fmt(max(recMs))}) under tsx.`
      + (failures.length ? ` Not ready 30 s after the last callback: ${failures.join('; ')}.` : '')
      + (failures.some((f) => f.includes('downloading')) ? ' A recording left `downloading` is a handler that never returned: a stalled metadata '
        + 'request whose TWILIO_HTTP_TIMEOUT_MS never fired (TwilioRest.send puts AbortSignal.timeout inside AbortSignal.any, and a GC '
        + 'collects it); the control row avoids that fault.' : '') + '\n',
  ];
}

interface Fake { url: string; warm: string; recs: Array<{ sid: string; seconds: number; sha: string }>; stop: () => void; done: Promise<unknown> }

async function startFake(): Promise<Fake> {
  const child = spawnNode('bench/lib/dl-fake-proc.ts', [`${LONG_S},${SHORT_S}`], { cpu: 1 });
  let onReady: (f: Fake) => void = () => {};
  const ready = new Promise<Fake>((resolve) => (onReady = resolve));
  const done = collect<unknown>(child, 'dl-fake-proc', {
    timeoutMs: 600_000,
    onLine: (l) => {
      const [word, url, warm, ...recs] = l.split(' ');
      if (word !== 'READY') return;
      onReady({
        url: url!, warm: warm!, stop: () => child.stdin!.end(), done,
        recs: recs.map((r) => r.split(':')).map(([sid, seconds, sha]) => ({ sid: sid!, seconds: Number(seconds), sha: sha! })),
      });
    },
  }).catch(() => undefined);
  return Promise.race([ready, done.then(() => Promise.reject(new Error('the fake Twilio process ended before READY')))]);
}

async function memoryPart(): Promise<string[]> {
  const fake = await startFake();
  const out: Array<{ way: string; seconds: number; r: MemoryResult }> = [];
  try {
    for (let i = 0; i < runs; i++) {
      for (const [way, rec] of [['streamed', fake.recs[0]!], ['naive', fake.recs[0]!], ['streamed', fake.recs[1]!]] as const) {
        const r = await runChild<MemoryResult>('bench/lib/dl-memory-child.ts', [way, fake.url, rec.sid, fake.warm, rec.sha], {
          cpu: 0, exposeGc: true, timeoutMs: 180_000,
        });
        out.push({ way, seconds: rec.seconds, r });
        console.log(`  run ${i + 1}, ${way} ${rec.seconds / 60} min: ${fmt(r.ms)} ms, RSS ${fmt(r.baselineMiB, 1)} → peak ${fmt(r.peakMiB, 1)} MiB `
          + `(+${fmt(r.peakMiB - r.baselineMiB, 1)}), after GC ${fmt(r.afterGcMiB, 1)}; verified ${r.verified}`);
      }
    }
  } finally {
    fake.stop();
    await fake.done;
  }
  const pick = (way: string, s: number) => out.filter((o) => o.way === way && o.seconds === s).map((o) => o.r);
  const growth = (rs: MemoryResult[]) => rs.map((r) => r.peakMiB - r.baselineMiB);
  const row = (label: string, rs: MemoryResult[]) => [
    label, fmt(rs[0]!.bytes / 2 ** 20, 1), spread(rs.map((r) => r.baselineMiB), 1), spread(rs.map((r) => r.peakMiB), 1), spread(growth(rs), 1),
    spread(rs.map((r) => r.sampledPeakMiB - r.baselineMiB), 1), spread(rs.map((r) => r.afterGcMiB - r.baselineMiB), 1),
    spread(rs.map((r) => r.ms / 1000), 2), `${rs.filter((r) => r.verified).length}/${rs.length}`,
  ];
  const [streamedLong, naiveLong, streamedShort] = [pick('streamed', LONG_S), pick('naive', LONG_S), pick('streamed', SHORT_S)];
  const gLong = median(growth(streamedLong));
  const gShort = median(growth(streamedShort));
  const gNaive = median(growth(naiveLong));
  const fileMiB = streamedLong[0]!.bytes / 2 ** 20;
  const trace = streamedLong[0]!.samples.map((x) => fmt(x)).join(' ');
  return [
    table('Memory while one recording downloads, fresh process pinned to CPU 0 (MiB: median (min–max, n))',
      ['Download', 'File MiB', 'RSS before', 'Peak RSS (VmHWM)', 'Peak − before', 'Largest 100 ms sample − before', 'After GC − before', 'Time s', 'sha256 verified'],
      [row('TwilioRest.downloadMedia, 60 min dual (streamed)', streamedLong), row('naive: arrayBuffer() then writeFile, 60 min dual', naiveLong),
        row('TwilioRest.downloadMedia, 10 min dual (streamed)', streamedShort)]),
    `RSS before = after a warm-up download of 10 s and GC. The fake runs in its own process on CPU 1 (it builds each WAV in one buffer before `
      + `sending, most of the time column). RSS every 100 ms, first streamed 60-min run (MiB): ${trace}.\n`,
    table('Targets', ['Target', 'Measured', 'Met'], [
      ['streamed download: memory flat (growth does not scale with length: 60 min ≤ 10 min + 8 MiB)',
        `+${fmt(gLong, 1)} MiB for 60 min, +${fmt(gShort, 1)} MiB for 10 min`, yesNo(gLong <= gShort + 8)],
      ['for comparison: naive download of 60 min', `+${fmt(gNaive, 1)} MiB (${fmt(gNaive / fileMiB, 1)}× the file, `
        + `${fmt(gNaive / gLong, 1)}× the streamed growth)`, '—'],
    ]),
  ];
}

async function main(): Promise<void> {
  const header = `download: ${machine()}`;
  console.log(header);
  const parts = [`${header}.\n`, ...(await latency()), ...(await memoryPart())];
  saveTables('download', parts.join('\n'));
}

await main();
process.exit(0);
