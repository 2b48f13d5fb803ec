// One download of a long recording in a fresh process (run with --expose-gc), its RSS sampled
// every 100 ms: TwilioRest.downloadMedia (streamed to a file, hashing as it goes) or the naive way
// (`await res.arrayBuffer()`, then writeFile). A 10 s recording is fetched first the same way so
// fetch and the code paths are loaded before the baseline (RSS after GC) is taken; the peak is
// VmHWM, reset just before the download. The file's sha256 is checked against the fake's WAV.
//   args: <streamed|naive> <apiUrl> <longSid> <warmSid> <sha256>
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TwilioRest } from '../../src/twilio/rest.js';
import { gc, peakRss } from './capture.js';
import { report } from './child.js';
import type { MemoryResult } from './dl-common.js';
import { ACCOUNT_SID, AUTH_TOKEN } from './ws-common.js';

const [way, url, longSid, warmSid, sha] = process.argv.slice(2) as [string, string, string, string, string];
const MiB = 2 ** 20;
const TIMEOUT_MS = 120_000;
const recording = (sid: string) => `/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${sid}`;
const rest = new TwilioRest({ baseUrl: url, credentials: { username: ACCOUNT_SID, password: AUTH_TOKEN, source: 'bench' }, timeoutMs: TIMEOUT_MS });

async function naive(sid: string, dest: string): Promise<{ bytes: number; sha256: string }> {
  const res = await fetch(`${url}${recording(sid)}.wav?RequestedChannels=2`, {
    headers: { authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}` },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  await fs.promises.writeFile(dest, body);
  return { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}

const download = (sid: string, dest: string) => (way === 'naive' ? naive(sid, dest) : rest.downloadMedia(recording(sid), true, dest));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-bench-dl-mem-'));
try {
  await download(warmSid, path.join(dir, 'warm.wav'));
  fs.rmSync(path.join(dir, 'warm.wav'));
  gc();
  const baselineMiB = process.memoryUsage.rss() / MiB;
  fs.writeFileSync('/proc/self/clear_refs', '5'); // reset VmHWM to the current RSS
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(process.memoryUsage.rss() / MiB), 100);
  const t0 = performance.now();
  const got = await download(longSid, path.join(dir, 'long.wav'));
  const ms = performance.now() - t0;
  clearInterval(sampler);
  samples.push(process.memoryUsage.rss() / MiB);
  const peakMiB = peakRss();
  gc();
  const result: MemoryResult = {
    way, bytes: got.bytes, ms, baselineMiB, peakMiB, sampledPeakMiB: Math.max(...samples), samples,
    afterGcMiB: process.memoryUsage.rss() / MiB, verified: got.sha256 === sha && fs.statSync(path.join(dir, 'long.wav')).size === got.bytes,
  };
  report(result);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
