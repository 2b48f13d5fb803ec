import type { Knex } from 'knex';
import { fromJson } from './json.js';
import { nowIso } from './time.js';

export interface ReconciliationRow {
  callSid: string;
  verdict: string;
  streamSid: string | null;
  recordingSid: string | null;
  report: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface ReconciliationsRepo {
  /** One row per call: a later reconciliation (say, once the cloud copy arrives) replaces it. */
  save(row: { callSid: string; verdict: string; streamSid: string | null; recordingSid: string | null; report: unknown }): Promise<void>;
  get(callSid: string): Promise<ReconciliationRow | undefined>;
}

interface Db { call_sid: string; verdict: string; stream_sid: string | null; recording_sid: string | null; report: string; created_at: string; updated_at: string }

export function createReconciliationsRepo(knex: Knex): ReconciliationsRepo {
  return {
    async save(r) {
      const at = nowIso();
      await knex('reconciliations')
        .insert({ call_sid: r.callSid, verdict: r.verdict, stream_sid: r.streamSid, recording_sid: r.recordingSid, report: JSON.stringify(r.report), created_at: at, updated_at: at })
        .onConflict('call_sid')
        .merge(['verdict', 'stream_sid', 'recording_sid', 'report', 'updated_at']);
    },
    async get(callSid) {
      const r = await knex<Db>('reconciliations').where({ call_sid: callSid }).first();
      return r ? {
        callSid: r.call_sid, verdict: r.verdict, streamSid: r.stream_sid, recordingSid: r.recording_sid,
        report: fromJson<Record<string, unknown>>(r.report) ?? {}, createdAt: r.created_at, updatedAt: r.updated_at,
      } : undefined;
    },
  };
}
