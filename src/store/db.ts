import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Logger } from 'pino';
import { createCallsRepo, type CallsRepo } from './calls.js';
import { createCapturesRepo, type CapturesRepo } from './captures.js';
import { createJobsRepo, type JobsRepo } from './jobs.js';
import { migrationSource } from './migrations.js';
import { createProviderEventsRepo, type ProviderEventsRepo } from './provider-events.js';
import { createReconciliationsRepo, type ReconciliationsRepo } from './reconciliations.js';
import { createRecordingsRepo, type RecordingsRepo } from './recordings.js';
import { createTranscriptsRepo, type TranscriptsRepo } from './transcripts.js';
import { createSettingsRepo, type SettingsRepo } from './settings.js';
import { createStreamsRepo, type StreamsRepo } from './streams.js';

export interface StoreOptions {
  /** SQLite file; its parent folders are created. Ignored when databaseUrl is set. */
  databasePath?: string;
  /** postgres://…: the store lives in that Postgres database instead (several gateways can share it). */
  databaseUrl?: string;
  /** knex's own warnings (pool errors, deprecations) go here instead of the console */
  log?: Pick<Logger, 'warn' | 'error' | 'debug'>;
}

export type Engine = 'sqlite' | 'postgres';

export interface Store {
  engine: Engine;
  /** For transactions across repositories and for tests; prefer the repositories. */
  knex: Knex;
  calls: CallsRepo;
  streams: StreamsRepo;
  captures: CapturesRepo;
  settings: SettingsRepo;
  jobs: JobsRepo;
  recordings: RecordingsRepo;
  reconciliations: ReconciliationsRepo;
  transcripts: TranscriptsRepo;
  providerEvents: ProviderEventsRepo;
  /** Idempotent: later calls wait for the first one. */
  close(): Promise<void>;
}

/**
 * Per-connection settings, applied by the pool so every connection has them:
 * - WAL lets readers (API, other tools) run while the capture path writes;
 * - busy_timeout waits for a lock instead of failing with SQLITE_BUSY at once;
 * - foreign_keys is off by default in SQLite and per connection;
 * - synchronous=NORMAL is durable across process crashes in WAL mode (only a power loss can
 *   lose the last commits) and avoids an fsync per commit on the live path.
 */
const PRAGMAS = [
  'PRAGMA journal_mode=WAL',
  'PRAGMA busy_timeout=5000',
  'PRAGMA foreign_keys=ON',
  'PRAGMA synchronous=NORMAL',
].join(';');

/** The slice of node-sqlite3's Database the hook uses. */
interface SqliteConnection {
  exec(sql: string, callback: (err: Error | null) => void): void;
}

function openSqlite(databasePath: string, log: StoreOptions['log']): Knex {
  mkdirSync(dirname(databasePath), { recursive: true });
  return knexFactory({
    client: 'sqlite3',
    connection: { filename: databasePath },
    useNullAsDefault: true,
    log: knexLog(log),
    pool: {
      // One connection: node-sqlite3 serializes on it anyway, and a single writer means a
      // knex transaction can never wait on another connection's lock.
      min: 1,
      max: 1,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: SqliteConnection) => void) {
        conn.exec(PRAGMAS, (err) => done(err, conn));
      },
    },
  });
}

/** Connections per gateway process: live capture, API and up to JOB_CONCURRENCY jobs share them. */
export const PG_POOL = { min: 0, max: 10 } as const;

/** knex's logger hooks, routed to pino so they carry the gateway's fields and redaction. */
function knexLog(log: StoreOptions['log']): Knex.Config['log'] {
  if (!log) return undefined;
  return {
    warn: (message: unknown) => log.warn({ knex: message }, 'database warning'),
    error: (message: unknown) => log.error({ knex: message }, 'database error'),
    deprecate: (method: string, alternative: string) => log.warn({ method, alternative }, 'database deprecation'),
    debug: (message: unknown) => log.debug({ knex: message }, 'database debug'),
  };
}

function openPostgres(databaseUrl: string, log: StoreOptions['log']): Knex {
  return knexFactory({
    client: 'pg',
    // Settings in the URL (e.g. ?application_name=, ?sslmode=) win over these defaults.
    connection: { connectionString: databaseUrl, application_name: 'callvault' },
    // min 0: idle connections are closed (tarn's 30 s idle timeout), so a quiet gateway holds none.
    pool: { ...PG_POOL },
    acquireConnectionTimeout: 30_000,
    log: knexLog(log),
  });
}

/** Any constant, the same in every process: the key of the advisory lock around migrations. */
const MIGRATION_LOCK = 0x63766d67; // 'cvmg'

/**
 * Gateways starting at once on one Postgres database must not migrate side by side. knex's own
 * lock (a row in knex_migrations_lock, taken in the migrations' transaction) does not cover
 * creating its bookkeeping tables, and a second migrator that finds it taken fails instead of
 * waiting. So the whole run is serialized by a transaction-scoped advisory lock, held on a
 * connection of its own while the migrator works on others; it is released when that
 * transaction ends, also when the process dies. Whoever comes second finds nothing left to do.
 */
async function migrate(knex: Knex, engine: Engine): Promise<void> {
  if (engine === 'sqlite') {
    await knex.migrate.latest({ migrationSource });
    return;
  }
  await knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    await knex.migrate.latest({ migrationSource });
  });
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const engine: Engine = opts.databaseUrl !== undefined ? 'postgres' : 'sqlite';
  let knex: Knex;
  if (opts.databaseUrl !== undefined) knex = openPostgres(opts.databaseUrl, opts.log);
  else if (opts.databasePath !== undefined) knex = openSqlite(opts.databasePath, opts.log);
  else throw new Error('openStore needs a databasePath (SQLite) or a databaseUrl (Postgres)');

  try {
    await migrate(knex, engine);
  } catch (err) {
    await knex.destroy();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    engine,
    knex,
    calls: createCallsRepo(knex),
    streams: createStreamsRepo(knex),
    captures: createCapturesRepo(knex),
    settings: createSettingsRepo(knex),
    jobs: createJobsRepo(knex),
    recordings: createRecordingsRepo(knex),
    reconciliations: createReconciliationsRepo(knex),
    transcripts: createTranscriptsRepo(knex),
    providerEvents: createProviderEventsRepo(knex),
    close() {
      closing ??= knex.destroy();
      return closing;
    },
  };
}
