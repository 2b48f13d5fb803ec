import type { Knex } from 'knex';
import { fromJson, toJson, toNumber } from './json.js';
import { isPostgres } from './engine.js';
import { nowIso } from './time.js';

/**
 * The durable job queue's table, shared by every gateway process on the database. Every state
 * change after a claim is one conditional UPDATE whose WHERE clause restates what the writer
 * believes about the row (state, lease owner), and the affected-row count says whether it won.
 * Claims differ by engine: on Postgres a row lock (`SELECT … FOR UPDATE SKIP LOCKED`, then the
 * UPDATE, in one transaction), on SQLite (one writer at a time anyway) a compare-and-set UPDATE
 * guarded by the attempt count read. Lease times come from each claimer's clock, so gateway
 * hosts must agree (NTP) to well within a lease.
 */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

/** What an API shows of the last failure; never the payload. */
export interface JobErrorInfo {
  code: string;
  message: string;
  retryable: boolean;
  /** ISO-8601 UTC. */
  at: string;
}

export interface JobRow {
  id: number;
  kind: string;
  /** Idempotency key, e.g. `download:RE…`, `sweep:CA…`. */
  key: string;
  payload: unknown;
  state: JobState;
  /** Attempts started, including one running now. */
  attempts: number;
  maxAttempts: number;
  /** Epoch ms: not claimed before this. */
  runAt: number;
  leaseOwner: string | null;
  /** Epoch ms. */
  leaseExpiresAt: number | null;
  lastError: JobErrorInfo | null;
  result: unknown;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface NewJob {
  kind: string;
  key: string;
  payload: unknown;
  /** Epoch ms. */
  runAt: number;
  maxAttempts: number;
}

export interface JobsRepo {
  /** Insert-or-ignore on `key`, then read: racing enqueuers all get the one row. */
  enqueue(job: NewJob): Promise<{ job: JobRow; created: boolean }>;
  get(id: number): Promise<JobRow | undefined>;
  getByKey(key: string): Promise<JobRow | undefined>;
  /** Case-sensitive prefix match, in id order. */
  listByKeyPrefix(prefix: string): Promise<JobRow[]>;
  /**
   * Takes the oldest due queued job of these kinds, or a running one whose lease expired, for
   * `leaseMs`; increments attempts. A job whose lease expired on its last attempt is failed
   * (code `abandoned`) instead of being run again: a job that kills its process must stay bounded.
   */
  claim(instanceId: string, now: number, leaseMs: number, kinds: readonly string[]): Promise<JobRow | undefined>;
  /** False when the lease is no longer ours (taken over, or the job was put back). */
  renew(id: number, instanceId: string, now: number, leaseMs: number): Promise<boolean>;
  succeed(id: number, instanceId: string, result: unknown): Promise<boolean>;
  /** Back to queued, due at `runAt`; the attempt counts. */
  retry(id: number, instanceId: string, runAt: number, error: JobErrorInfo): Promise<boolean>;
  fail(id: number, instanceId: string, error: JobErrorInfo): Promise<boolean>;
  /** Back to queued, due at `now`, and the attempt does not count: the interruption was ours. */
  release(id: number, instanceId: string, now: number): Promise<boolean>;
  /**
   * At startup: this instance's running jobs belong to a dead process. They are queued again,
   * due now (their attempt counts), or failed as `abandoned` if that was their last attempt.
   */
  releaseOwn(instanceId: string, now?: number): Promise<{ requeued: number; failed: number }>;
  countByState(): Promise<Record<JobState, number>>;
  /** Queued and running jobs by kind and state: the queue depth metrics report. */
  countActiveByKind(): Promise<Array<{ kind: string; state: JobState; count: number }>>;
}

interface DbJob {
  id: number;
  kind: string;
  key: string;
  payload: string;
  state: string;
  attempts: number;
  max_attempts: number;
  run_at: number | string; // string from Postgres bigint
  lease_owner: string | null;
  lease_expires_at: number | string | null;
  last_error: string | null;
  result: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

// state is guarded by a CHECK constraint, so the cast is sound.
function toRow(r: DbJob): JobRow {
  return {
    id: r.id,
    kind: r.kind,
    key: r.key,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state as JobState,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAt: toNumber(r.run_at),
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at === null ? null : toNumber(r.lease_expires_at),
    lastError: fromJson<JobErrorInfo>(r.last_error),
    result: fromJson<unknown>(r.result),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

/** Candidates looked at per claim: enough to get past rows that other claimers just took. */
const CLAIM_BATCH = 8;
const CLAIM_ROUNDS = 10;

const abandoned = (at: string): JobErrorInfo => ({
  code: 'abandoned',
  message: 'the last attempt stopped without an outcome (its process died or lost the lease)',
  retryable: true,
  at,
});

/** Due queued rows and lease-expired running rows: the set a claimer may take. */
function claimable(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
  return q.where((w) => {
    void w
      .where((a) => void a.where('state', 'queued').andWhere('run_at', '<=', now))
      .orWhere((b) => void b.where('state', 'running').andWhere('lease_expires_at', '<=', now));
  });
}

export function createJobsRepo(knex: Knex): JobsRepo {
  const postgres = isPostgres(knex);
  const table = () => knex<DbJob>('jobs');
  /** Writes by the lease holder: only while the job is running under its lease. */
  const held = (id: number, instanceId: string) =>
    table().where({ id, lease_owner: instanceId, state: 'running' });

  async function get(id: number): Promise<JobRow | undefined> {
    const r = await table().where({ id }).first();
    return r ? toRow(r) : undefined;
  }

  async function getByKey(key: string): Promise<JobRow | undefined> {
    const r = await table().where({ key }).first();
    return r ? toRow(r) : undefined;
  }

  /** One conditional UPDATE; `attempts` in the guard makes it a compare-and-set on the version read. */
  async function tryClaim(c: DbJob, instanceId: string, now: number, leaseMs: number): Promise<JobRow | undefined> {
    const at = new Date(now).toISOString();
    const guard = claimable(table().where({ id: c.id, attempts: c.attempts }), now);
    if (c.attempts >= c.max_attempts) {
      // Only a running row can get here (queued rows always have attempts left).
      await guard.update({
        state: 'failed', lease_owner: null, lease_expires_at: null, updated_at: at, finished_at: at,
        last_error: toJson(abandoned(at)),
      });
      return undefined;
    }
    const n = await guard.update({
      state: 'running', attempts: c.attempts + 1, lease_owner: instanceId,
      lease_expires_at: now + leaseMs, updated_at: at,
    });
    return n === 1 ? get(c.id) : undefined;
  }

  /**
   * Postgres: the first claimable row nobody else has locked, locked until this transaction
   * ends (`FOR UPDATE SKIP LOCKED`), then leased. Claimers in any number of processes each get
   * a different row and never wait on one another. A row whose expired lease was its last
   * attempt is failed as abandoned, and the next one is looked at.
   */
  async function claimLocked(instanceId: string, now: number, leaseMs: number, kinds: readonly string[]): Promise<JobRow | undefined> {
    return knex.transaction(async (trx) => {
      for (let round = 0; round < CLAIM_ROUNDS; round++) {
        const c: DbJob | undefined = await claimable(trx<DbJob>('jobs').whereIn('kind', [...kinds]), now)
          .orderBy([{ column: 'run_at' }, { column: 'id' }])
          .first()
          .forUpdate()
          .skipLocked();
        if (!c) return undefined;
        const at = new Date(now).toISOString();
        if (c.attempts >= c.max_attempts) {
          await trx('jobs').where({ id: c.id }).update({
            state: 'failed', lease_owner: null, lease_expires_at: null, updated_at: at, finished_at: at,
            last_error: toJson(abandoned(at)),
          });
          continue;
        }
        const rows: DbJob[] = await trx('jobs').where({ id: c.id }).update({
          state: 'running', attempts: c.attempts + 1, lease_owner: instanceId, lease_expires_at: now + leaseMs, updated_at: at,
        }, '*');
        return rows[0] ? toRow(rows[0]) : undefined;
      }
      return undefined;
    });
  }

  return {
    async enqueue(job) {
      const at = nowIso();
      const inserted = await table()
        .insert({
          kind: job.kind, key: job.key, payload: JSON.stringify(job.payload ?? null), state: 'queued',
          attempts: 0, max_attempts: job.maxAttempts, run_at: job.runAt, created_at: at, updated_at: at,
        })
        .onConflict('key')
        .ignore()
        .returning('id');
      const row = await getByKey(job.key);
      if (!row) throw new Error(`job ${job.key} vanished after insert`);
      return { job: row, created: inserted.length > 0 };
    },

    get,
    getByKey,

    async listByKeyPrefix(prefix) {
      // LIKE needs an explicit ESCAPE (SQLite has no default) and is case-insensitive on
      // SQLite, so the exact, case-sensitive test is done here.
      const pattern = `${prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      const rows = await table().whereRaw('?? like ? escape ?', ['key', pattern, '\\']).orderBy('id');
      return rows.filter((r) => r.key.startsWith(prefix)).map(toRow);
    },

    async claim(instanceId, now, leaseMs, kinds) {
      if (kinds.length === 0) return undefined;
      if (postgres) return claimLocked(instanceId, now, leaseMs, kinds);
      // A lost race only means another claimer took that row: look again. Bounded so that heavy
      // contention ends in the caller's poll pause (a back-off) rather than a hot loop.
      for (let round = 0; round < CLAIM_ROUNDS; round++) {
        const candidates = await claimable(table().whereIn('kind', [...kinds]), now)
          .orderBy([{ column: 'run_at' }, { column: 'id' }])
          .limit(CLAIM_BATCH);
        if (candidates.length === 0) return undefined;
        for (const c of candidates) {
          const job = await tryClaim(c, instanceId, now, leaseMs);
          if (job) return job;
        }
      }
      return undefined;
    },

    async renew(id, instanceId, now, leaseMs) {
      const n = await held(id, instanceId).update({ lease_expires_at: now + leaseMs });
      return n === 1;
    },

    async succeed(id, instanceId, result) {
      const at = nowIso();
      const n = await held(id, instanceId).update({
        state: 'succeeded', result: toJson(result), lease_owner: null, lease_expires_at: null,
        updated_at: at, finished_at: at,
      });
      return n === 1;
    },

    async retry(id, instanceId, runAt, error) {
      const n = await held(id, instanceId).update({
        state: 'queued', run_at: runAt, last_error: toJson(error), lease_owner: null,
        lease_expires_at: null, updated_at: nowIso(),
      });
      return n === 1;
    },

    async fail(id, instanceId, error) {
      const at = nowIso();
      const n = await held(id, instanceId).update({
        state: 'failed', last_error: toJson(error), lease_owner: null, lease_expires_at: null,
        updated_at: at, finished_at: at,
      });
      return n === 1;
    },

    async release(id, instanceId, now) {
      const n = await held(id, instanceId).update({
        state: 'queued', run_at: now, attempts: knex.raw('?? - 1', ['attempts']), lease_owner: null,
        lease_expires_at: null, updated_at: new Date(now).toISOString(),
      });
      return n === 1;
    },

    async releaseOwn(instanceId, now = Date.now()) {
      const at = new Date(now).toISOString();
      const own = () => table().where({ lease_owner: instanceId, state: 'running' });
      const failed = await own()
        .whereRaw('?? >= ??', ['attempts', 'max_attempts'])
        .update({
          state: 'failed', lease_owner: null, lease_expires_at: null, updated_at: at, finished_at: at,
          last_error: toJson(abandoned(at)),
        });
      const requeued = await own().update({
        state: 'queued', run_at: now, lease_owner: null, lease_expires_at: null, updated_at: at,
      });
      return { requeued, failed };
    },

    async countByState() {
      const rows = (await table().select('state').count({ n: '*' }).groupBy('state')) as {
        state: string;
        n: number | string;
      }[];
      const out: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
      for (const r of rows) out[r.state as JobState] = toNumber(r.n);
      return out;
    },

    async countActiveByKind() {
      const rows = (await table().select('kind', 'state').count({ n: '*' })
        .whereIn('state', ['queued', 'running']).groupBy('kind', 'state')) as { kind: string; state: string; n: number | string }[];
      return rows.map((r) => ({ kind: r.kind, state: r.state as JobState, count: toNumber(r.n) }));
    },
  };
}
