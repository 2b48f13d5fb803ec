// Several queues (gateway processes) over one database, and processes that die mid-job.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobsRepo } from '../../src/store/jobs.js';
import { capturedLog, deferred, jobsEnv, sleep, untilAborted, waitFor } from './helpers.js';
import { forEachEngine, type Engine } from '../helpers/postgres.js';

forEachEngine('two queues over one database run each of 50 jobs exactly once', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const other = await env.openAnother();
  const runs = new Map<number, string[]>();
  const handler = (instance: string) => async ({ job }: { job: { id: number } }) => {
    runs.set(job.id, [...(runs.get(job.id) ?? []), instance]);
    await sleep(2);
  };
  const { log, lines } = capturedLog();
  const a = env.queue({ instanceId: 'gw-a', concurrency: 4, pollMs: 2, log });
  const b = env.queue({ instanceId: 'gw-b', concurrency: 4, pollMs: 2, store: other, log });
  a.register('download', handler('gw-a'));
  b.register('download', handler('gw-b'));
  await Promise.all([a.start(), b.start()]);
  for (let i = 0; i < 50; i++) await (i % 2 ? a : b).enqueue('download', `download:RE${i}`, {});
  await waitFor('all done', async () => (await env.store.jobs.countByState()).succeeded === 50);
  assert.equal(runs.size, 50);
  for (const [id, by] of runs) assert.equal(by.length, 1, `job ${id} ran ${by.length} times`);
  const byA = [...runs.values()].filter((by) => by[0] === 'gw-a').length;
  assert.ok(byA > 0 && byA < 50, `both queues worked (gw-a ran ${byA})`);
  assert.equal(a.stats().succeeded + b.stats().succeeded, 50);
  const problems = lines().filter((l) => (JSON.parse(l) as { level: number }).level >= 40);
  assert.deepEqual(problems, [], 'no busy errors, lost leases or discarded outcomes');
});

/** A job claimed by gw-a at time T through the repository, then dropped: gw-a "died". */
async function orphan(t: Parameters<typeof jobsEnv>[0], engine: Engine) {
  const env = await jobsEnv(t, engine);
  const T = 1_700_000_000_000;
  const LEASE = 60_000;
  const { job } = await env.store.jobs.enqueue({ kind: 'download', key: 'download:RE1', payload: {}, runAt: T, maxAttempts: 3 });
  assert.equal((await env.store.jobs.claim('gw-a', T, LEASE, ['download']))?.id, job.id);
  return { env, T, LEASE, id: job.id };
}

forEachEngine('a job left running by a dead process is re-run by the same instance after restart', async (t, engine) => {
  const { env, T, id } = await orphan(t, engine);
  const a = env.queue({ instanceId: 'gw-a', now: () => T + 1 });
  const attempts: number[] = [];
  a.register('download', async ({ attempt }) => void attempts.push(attempt));
  await a.start();
  await a.drain();
  assert.deepEqual(attempts, [2], 'released at startup, run at once, the crashed attempt counted');
  assert.equal((await env.store.jobs.get(id))?.state, 'succeeded');
});

forEachEngine('another instance takes a dead process\'s job only once the lease expired', async (t, engine) => {
  const { env, T, LEASE, id } = await orphan(t, engine);
  let clock = T + 1;
  const b = env.queue({ instanceId: 'gw-b', now: () => clock });
  const attempts: number[] = [];
  b.register('download', async ({ attempt }) => void attempts.push(attempt));
  await b.start();
  await b.drain();
  clock = T + LEASE - 1;
  await b.drain();
  assert.deepEqual(attempts, []);
  assert.equal((await env.store.jobs.get(id))?.leaseOwner, 'gw-a');
  clock = T + LEASE;
  await waitFor('taken over', async () => (await env.store.jobs.get(id))?.state === 'succeeded');
  assert.deepEqual(attempts, [2]);
});

