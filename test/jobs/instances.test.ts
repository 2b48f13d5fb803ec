// Several queues (gateway processes) over one database, and processes that die mid-job.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capturedLog, jobsEnv, sleep, waitFor } from './helpers.js';

test('two queues over the same SQLite file run each of 50 jobs exactly once', async (t) => {
  const env = await jobsEnv(t);
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
async function orphan(t: Parameters<typeof jobsEnv>[0]) {
  const env = await jobsEnv(t);
  const T = 1_700_000_000_000;
  const LEASE = 60_000;
  const { job } = await env.store.jobs.enqueue({ kind: 'download', key: 'download:RE1', payload: {}, runAt: T, maxAttempts: 3 });
  assert.equal((await env.store.jobs.claim('gw-a', T, LEASE, ['download']))?.id, job.id);
  return { env, T, LEASE, id: job.id };
}

test('a job left running by a dead process is re-run by the same instance after restart', async (t) => {
  const { env, T, id } = await orphan(t);
  const a = env.queue({ instanceId: 'gw-a', now: () => T + 1 });
  const attempts: number[] = [];
  a.register('download', async ({ attempt }) => void attempts.push(attempt));
  await a.start();
  await a.drain();
  assert.deepEqual(attempts, [2], 'released at startup, run at once, the crashed attempt counted');
  assert.equal((await env.store.jobs.get(id))?.state, 'succeeded');
});

test('another instance takes a dead process\'s job only once the lease expired', async (t) => {
  const { env, T, LEASE, id } = await orphan(t);
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
