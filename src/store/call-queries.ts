// Read and delete queries that span a call's tables: the API's filtered list, the facts its
// summaries are derived from (batched per page, not one query per call), the jobs whose keys
// name a call, and the removal of a call with every row that belongs to it.
import type { Knex } from 'knex';
import type { CallRow } from './calls.js';
import { isPostgres } from './engine.js';
import { fromJson, toNumber } from './json.js';

export interface CallSearch {
  /** Default 50. */
  limit?: number;
  /** Default 0. */
  offset?: number;
  /** ISO-8601 UTC, inclusive. */
  createdFrom?: string;
  /** ISO-8601 UTC, exclusive. */
  createdBefore?: string;
  status?: string;
  direction?: string;
  provider?: string;
}

/** What a call's summary is derived from, besides its own row. */
export interface CallFacts {
  recordings: Array<{ state: string; failureCode: string | null; failureReason: string | null; durationS: number | null }>;
  verdict: string | null;
  /** the reconciled timeline's length, from the stored report */
  reconciledS: number | null;
  /** the longest track capture */
  capturedS: number | null;
}

export type DeleteOutcome =
  | { outcome: 'not_found' }
  | { outcome: 'busy'; reason: string }
  | { outcome: 'deleted'; rows: Record<string, number> };

export interface CallQueries {
  /** Newest first (call_sid breaks ties), with the total matching the filters. */
  search(q: CallSearch): Promise<{ rows: CallRow[]; total: number }>;
  facts(callSids: readonly string[]): Promise<Map<string, CallFacts>>;
  /** Ids of the jobs whose key has the call's SID or one of its recordings' as a `:` segment. */
  relatedJobIds(callSid: string): Promise<number[]>;
  /**
   * One transaction: refuses while a stream of the call is open or one of its jobs runs, else
   * removes the call and its streams, captures, recordings, recording events,
   * reconciliation and jobs. Files are the caller's business.
   */
  deleteCall(callSid: string): Promise<DeleteOutcome>;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/** `lock` (Postgres, in a transaction): the rows stay locked until it ends, so no claim takes one. */
async function jobIdsNaming(db: Knex | Knex.Transaction, callSid: string, lock = false): Promise<Array<{ id: number; state: string }>> {
  const sids = new Set<string>([callSid, ...(await db('recordings').where({ call_sid: callSid }).pluck('recording_sid'))]);
  const query = db('jobs')
    .select('id', 'key', 'state')
    .where((w) => {
      for (const sid of sids) void w.orWhereRaw('?? like ? escape ?', ['key', `%${escapeLike(sid)}%`, '\\']);
    })
    .orderBy('id');
  const rows: Array<{ id: number; key: string; state: string }> = await (lock ? query.forUpdate() : query);
  // LIKE found candidates (case-insensitively on SQLite); a whole key segment must match exactly.
  return rows.filter((r) => r.key.split(':').some((seg) => sids.has(seg))).map(({ id, state }) => ({ id, state }));
}

function filtered(knex: Knex, q: CallSearch): Knex.QueryBuilder {
  const b = knex('calls');
  if (q.createdFrom !== undefined) void b.where('created_at', '>=', q.createdFrom);
  if (q.createdBefore !== undefined) void b.where('created_at', '<', q.createdBefore);
  if (q.status !== undefined) void b.where('status', q.status);
  if (q.direction !== undefined) void b.where('direction', q.direction);
  if (q.provider !== undefined) void b.where('provider', q.provider);
  return b;
}

function emptyFacts(): CallFacts {
  return { recordings: [], verdict: null, reconciledS: null, capturedS: null };
}

function reportDuration(report: string): number | null {
  const d = fromJson<{ timeline?: { duration_s?: unknown } }>(report)?.timeline?.duration_s;
  return typeof d === 'number' ? d : null;
}

async function deleteRows(trx: Knex.Transaction, callSid: string, jobIds: number[]): Promise<Record<string, number>> {
  const recordingSids: string[] = await trx('recordings').where({ call_sid: callSid }).pluck('recording_sid');
  const streamSids: string[] = await trx('streams').where({ call_sid: callSid }).pluck('stream_sid');
  // Children before parents: the foreign keys are enforced.
  const rows: Record<string, number> = {};
  rows.captures = await trx('captures').where({ call_sid: callSid }).orWhereIn('stream_sid', streamSids).delete();
  rows.streams = await trx('streams').where({ call_sid: callSid }).delete();
  rows.recording_events = await trx('recording_events').whereIn('recording_sid', recordingSids).delete();
  rows.recordings = await trx('recordings').where({ call_sid: callSid }).delete();
  rows.reconciliations = await trx('reconciliations').where({ call_sid: callSid }).delete();
  rows.transcript_lines = await trx('transcript_lines').where({ call_sid: callSid }).delete();
  rows.recording_transcripts = await trx('recording_transcripts').whereIn('recording_sid', recordingSids).delete();
  rows.jobs = jobIds.length > 0 ? await trx('jobs').whereIn('id', jobIds).delete() : 0;
  rows.provider_events = await trx('provider_events').where({ call_sid: callSid }).delete();
  rows.calls = await trx('calls').where({ call_sid: callSid }).delete();
  return rows;
}

/** `toRow` is the calls repository's own row mapping, so both read a call the same way. */
export function createCallQueries<Db>(knex: Knex, toRow: (r: Db) => CallRow): CallQueries {
  return {
    async search(q) {
      const counted = (await filtered(knex, q).count({ n: '*' }).first()) as { n: number | string } | undefined;
      const rows: Db[] = await filtered(knex, q)
        .select('*')
        // call_sid breaks ties so pages never overlap when two calls share a millisecond.
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'call_sid', order: 'desc' }])
        .limit(q.limit ?? 50)
        .offset(q.offset ?? 0);
      return { rows: rows.map(toRow), total: counted ? toNumber(counted.n) : 0 };
    },

    async facts(callSids) {
      const out = new Map<string, CallFacts>(callSids.map((sid) => [sid, emptyFacts()]));
      if (callSids.length === 0) return out;
      const sids = [...callSids];
      const recordings = await knex('recordings').whereIn('call_sid', sids).orderBy('created_at')
        .select('call_sid', 'state', 'failure_code', 'failure_reason', 'duration_s', 'file_duration_s');
      for (const r of recordings) {
        out.get(r.call_sid)?.recordings.push({
          state: r.state, failureCode: r.failure_code, failureReason: r.failure_reason, durationS: r.file_duration_s ?? r.duration_s,
        });
      }
      for (const r of await knex('reconciliations').whereIn('call_sid', sids).select('call_sid', 'verdict', 'report')) {
        const f = out.get(r.call_sid);
        if (f) Object.assign(f, { verdict: r.verdict, reconciledS: reportDuration(r.report) });
      }
      const captured = await knex('captures').whereIn('call_sid', sids).where({ kind: 'track' })
        .groupBy('call_sid').select('call_sid').max({ d: 'duration_s' });
      for (const r of captured as Array<{ call_sid: string; d: number | null }>) {
        const f = out.get(r.call_sid);
        if (f) f.capturedS = r.d;
      }
      return out;
    },

    async relatedJobIds(callSid) {
      return (await jobIdsNaming(knex, callSid)).map((j) => j.id);
    },

    async deleteCall(callSid) {
      return knex.transaction(async (trx): Promise<DeleteOutcome> => {
        // Checked inside the transaction so a claim or a stream start cannot slip in between:
        // SQLite has one writer at a time; on Postgres (several gateways) the call row and its
        // jobs are locked first (a new stream's foreign key check waits on the call row, a
        // claim skips locked jobs).
        const pg = isPostgres(trx);
        const call = trx('calls').where({ call_sid: callSid }).first();
        if (!(await (pg ? call.forUpdate() : call))) return { outcome: 'not_found' };
        if (await trx('streams').where({ call_sid: callSid, state: 'open' }).first()) {
          return { outcome: 'busy', reason: 'a live capture of this call is still open' };
        }
        const jobs = await jobIdsNaming(trx, callSid, pg);
        if (jobs.some((j) => j.state === 'running')) return { outcome: 'busy', reason: 'a job for this call is running' };
        return { outcome: 'deleted', rows: await deleteRows(trx, callSid, jobs.map((j) => j.id)) };
      });
    },
  };
}
