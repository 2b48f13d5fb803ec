import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import knexFactory, { type Knex } from 'knex';
import { openStore, PG_POOL, type Store } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations.js';
import { createDatabase, forEachEngine } from '../helpers/postgres.js';
import { aCall, aStream, tempDir, tempStore, VIOLATION } from './helpers.js';

forEachEngine('openStore creates the schema (and, for SQLite, the parent folders)', async (t, engine) => {
  const { store, options } = await tempStore(t, engine);
  assert.equal(store.engine, engine);
  if (options.databasePath !== undefined) assert.ok(existsSync(options.databasePath));
  for (const table of ['calls', 'streams', 'captures', 'settings', 'jobs', 'recordings', 'provider_events']) {
    assert.equal(await store.knex.schema.hasTable(table), true, table);
  }
});

test('connection pragmas: WAL, busy timeout, foreign keys, synchronous=NORMAL', async (t) => {
  const { store } = await tempStore(t);
  const pragma = async (name: string): Promise<unknown> => {
    const rows = (await store.knex.raw(`PRAGMA ${name}`)) as Record<string, unknown>[];
    return Object.values(rows[0] ?? {})[0];
  };
  assert.equal(await pragma('journal_mode'), 'wal');
  assert.equal(await pragma('busy_timeout'), 5000);
  assert.equal(await pragma('foreign_keys'), 1);
  assert.equal(await pragma('synchronous'), 1); // 1 = NORMAL
});

test('Postgres: a pool of up to 10 connections that keeps none idle, named in pg_stat_activity', async (t) => {
  const { store } = await tempStore(t, 'postgres');
  assert.deepEqual(PG_POOL, { min: 0, max: 10 });
  const pool = (store.knex.client as { pool: { min: number; max: number } }).pool;
  assert.deepEqual([pool.min, pool.max], [0, 10]);
  const res = (await store.knex.raw('select current_setting(?) as name, current_schema() as schema', ['application_name'])) as {
    rows: { name: string; schema: string }[];
  };
  assert.equal(res.rows[0]?.name, 'callvault');
  assert.match(res.rows[0]?.schema ?? '', /^t_/, "the test helper's own schema, not public");
});

forEachEngine('migrations run once; reopening keeps data and adds no migration rows', async (t, engine) => {
  const { options, another } = await tempStore(t, engine);
  const first = await another();
  await first.calls.upsert(aCall());
  await first.settings.set('secret', 's1');
  await first.close();

  const again = await another();
  const rows = (await again.knex('knex_migrations').select('name')) as { name: string }[];
  assert.deepEqual(
    rows.map((r) => r.name),
    migrations.map((m) => m.name),
  );
  assert.deepEqual(rows.filter((r) => r.name === '001_capture').length, 1);
  assert.equal((await again.calls.get(aCall().callSid))?.direction, 'inbound');
  assert.equal(await again.settings.get('secret'), 's1');
  assert.ok(options.databaseUrl ?? options.databasePath);
});

