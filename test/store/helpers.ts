import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openStore, type Store, type StoreOptions } from '../../src/store/db.js';
import { createSchema, type Engine } from '../helpers/postgres.js';
import type { NewCall } from '../../src/store/calls.js';
import type { NewStream } from '../../src/store/streams.js';

/** A fresh folder under the OS temp dir, removed when the test ends (after-hooks run FIFO). */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TempStore {
  store: Store;
  engine: Engine;
  /** A fresh folder (the SQLite file's, under `nested/`). */
  dir: string;
  /** What opened the store: open another on the same database with `openStore(options)`. */
  options: StoreOptions;
}

/**
 * A real store on a fresh database: a SQLite file in a fresh folder, or a new Postgres database
 * (see test/helpers/postgres.ts). Stores opened with `another()` close first, then this one, then
 * the database and folder go.
 */
export async function tempStore(t: TestContext, engine: Engine = 'sqlite'): Promise<TempStore & { another(): Promise<Store> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cv-'));
  const db = engine === 'postgres' ? await createSchema().catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }) : undefined;
  // A nested path also checks that openStore creates parent folders.
  const options: StoreOptions = db ? { databaseUrl: db.url } : { databasePath: join(dir, 'nested', 'callvault.sqlite') };
  const stores: Store[] = [];
  t.after(async () => {
    for (const s of stores.reverse()) await s.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const another = async () => {
    const s = await openStore(options);
    stores.push(s);
    return s;
  };
  const store = await another();
  return { store, engine, dir, options, another };
}

/** The constraint violations as each engine words them. */
export const VIOLATION = {
  foreignKey: /FOREIGN KEY constraint failed|violates foreign key constraint/,
  check: /CHECK constraint failed|violates check constraint/,
  unique: /UNIQUE constraint failed|duplicate key value violates unique constraint/,
};

export function aCall(over: Partial<NewCall> = {}): NewCall {
  return {
    callSid: 'CA00000000000000000000000000000001',
    accountSid: 'AC00000000000000000000000000000001',
    direction: 'inbound',
    fromNumber: '+15550100001',
    toNumber: '+15550100002',
    agentTrack: 'outbound',
    customerTrack: 'inbound',
    status: 'ringing',
    at: '2025-01-02T03:04:05.006Z',
    ...over,
  };
}

export function aStream(over: Partial<NewStream> = {}): NewStream {
  return {
    streamSid: 'MZ00000000000000000000000000000001',
    callSid: 'CA00000000000000000000000000000001',
    accountSid: 'AC00000000000000000000000000000001',
    tracks: ['inbound', 'outbound'],
    instanceId: 'gw-a',
    startedAt: '2025-01-02T03:04:06.000Z',
    ...over,
  };
}
