// Liveness vs readiness through the real app: the store, a real write to the spool, and the free
// space under it. Tests may run as root, where chmod does not stop writes, so an unwritable spool
// is made by putting a file where the folder was.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

interface ReadyBody {
  status: string;
  instance_id: string;
  active_streams: number;
  checks: Record<string, { ok: boolean; ms: number; error?: string; free_mb?: number; min_free_mb?: number }>;
}

async function ready(gw: TestGateway, url = '/healthz/ready') {
  const res = await gw.app.inject({ method: 'GET', url });
  return { code: res.statusCode, body: res.json<ReadyBody>() };
}

const probes = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith('.healthz-'));

async function withGateway(env: Record<string, string>, fn: (gw: TestGateway) => Promise<void>, dir?: string): Promise<void> {
  const gw = await startGateway(env, dir);
  try {
    await fn(gw);
  } finally {
    await gw.close();
  }
}

test('liveness answers without I/O; readiness names each check; /healthz keeps its shape', async () => {
  await withGateway({}, async (gw) => {
    const live = await gw.app.inject({ method: 'GET', url: '/healthz/live' });
    assert.equal(live.statusCode, 200);
    assert.deepEqual(live.json(), { status: 'ok', instance_id: 'test-instance' });

    const r = await ready(gw);
    assert.equal(r.code, 200);
    assert.equal(r.body.status, 'ok');
    assert.deepEqual(Object.keys(r.body.checks).sort(), ['disk', 'spool', 'store']);
    for (const c of Object.values(r.body.checks)) assert.equal(c.ok, true);
    assert.equal(r.body.checks.disk!.min_free_mb, 512);
    assert.ok(r.body.checks.disk!.free_mb! >= 512);
    assert.deepEqual(probes(gw.dir), [], 'the probe file is removed');

    const h = await gw.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(h.statusCode, 200);
    assert.deepEqual(h.json(), { status: 'ok', instance_id: 'test-instance', active_streams: 0 });
    assert.equal(h.headers['cache-control'], 'no-store');
  });
});

test('readiness is 503 when the spool cannot be written; liveness stays 200', async () => {
  const dbDir = tempDir('cv-db-');
  await withGateway({ DATABASE_PATH: path.join(dbDir, 'callvault.sqlite') }, async (gw) => {
    const saved = `${gw.dir}.saved`;
    fs.renameSync(gw.dir, saved);
    fs.writeFileSync(gw.dir, 'not a folder');
    try {
      const r = await ready(gw);
      assert.equal(r.code, 503);
      assert.equal(r.body.status, 'unavailable');
      assert.equal(r.body.checks.spool!.ok, false);
      assert.equal(r.body.checks.spool!.error, 'ENOTDIR');
      assert.equal(r.body.checks.store!.ok, true);
      assert.ok(!JSON.stringify(r.body).includes(gw.dir), 'no paths in an unauthenticated body');
      const h = await ready(gw, '/healthz');
      assert.equal(h.code, 503);
      assert.equal(h.body.checks.spool!.ok, false, '/healthz says why it fails');
      assert.equal((await gw.app.inject({ method: 'GET', url: '/healthz/live' })).statusCode, 200);
    } finally {
      fs.rmSync(gw.dir);
      fs.renameSync(saved, gw.dir);
    }
    assert.equal((await ready(gw)).code, 200, 'ready again once the spool is back');
  });
});

test('readiness is 503 when free space under the spool is below HEALTH_MIN_FREE_MB', async () => {
  await withGateway({ HEALTH_MIN_FREE_MB: '100000000' }, async (gw) => {
    const r = await ready(gw);
    assert.equal(r.code, 503);
    assert.equal(r.body.checks.disk!.ok, false);
    assert.equal(r.body.checks.disk!.error, 'low_disk_space');
    assert.equal(r.body.checks.disk!.min_free_mb, 100000000);
    assert.ok(r.body.checks.disk!.free_mb! < 100000000);
    assert.equal(r.body.checks.spool!.ok, true);
  });
});

test('readiness is 503 when the store is closed', async () => {
  await withGateway({}, async (gw) => {
    // The queue starts in the background once ready; let it, then stop it before the store goes.
    while (!gw.logs.some((l) => l.msg === 'job queue started')) await new Promise((r) => setTimeout(r, 10));
    await gw.app.gateway.queue.stop();
    await gw.app.gateway.store.close();
    const r = await ready(gw);
    assert.equal(r.code, 503);
    assert.equal(r.body.checks.store!.ok, false);
    assert.equal(r.body.checks.store!.error, 'unreachable');
    assert.equal(r.body.checks.spool!.ok, true);
    assert.equal((await gw.app.inject({ method: 'GET', url: '/healthz/live' })).statusCode, 200);
  });
});

test('a hung check fails at HEALTH_TIMEOUT_MS; other parts add checks (object storage)', async () => {
  await withGateway({ HEALTH_TIMEOUT_MS: '100' }, async (gw) => {
    gw.app.health.addCheck('storage', () => new Promise(() => {}));
    const started = Date.now();
    const r = await ready(gw);
    assert.ok(Date.now() - started < 2000);
    assert.equal(r.code, 503);
    assert.deepEqual(Object.keys(r.body.checks).sort(), ['disk', 'spool', 'storage', 'store']);
    assert.equal(r.body.checks.storage!.error, 'timeout');
    gw.app.health.addCheck('storage', async () => ({ bucket: 'ok' }));
    const again = await ready(gw);
    assert.equal(again.code, 200);
    assert.equal((again.body.checks.storage as Record<string, unknown>).bucket, 'ok');
  });
});

test('config: METRICS_PORT, HEALTH_MIN_FREE_MB and HEALTH_TIMEOUT_MS are validated', () => {
  const base = { TWILIO_VALIDATE_SIGNATURES: 'false', CLOUD_RECORDING: 'false' };
  const c = loadConfig(base);
  assert.equal(c.observability.metricsPort, undefined);
  assert.equal(c.observability.minFreeBytes, 512 * 1024 * 1024);
  assert.equal(c.observability.healthTimeoutMs, 2000);
  assert.equal(loadConfig({ ...base, METRICS_PORT: '9464', HEALTH_MIN_FREE_MB: '0' }).observability.metricsPort, 9464);
  assert.throws(() => loadConfig({ ...base, PORT: '9000', METRICS_PORT: '9000' }), (e: unknown) =>
    e instanceof ConfigError && e.problems.includes('METRICS_PORT must differ from PORT'));
  assert.throws(() => loadConfig({ ...base, METRICS_PORT: 'nine' }), /METRICS_PORT must be an integer/);
  assert.throws(() => loadConfig({ ...base, HEALTH_MIN_FREE_MB: '-1' }), /HEALTH_MIN_FREE_MB must be an integer/);
  assert.throws(() => loadConfig({ ...base, HEALTH_TIMEOUT_MS: '10' }), /HEALTH_TIMEOUT_MS must be an integer/);
});