test('Postgres: five gateways starting at once on an empty database migrate it exactly once', async (t) => {
  const db = await createDatabase();
  const stores: Store[] = [];
  t.after(async () => {
    for (const s of stores) await s.close();
    await db.drop();
  });
  const opened = await Promise.allSettled(Array.from({ length: 5 }, () => openStore({ databaseUrl: db.url })));
  for (const o of opened) if (o.status === 'fulfilled') stores.push(o.value);
  assert.deepEqual(opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok')), ['ok', 'ok', 'ok', 'ok', 'ok']);
  const [a, b] = stores as [Store, Store];
  const rows = (await a.knex('knex_migrations').select('name', 'batch').orderBy('id')) as { name: string; batch: number }[];
  assert.deepEqual(rows.map((r) => r.name), migrations.map((m) => m.name), 'each migration recorded once');
  assert.equal(new Set(rows.map((r) => r.batch)).size, 1, 'all applied by one migrator, in one batch');
  const lock = (await a.knex('knex_migrations_lock').select('is_locked')) as { is_locked: number }[];
  assert.deepEqual(lock.map((l) => l.is_locked), [0], "knex's lock is free again");
  // Every store works on the one schema.
  await a.calls.upsert(aCall());
  assert.equal((await b.calls.get(aCall().callSid))?.status, 'ringing');
});

test('Postgres: a store opened while another migrates waits for it instead of failing', async (t) => {
  const db = await createDatabase();
  const stores: Store[] = [];
  t.after(async () => {
    for (const s of stores) await s.close();
    await db.drop();
  });
  const first = openStore({ databaseUrl: db.url });
  // Started a moment later: lands in the middle of the first one's migrations.
  await new Promise((r) => setTimeout(r, 15));
  const second = openStore({ databaseUrl: db.url });
  stores.push(await first, await second);
  const rows = (await stores[1]!.knex('knex_migrations').count({ n: '*' })) as { n: string | number }[];
  assert.equal(Number(rows[0]?.n), migrations.length);
});

test('SQLite: migrations run once; a second store on the same file in the same folder works', async (t) => {
  const path = join(tempDir(t), 'db', 'callvault.sqlite');
  const first = await openStore({ databasePath: path });
  const second = await openStore({ databasePath: path });
  try {
    await first.calls.upsert(aCall());
    assert.equal((await second.calls.get(aCall().callSid))?.direction, 'inbound');
    const rows = (await second.knex('knex_migrations').select('name')) as { name: string }[];
    assert.equal(rows.length, migrations.length);
  } finally {
    await second.close();
    await first.close();
  }
});

forEachEngine('close is idempotent', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await Promise.all([store.close(), store.close()]);
  await store.close();
});

forEachEngine('foreign keys are enforced', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await assert.rejects(store.streams.insert(aStream({ callSid: 'CA-missing' })), VIOLATION.foreignKey);
  await assert.rejects(
    store.captures.insertMany([
      {
        streamSid: 'MZ-missing',
        callSid: 'CA-missing',
        kind: 'stereo',
        track: null,
        sampleRate: 8000,
        channels: 2,
        path: 'CA-missing/MZ-missing.stereo.8k.wav',
        instanceId: 'gw-a',
      },
    ]),
    VIOLATION.foreignKey,
  );
  assert.deepEqual(await store.captures.listByCall('CA-missing'), []);
});

forEachEngine('CHECK constraints reject values outside the enums', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await assert.rejects(
    store.calls.upsert(aCall({ direction: 'sideways' as 'inbound' })),
    VIOLATION.check,
  );
  await store.calls.upsert(aCall());
  await assert.rejects(
    store.streams.insert(aStream({ state: 'paused' as 'open' })),
    VIOLATION.check,
  );
});

test('every migration compiles to Postgres DDL with the same builder calls', async () => {
  // No server needed: knex compiles without a connection. Guards against SQLite-only schema.
  const pg = knexFactory({ client: 'pg' });
  const sql: string[] = [];
  const recorder = {
    schema: {
      createTable(name: string, build: (t: Knex.CreateTableBuilder) => void) {
        sql.push(...pg.schema.createTable(name, build).toSQL().map((s) => s.sql));
        return Promise.resolve();
      },
      alterTable(name: string, build: (t: Knex.AlterTableBuilder) => void) {
        sql.push(...pg.schema.alterTable(name, build).toSQL().map((s) => s.sql));
        return Promise.resolve();
      },
    },
  };
  for (const m of migrations) await m.up(recorder as unknown as Knex);
  const ddl = sql.join('\n');
  assert.match(ddl, /"id" serial primary key/);
  assert.match(ddl, /"duration_s" double precision/);
  assert.match(ddl, /"samples" bigint/);
  assert.match(ddl, /foreign key \("stream_sid"\) references "streams"/);
  assert.doesNotMatch(ddl, /autoincrement|`/);
});
