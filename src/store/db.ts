import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knexFactory, { type Knex } from 'knex';
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
  /** SQLite file; its parent folders are created. */
  databasePath: string;
}

export interface Store {
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

export async function openStore(opts: StoreOptions): Promise<Store> {
  mkdirSync(dirname(opts.databasePath), { recursive: true });

  const knex = knexFactory({
    client: 'sqlite3',
    connection: { filename: opts.databasePath },
    useNullAsDefault: true,
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

  try {
    await knex.migrate.latest({ migrationSource });
  } catch (err) {
    await knex.destroy();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
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
