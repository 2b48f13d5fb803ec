import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import knexFactory, { type Knex } from 'knex';
import { openStore } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations.js';
import { aCall, aStream, tempDir, tempStore } from './helpers.js';

test('openStore creates parent folders and the schema', async (t) => {
  const { store, path } = await tempStore(t);
  assert.ok(existsSync(path));
  for (const table of ['calls', 'streams', 'captures', 'settings']) {
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

test('migrations run once; reopening keeps data and adds no migration rows', async (t) => {
  const path = join(tempDir(t), 'db', 'callvault.sqlite');
  const first = await openStore({ databasePath: path });
  await first.calls.upsert(aCall());
  await first.settings.set('secret', 's1');
  await first.close();

  const again = await openStore({ databasePath: path });
  try {
    const rows = (await again.knex('knex_migrations').select('name')) as { name: string }[];
    assert.deepEqual(
      rows.map((r) => r.name),
      migrations.map((m) => m.name),
    );
    assert.deepEqual(rows.filter((r) => r.name === '001_capture').length, 1);
    assert.equal((await again.calls.get(aCall().callSid))?.direction, 'inbound');
    assert.equal(await again.settings.get('secret'), 's1');
  } finally {
    await again.close();
  }
});

test('close is idempotent', async (t) => {
  const { store } = await tempStore(t);
  await Promise.all([store.close(), store.close()]);
  await store.close();
});

test('foreign keys are enforced', async (t) => {
  const { store } = await tempStore(t);
  await assert.rejects(store.streams.insert(aStream({ callSid: 'CA-missing' })), /FOREIGN KEY/);
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
    /FOREIGN KEY/,
  );
  assert.deepEqual(await store.captures.listByCall('CA-missing'), []);
});

test('CHECK constraints reject values outside the enums', async (t) => {
  const { store } = await tempStore(t);
  await assert.rejects(
    store.calls.upsert(aCall({ direction: 'sideways' as 'inbound' })),
    /CHECK constraint/,
  );
  await store.calls.upsert(aCall());
  await assert.rejects(
    store.streams.insert(aStream({ state: 'paused' as 'open' })),
    /CHECK constraint/,
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
