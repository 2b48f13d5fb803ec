// The jobs repository on a real database (SQLite and Postgres): the guarded writes the queue's safety rests on.
import assert from 'node:assert/strict';
import type { JobErrorInfo, NewJob } from '../../src/store/jobs.js';
import { jobsEnv } from './helpers.js';
import { forEachEngine } from '../helpers/postgres.js';

const T = 1_700_000_000_000;
const LEASE = 30_000;
const job = (over: Partial<NewJob> = {}): NewJob => ({
  kind: 'download', key: 'download:RE1', payload: { recordingSid: 'RE1' }, runAt: T, maxAttempts: 3, ...over,
});
const err = (code: string): JobErrorInfo => ({ code, message: `${code} happened`, retryable: true, at: new Date(T).toISOString() });

forEachEngine('enqueue is insert-or-ignore on key and round-trips every column', async (t, engine) => {
  const { store } = await jobsEnv(t, engine);
  const first = await store.jobs.enqueue(job());
  assert.equal(first.created, true);
  const again = await store.jobs.enqueue(job({ payload: { other: true }, runAt: T + 5 }));
  assert.equal(again.created, false);
  assert.deepEqual(again.job, first.job);
  assert.deepEqual(first.job, {
    id: first.job.id, kind: 'download', key: 'download:RE1', payload: { recordingSid: 'RE1' }, state: 'queued',
    attempts: 0, maxAttempts: 3, runAt: T, leaseOwner: null, leaseExpiresAt: null, lastError: null, result: null,
    createdAt: first.job.createdAt, updatedAt: first.job.createdAt, finishedAt: null,
  });
  assert.deepEqual(await store.jobs.get(first.job.id), first.job);
  assert.equal(await store.jobs.get(9999), undefined);
  assert.equal(await store.jobs.getByKey('nope'), undefined);
});

forEachEngine('listByKeyPrefix is an exact, case-sensitive prefix; % and _ are literal', async (t, engine) => {
  const { store } = await jobsEnv(t, engine);
  for (const key of ['sweep:CA1', 'download:RE1', 'download:re2', 'download:RE3', 'down%:X', 'downXoad:RE4']) {
    await store.jobs.enqueue(job({ key }));
  }
  assert.deepEqual((await store.jobs.listByKeyPrefix('download:RE')).map((j) => j.key), ['download:RE1', 'download:RE3']);
  assert.deepEqual((await store.jobs.listByKeyPrefix('down%')).map((j) => j.key), ['down%:X']);
  assert.deepEqual((await store.jobs.listByKeyPrefix('down_oad')).map((j) => j.key), []);
});

forEachEngine('claim takes the oldest due job of the given kinds and leases it', async (t, engine) => {
  const { store } = await jobsEnv(t, engine);
  await store.jobs.enqueue(job({ key: 'late', runAt: T + 1 }));
  await store.jobs.enqueue(job({ key: 'other-kind', kind: 'transcribe', runAt: T - 10 }));
  await store.jobs.enqueue(job({ key: 'b', runAt: T - 1 }));
  await store.jobs.enqueue(job({ key: 'a', runAt: T - 2 }));
  const kinds = ['download'];
  assert.equal(await store.jobs.claim('gw-a', T, LEASE, []), undefined);
  const a = await store.jobs.claim('gw-a', T, LEASE, kinds);
  assert.deepEqual([a?.key, a?.state, a?.attempts, a?.leaseOwner, a?.leaseExpiresAt], ['a', 'running', 1, 'gw-a', T + LEASE]);
  assert.equal((await store.jobs.claim('gw-a', T, LEASE, kinds))?.key, 'b');
  assert.equal(await store.jobs.claim('gw-a', T, LEASE, kinds), undefined, 'late is not due, other-kind not asked for');
  assert.equal((await store.jobs.claim('gw-a', T + 1, LEASE, kinds))?.key, 'late');
});

forEachEngine('a running job is claimable only once its lease expired, and renew moves the expiry', async (t, engine) => {
  const { store } = await jobsEnv(t, engine);
  const { job: j } = await store.jobs.enqueue(job());
  await store.jobs.claim('gw-a', T, LEASE, ['download']);
  assert.equal(await store.jobs.claim('gw-b', T + LEASE - 1, LEASE, ['download']), undefined);
  assert.equal(await store.jobs.renew(j.id, 'gw-a', T + 10_000, LEASE), true);
  assert.equal(await store.jobs.claim('gw-b', T + LEASE, LEASE, ['download']), undefined, 'renewed');
  const taken = await store.jobs.claim('gw-b', T + 10_000 + LEASE, LEASE, ['download']);
  assert.deepEqual([taken?.leaseOwner, taken?.attempts], ['gw-b', 2]);
  assert.equal(await store.jobs.renew(j.id, 'gw-a', T + 50_000, LEASE), false, 'no longer ours');
  assert.equal(await store.jobs.succeed(j.id, 'gw-a', { late: true }), false);
  assert.equal(await store.jobs.succeed(j.id, 'gw-b', { bytes: 12 }), true);
  const done = await store.jobs.get(j.id);
  assert.deepEqual([done?.state, done?.result, done?.leaseOwner, done?.leaseExpiresAt], ['succeeded', { bytes: 12 }, null, null]);
  assert.ok(done?.finishedAt);
  assert.equal(await store.jobs.fail(j.id, 'gw-b', err('x')), false, 'finished jobs are final');
});

