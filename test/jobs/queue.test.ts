// JobQueue against a real database (SQLite and Postgres): retries, limits, concurrency, timeouts, stop, leases, logs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { permanent, retryable } from '../../src/jobs/errors.js';
import { backoffMs } from '../../src/jobs/queue.js';
import { capturedLog, deferred, jobsEnv, sleep, untilAborted, waitFor } from './helpers.js';
import { forEachEngine } from '../helpers/postgres.js';

test('backoffMs doubles per attempt, caps at maxMs and jitters within [half, full]', () => {
  const b = { baseMs: 1000, maxMs: 5000 };
  assert.deepEqual([1, 2, 3, 4, 10].map((a) => backoffMs(a, b, () => 1)), [1000, 2000, 4000, 5000, 5000]);
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(a, b, () => 0)), [500, 1000, 2000, 2500]);
  assert.equal(backoffMs(2, b, () => 0.5), 1500);
});

forEachEngine('enqueue is idempotent by key: a duplicated webhook runs the job once', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({});
  const seen: unknown[] = [];
  q.register('download', async ({ payload }) => {
    seen.push(payload);
    return { bytes: 3 };
  });
  await q.start();
  const first = await q.enqueue('download', 'download:RE1', { recordingSid: 'RE1' });
  const again = await q.enqueue('download', 'download:RE1', { recordingSid: 'RE1' });
  assert.deepEqual([first.created, again.created, again.job.id], [true, false, first.job.id]);
  await q.drain();
  assert.deepEqual(seen, [{ recordingSid: 'RE1' }]);
  assert.equal(await q.enqueue('download', 'download:RE1', {}).then((r) => r.created), false, 'also after it finished');
  const row = await env.store.jobs.get(first.job.id);
  assert.deepEqual([row?.state, row?.attempts, row?.result], ['succeeded', 1, { bytes: 3 }]);
  await assert.rejects(q.enqueue('sweep', 'download:RE1', {}), /already belongs to kind download/);
});

forEachEngine('a retryable error is retried after growing, jittered delays until it succeeds', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  let clock = 1_700_000_000_000;
  const jitter = [0, 1, 0.5];
  const q = env.queue({ now: () => clock, random: () => jitter.shift() ?? 1, backoff: { baseMs: 1000, maxMs: 3000 }, maxAttempts: 5 });
  const attempts: number[] = [];
  q.register('download', async ({ attempt }) => {
    attempts.push(attempt);
    if (attempt < 4) throw retryable('http_503', `upstream busy on attempt ${attempt}`);
    return 'ok';
  });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', null);
  // attempt 1 -> 1000 * [0.5 + 0.5*0]; attempt 2 -> 2000 * 1; attempt 3 -> min(3000, 4000) * 0.75
  for (const [attempt, delay] of [[1, 500], [2, 2000], [3, 2250]] as const) {
    await waitFor(`retry ${attempt}`, async () => (await env.store.jobs.get(job.id))?.attempts === attempt && attempts.length === attempt);
    await q.drain();
    const row = await env.store.jobs.get(job.id);
    assert.deepEqual([row?.state, (row?.runAt ?? 0) - clock, row?.lastError?.code], ['queued', delay, 'http_503']);
    clock += delay - 1;
    await q.drain();
    assert.equal(attempts.length, attempt, 'not claimed before run_at');
    clock += 1;
  }
  await waitFor('success', async () => (await env.store.jobs.get(job.id))?.state === 'succeeded');
  const row = await env.store.jobs.get(job.id);
  assert.deepEqual(attempts, [1, 2, 3, 4]);
  assert.deepEqual([row?.attempts, row?.result, row?.lastError?.message], [4, 'ok', 'upstream busy on attempt 3']);
  assert.deepEqual(q.stats(), { inFlight: 0, claimed: 4, succeeded: 1, retried: 3, failed: 0, lost: 0, released: 0 });
});

forEachEngine('a non-retryable error fails the job at once and keeps the error', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({ maxAttempts: 5 });
  let calls = 0;
  q.register('download', async () => {
    calls++;
    throw permanent('encrypted', 'recording has encryption_details');
  });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', {});
  await q.drain();
  const row = await env.store.jobs.get(job.id);
  assert.equal(calls, 1);
  assert.deepEqual([row?.state, row?.attempts, row?.leaseOwner], ['failed', 1, null]);
  const expected = { code: 'encrypted', message: 'recording has encryption_details', retryable: false };
  assert.deepEqual({ ...row?.lastError, at: undefined }, { ...expected, at: undefined });
  assert.ok(row?.finishedAt);
});

forEachEngine('after max attempts the job fails with the last error (unknown errors count as retryable)', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({ maxAttempts: 9 });
  q.register('download', async ({ attempt }) => {
    throw new Error(`disk hiccup ${attempt}`);
  }, { maxAttempts: 3 });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', {});
  assert.equal(job.maxAttempts, 3, 'the kind\'s limit is stored with the job');
  const other = await q.enqueue('download', 'download:RE2', {}, { maxAttempts: 2 });
  await waitFor('both failed', async () => (await env.store.jobs.countByState()).failed === 2);
  const row = await env.store.jobs.get(job.id);
  const e = row?.lastError;
  assert.deepEqual([row?.attempts, e?.code, e?.message, e?.retryable], [3, 'internal', 'disk hiccup 3', true]);
  assert.equal((await env.store.jobs.get(other.job.id))?.attempts, 2);
});