forEachEngine('a gateway whose database pool dies mid-job loses the job to another once its lease runs out', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const LEASE = 400;
  const [doomed, other] = [await env.openAnother(), await env.openAnother()];
  // Once dead, nothing gw-a asks of the database gets through (its pool is destroyed below; the
  // calls fail at once instead of waiting for a connection that tarn will never hand out).
  let dead = false;
  const jobs = new Proxy(doomed.jobs, {
    get(target, prop: keyof JobsRepo) {
      const fn = target[prop] as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) => (dead ? Promise.reject(new Error('Connection terminated')) : fn.apply(target, args));
    },
  });
  const a = env.queue({ instanceId: 'gw-a', jobs, leaseMs: LEASE, pollMs: 10 });
  const started = deferred();
  // gw-a's handler would run for ever: only the lost lease ends it.
  a.register('download', async ({ signal }) => {
    started.resolve();
    await untilAborted(signal);
  });
  const runs: { instance: string; attempt: number; at: number }[] = [];
  const b = env.queue({ instanceId: 'gw-b', store: other, leaseMs: LEASE, pollMs: 10 });
  b.register('download', async ({ attempt }) => {
    runs.push({ instance: 'gw-b', attempt, at: Date.now() });
    return 'done by gw-b';
  });
  await a.start();
  const { job } = await a.enqueue('download', 'download:RE-dies', {});
  await started.promise;
  dead = true; // gw-a "dies": no renewal, no outcome of it reaches the database any more
  await doomed.close();
  const held = await env.store.jobs.get(job.id);
  assert.deepEqual([held?.state, held?.leaseOwner], ['running', 'gw-a']);
  await b.start();
  await waitFor('taken over and finished', async () => (await env.store.jobs.get(job.id))?.state === 'succeeded');
  assert.equal(runs.length, 1);
  assert.ok(runs[0]!.at >= held!.leaseExpiresAt!, 'not before the lease ran out');
  const done = await env.store.jobs.get(job.id);
  assert.deepEqual([done?.attempts, done?.result, done?.leaseOwner], [2, 'done by gw-b', null]);
  await waitFor('gw-a gave it up', () => a.stats().lost === 1);
  assert.equal(a.stats().succeeded, 0);
});

test('Postgres: three gateways with 8 workers each run each of 300 jobs exactly once', async (t) => {
  const env = await jobsEnv(t, 'postgres');
  const stores = [env.store, await env.openAnother(), await env.openAnother()];
  const runs = new Map<number, string[]>();
  const { log, lines } = capturedLog();
  const queues = stores.map((store, i) => {
    const instance = `gw-${i}`;
    const q = env.queue({ instanceId: instance, store, concurrency: 8, pollMs: 5, log });
    q.register('download', async ({ job }) => {
      runs.set(job.id, [...(runs.get(job.id) ?? []), instance]);
      await sleep(1 + (job.id % 3));
    });
    return q;
  });
  await Promise.all(queues.map((q) => q.start()));
  for (let i = 0; i < 300; i++) await queues[i % 3]!.enqueue('download', `download:RE${i}`, { i });
  await waitFor('all done', async () => (await env.store.jobs.countByState()).succeeded === 300, 60_000);
  assert.equal(runs.size, 300, 'none lost');
  for (const [id, by] of runs) assert.equal(by.length, 1, `job ${id} ran ${by.length} times`);
  const perGateway = [0, 1, 2].map((i) => [...runs.values()].filter((by) => by[0] === `gw-${i}`).length);
  assert.ok(perGateway.every((n) => n > 0), `every gateway worked: ${perGateway.join(', ')}`);
  assert.equal(queues.reduce((sum, q) => sum + q.stats().succeeded, 0), 300);
  assert.deepEqual(queues.map((q) => q.stats().lost), [0, 0, 0]);
  const problems = lines().filter((l) => (JSON.parse(l) as { level: number }).level >= 40);
  assert.deepEqual(problems, [], 'no errors, lost leases or discarded outcomes');
});

test('Postgres: a claim skips a job another transaction holds locked instead of waiting for it', async (t) => {
  const env = await jobsEnv(t, 'postgres');
  const other = await env.openAnother();
  const T = 1_700_000_000_000;
  const first = await env.store.jobs.enqueue({ kind: 'download', key: 'download:RE1', payload: {}, runAt: T - 2, maxAttempts: 3 });
  const second = await env.store.jobs.enqueue({ kind: 'download', key: 'download:RE2', payload: {}, runAt: T - 1, maxAttempts: 3 });
  // Another gateway in the middle of claiming the oldest job: its row lock is held.
  const trx = await env.store.knex.transaction();
  try {
    await trx('jobs').where({ id: first.job.id }).forUpdate().first();
    const t0 = Date.now();
    const got = await other.jobs.claim('gw-b', T, 30_000, ['download']);
    assert.equal(got?.id, second.job.id, 'the next job, not the locked one');
    assert.ok(Date.now() - t0 < 2000, 'without waiting for the lock');
    assert.equal(await other.jobs.claim('gw-b', T, 30_000, ['download']), undefined, 'the locked one is not handed out');
  } finally {
    await trx.rollback();
  }
  assert.equal((await other.jobs.claim('gw-b', T, 30_000, ['download']))?.id, first.job.id, 'free again once the lock is gone');
});
