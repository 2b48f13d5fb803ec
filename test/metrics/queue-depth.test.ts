// The grouped count behind callvault_job_queue_depth, on both engines (Postgres counts are strings).
import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/postgres.js';
import { jobsEnv } from '../jobs/helpers.js';

const T = 1_700_000_000_000;

forEachEngine('countActiveByKind counts queued and running jobs by kind, never finished ones', async (t, engine) => {
  const { store } = await jobsEnv(t, engine);
  assert.deepEqual(await store.jobs.countActiveByKind(), []);
  const add = (kind: string, key: string) => store.jobs.enqueue({ kind, key, payload: {}, runAt: T, maxAttempts: 3 });
  await add('download', 'd1');
  await add('download', 'd2');
  await add('download', 'd3');
  await add('reconcile', 'r1');
  await add('reconcile', 'r2');
  const d = await store.jobs.claim('gw-a', T, 30_000, ['download']);
  const r = await store.jobs.claim('gw-a', T, 30_000, ['reconcile']);
  assert.ok(d && r);
  await store.jobs.succeed(r.id, 'gw-a', null);
  const rows = await store.jobs.countActiveByKind();
  const sorted = [...rows].sort((a, b) => `${a.kind}${a.state}`.localeCompare(`${b.kind}${b.state}`));
  assert.deepEqual(sorted, [
    { kind: 'download', state: 'queued', count: 2 },
    { kind: 'download', state: 'running', count: 1 },
    { kind: 'reconcile', state: 'queued', count: 1 },
  ]);
});