forEachEngine('no more handlers run at once than the concurrency bound', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({ concurrency: 3 });
  let inFlight = 0;
  let peak = 0;
  let started = 0;
  let gate = deferred();
  q.register('download', async () => {
    started++;
    peak = Math.max(peak, ++inFlight);
    await gate.promise;
    inFlight--;
  });
  for (let i = 0; i < 9; i++) await q.enqueue('download', `download:RE${i}`, {});
  await q.start();
  // Handlers hold their slots until released, so the bound is what limits them, not timing.
  for (let batch = 0; batch < 3; batch++) {
    await waitFor(`batch ${batch} running`, () => started === 3 * (batch + 1));
    await sleep(30); // several poll rounds: a fourth would have started by now
    assert.deepEqual([inFlight, q.stats().inFlight], [3, 3]);
    const release = gate;
    gate = deferred();
    release.resolve();
  }
  await q.drain();
  assert.deepEqual([peak, (await env.store.jobs.countByState()).succeeded], [3, 9]);
});

forEachEngine('a handler over its timeout is aborted and retried as a timeout', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({});
  q.register('download', async ({ attempt, signal }) => {
    if (attempt === 1) await untilAborted(signal);
    return attempt;
  }, { timeoutMs: 40 });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', {});
  await waitFor('success', async () => (await env.store.jobs.get(job.id))?.state === 'succeeded');
  const row = await env.store.jobs.get(job.id);
  assert.deepEqual([row?.attempts, row?.result, row?.lastError?.code, row?.lastError?.retryable], [2, 2, 'timeout', true]);
});

forEachEngine('a handler that ignores its signal loses its slot after settleMs and the timeout counts', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({ maxAttempts: 1, settleMs: 30 });
  q.register('download', () => new Promise(() => {}), { timeoutMs: 20 });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', {});
  await q.drain();
  const row = await env.store.jobs.get(job.id);
  assert.deepEqual([row?.state, row?.lastError?.code, q.stats().inFlight], ['failed', 'timeout', 0]);
});

forEachEngine('stop() aborts a running handler and puts the job back without burning an attempt', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({});
  const started = deferred();
  let sawReason: unknown;
  q.register('download', async ({ signal }) => {
    started.resolve();
    signal.addEventListener('abort', () => (sawReason = signal.reason));
    await untilAborted(signal);
  });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', {});
  await started.promise;
  await q.stop();
  assert.match(String(sawReason), /stopping/);
  const row = await env.store.jobs.get(job.id);
  assert.deepEqual([row?.state, row?.attempts, row?.leaseOwner, row?.lastError], ['queued', 0, null, null]);
  assert.equal(q.stats().released, 1);

  const next = env.queue({});
  next.register('download', async ({ attempt }) => attempt);
  await next.start();
  await next.drain();
  assert.deepEqual(await env.store.jobs.get(job.id).then((r) => [r?.state, r?.result]), ['succeeded', 1]);
});

forEachEngine('stop() is bounded even when a handler ignores its signal', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({ settleMs: 50 });
  const started = deferred();
  q.register('download', () => {
    started.resolve();
    return new Promise(() => {});
  });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', {});
  await started.promise;
  const t0 = Date.now();
  await q.stop();
  assert.ok(Date.now() - t0 < 1000);
  assert.deepEqual(await env.store.jobs.get(job.id).then((r) => [r?.state, r?.attempts]), ['queued', 0]);
});

forEachEngine('a lost lease aborts the handler and its outcome is not written', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({ leaseMs: 60 });
  const started = deferred();
  let reason: unknown;
  q.register('download', async ({ signal }) => {
    started.resolve();
    await untilAborted(signal).catch((e: unknown) => (reason = e));
    return 'written?';
  });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', {});
  await started.promise;
  // The thief holds a long lease, so our queue cannot simply take the job back when it expires.
  await env.store.knex('jobs').where({ id: job.id }).update({ lease_owner: 'gw-thief', lease_expires_at: Date.now() + 600_000 });
  await waitFor('lease lost', () => q.stats().lost === 1);
  assert.match(String(reason), /lease lost/);
  const row = await env.store.jobs.get(job.id);
  assert.deepEqual([row?.state, row?.leaseOwner, row?.result], ['running', 'gw-thief', null]);
});

forEachEngine('kinds without a handler here are left for another process', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const q = env.queue({});
  q.register('download', async () => 'ok');
  await q.start();
  const { job } = await q.enqueue('transcribe', 'transcribe:CA1', {});
  await q.drain();
  assert.equal((await env.store.jobs.get(job.id))?.state, 'queued');
});

forEachEngine('outcome logs carry id, kind, attempt and code, never the payload', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const { log, lines } = capturedLog();
  const q = env.queue({ log, maxAttempts: 2 });
  q.register('download', async ({ attempt }) => {
    if (attempt === 1) throw retryable('http_503', 'busy');
    throw permanent('not_found', 'gone');
  });
  await q.start();
  const { job } = await q.enqueue('download', 'download:RE1', { to: '+15550100001', note: 'call +15550100001' });
  await waitFor('failed', async () => (await env.store.jobs.get(job.id))?.state === 'failed');
  const text = lines().join('\n');
  assert.doesNotMatch(text, /5550100001/);
  const outcomes = lines().map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.jobId === job.id);
  assert.deepEqual(outcomes.map((l) => [l.kind, l.attempt, l.code, l.msg]), [
    ['download', 1, 'http_503', 'job attempt failed; will retry'],
    ['download', 2, 'not_found', 'job failed'],
  ]);
});