forEachEngine('retry, fail and release are guarded by owner and state', async (t, engine) => {
  const { store } = await jobsEnv(t, engine);
  const { job: j } = await store.jobs.enqueue(job());
  assert.equal(await store.jobs.retry(j.id, 'gw-a', T + 5, err('e1')), false, 'not running');
  await store.jobs.claim('gw-a', T, LEASE, ['download']);
  assert.equal(await store.jobs.retry(j.id, 'gw-b', T + 5, err('e1')), false, 'not the owner');
  assert.equal(await store.jobs.retry(j.id, 'gw-a', T + 5, err('e1')), true);
  let row = await store.jobs.get(j.id);
  assert.deepEqual([row?.state, row?.runAt, row?.attempts, row?.lastError, row?.leaseOwner], ['queued', T + 5, 1, err('e1'), null]);

  await store.jobs.claim('gw-a', T + 5, LEASE, ['download']);
  assert.equal(await store.jobs.release(j.id, 'gw-a', T + 6), true);
  row = await store.jobs.get(j.id);
  assert.deepEqual([row?.state, row?.attempts, row?.runAt], ['queued', 1, T + 6], 'release gives the attempt back');

  await store.jobs.claim('gw-a', T + 6, LEASE, ['download']);
  assert.equal(await store.jobs.fail(j.id, 'gw-a', err('e2')), true);
  row = await store.jobs.get(j.id);
  assert.deepEqual([row?.state, row?.attempts, row?.lastError?.code], ['failed', 2, 'e2']);
  assert.deepEqual(await store.jobs.countByState(), { queued: 0, running: 0, succeeded: 0, failed: 1 });
});

forEachEngine('releaseOwn requeues this instance\'s running jobs and fails those on their last attempt', async (t, engine) => {
  const { store } = await jobsEnv(t, engine);
  await store.jobs.enqueue(job({ key: 'k1' }));
  await store.jobs.enqueue(job({ key: 'k2', maxAttempts: 1 }));
  await store.jobs.enqueue(job({ key: 'k3' }));
  for (const id of ['gw-a', 'gw-a', 'gw-b']) await store.jobs.claim(id, T, LEASE, ['download']);
  assert.deepEqual(await store.jobs.releaseOwn('gw-a', T + 7), { requeued: 1, failed: 1 });
  const [k1, k2, k3] = await store.jobs.listByKeyPrefix('k');
  assert.deepEqual([k1?.state, k1?.attempts, k1?.runAt, k1?.leaseOwner], ['queued', 1, T + 7, null]);
  assert.deepEqual([k2?.state, k2?.lastError?.code], ['failed', 'abandoned']);
  assert.deepEqual([k3?.state, k3?.leaseOwner], ['running', 'gw-b'], 'another instance\'s job is left alone');
});

forEachEngine('an expired lease on the last attempt is failed as abandoned, not run again', async (t, engine) => {
  const { store } = await jobsEnv(t, engine);
  const { job: j } = await store.jobs.enqueue(job({ maxAttempts: 1 }));
  await store.jobs.claim('gw-a', T, LEASE, ['download']);
  assert.equal(await store.jobs.claim('gw-b', T + LEASE, LEASE, ['download']), undefined);
  const row = await store.jobs.get(j.id);
  assert.deepEqual([row?.state, row?.attempts, row?.lastError?.code], ['failed', 1, 'abandoned']);
});

forEachEngine('concurrent claims from two connection pools never hand out a job twice', async (t, engine) => {
  const env = await jobsEnv(t, engine);
  const other = await env.openAnother();
  for (let i = 0; i < 30; i++) await env.store.jobs.enqueue(job({ key: `k${i}` }));
  const claims = [];
  for (let i = 0; i < 40; i++) {
    claims.push(env.store.jobs.claim('gw-a', T, LEASE, ['download']), other.jobs.claim('gw-b', T, LEASE, ['download']));
  }
  const won = (await Promise.all(claims)).filter((j) => j !== undefined);
  assert.equal(new Set(won.map((j) => j.id)).size, won.length, 'no job claimed twice');
  // Under this artificial pile-up a claimer may give up after its rounds; the rest is still there.
  for (let j; (j = await other.jobs.claim('gw-b', T, LEASE, ['download'])); ) won.push(j);
  assert.equal(won.length, 30);
  assert.equal(new Set(won.map((j) => j.id)).size, 30);
  assert.deepEqual(await env.store.jobs.countByState(), { queued: 0, running: 30, succeeded: 0, failed: 0 });
});
