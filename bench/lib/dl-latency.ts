// One run of the callback-to-verified-file measurement in bench/download.ts: the real gateway
// (buildApp, signatures on, job settings for a bench) pointed at the fake Twilio REST server in
// this process, N dual recordings whose requests fail at `rate` (bench/lib/dl-faults.ts), signed
// `completed` callbacks posted over loopback `spacingMs` apart, and the store polled every 20 ms
// for the time each recording turns `ready`. Afterwards every file is hashed and compared with
// the WAV the fake serves. A recording not settled `GIVE_UP_MS` after the last callback is
// reported as stuck, with its state.
//   args: <rate> <recordings> <durationS> <spacingMs> <seed> <stallMetadata 0|1>
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import twilio from 'twilio';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { encodeWav, fakeSid, startFakeTwilio } from '../../test/fakes/twilio-api.js';
import { removeDir, tempDir } from './capture.js';
import { report } from './child.js';
import { BENCH_JOB_ENV, type LatencyResult } from './dl-common.js';
import { injectFaults } from './dl-faults.js';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, gatewayEnv } from './ws-common.js';

const POLL_MS = 20;
const GIVE_UP_MS = 30_000;

const [rate, count, durationS, spacingMs, seed, stallMetadata] = process.argv.slice(2).map(Number) as [number, number, number, number, number, number];

async function main(dir: string): Promise<void> {
  const fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  const destination = pino.destination({ dest: path.join(dir, 'gateway.log'), sync: false });
  const config = loadConfig({ ...gatewayEnv(dir), CLOUD_RECORDING: 'true', TWILIO_API_BASE_URL: fake.url, ...BENCH_JOB_ENV });
  const app = await buildApp(config, { logger: createLogger('info', destination) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const { store } = app.gateway;

  const sids = Array.from({ length: count }, (_, i) => fakeSid('RE', 0x1000 + i));
  const expected = new Map<string, string>();
  for (const [i, sid] of sids.entries()) {
    fake.addRecording({ sid, callSid: fakeSid('CA', 0x1000 + i), channels: 2, durationS });
    const a = fake.audioOf(sid);
    expected.set(sid, createHash('sha256').update(encodeWav([a.left, a.right!])).digest('hex'));
  }
  const faults = injectFaults(fake, sids, rate, seed, stallMetadata !== 0);

  const posted = new Map<string, number>();
  const ready = new Map<string, number>();
  const t0 = performance.now();
  const post = async (sid: string) => {
    const params = fake.statusCallbackParams(sid);
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/twilio/recording-status`, params);
    posted.set(sid, performance.now());
    const res = await fetch(`${base}/twilio/recording-status`, {
      method: 'POST', body: new URLSearchParams(params).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    });
    if (res.status !== 204) throw new Error(`callback for ${sid}: HTTP ${res.status} ${await res.text()}`);
  };
  let lastPost = Infinity;
  const posting = (async () => {
    for (const [i, sid] of sids.entries()) {
      const due = t0 + i * spacingMs;
      if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      await post(sid);
    }
    lastPost = performance.now();
  })();
  const settledStates = new Map<string, string>();
  while (settledStates.size < count && performance.now() - lastPost < GIVE_UP_MS) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const watching = [...posted.keys()].filter((s) => !settledStates.has(s));
    if (watching.length === 0) continue;
    const rows = (await store.knex('recordings').select('recording_sid', 'state').whereIn('recording_sid', watching)) as Array<{ recording_sid: string; state: string }>;
    const now = performance.now();
    for (const r of rows) {
      if (!['ready', 'failed', 'absent'].includes(r.state)) continue;
      settledStates.set(r.recording_sid, r.state);
      if (r.state === 'ready') ready.set(r.recording_sid, now - posted.get(r.recording_sid)!);
    }
  }
  await posting;
  const wallMs = performance.now() - t0;

  const failures: string[] = [];
  let verified = 0;
  const attempts: number[] = [];
  for (const sid of sids) {
    const row = await store.recordings.get(sid);
    attempts.push((await store.jobs.getByKey(`download:${sid}`))?.attempts ?? 0);
    if (row?.state !== 'ready' || !row.filePath) {
      failures.push(`${sid}: ${row?.state ?? 'missing'} ${row?.failureCode ?? ''} ${row?.failureReason ?? ''}`.trim());
      continue;
    }
    const onDisk = createHash('sha256').update(fs.readFileSync(path.join(dir, row.filePath))).digest('hex');
    if (onDisk === expected.get(sid) && row.sha256 === onDisk) verified++;
    else failures.push(`${sid}: sha256 differs from the fake's WAV`);
  }
  const states: Record<string, number> = {};
  for (const sid of sids) states[settledStates.get(sid) ?? 'unsettled'] = (states[settledStates.get(sid) ?? 'unsettled'] ?? 0) + 1;
  const mediaRequests = fake.requests.filter((r) => r.kind === 'media').length;
  await app.close();
  destination.flushSync();
  const jobMs: Record<string, number[]> = {};
  for (const line of fs.readFileSync(path.join(dir, 'gateway.log'), 'utf8').split('\n')) {
    const l = line ? (JSON.parse(line) as { msg?: string; kind?: string; ms?: number }) : {};
    if (l.msg === 'job succeeded' && l.kind && l.ms !== undefined) (jobMs[l.kind] ??= []).push(l.ms);
  }
  await fake.close();
  report({
    rate, readyMs: [...ready.values()], attempts, states, verified, recordings: count, faults, mediaRequests, wallMs,
    concurrency: config.jobs.concurrency, failures, jobMs,
  } satisfies LatencyResult);
}

const dir = tempDir('dl-latency');
try {
  await main(dir);
} finally {
  removeDir(dir);
}
process.exit(0);
