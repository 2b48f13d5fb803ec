import type { Knex } from 'knex';
import type { Provider } from '../ids.js';
import { createCallQueries, type CallQueries } from './call-queries.js';
import { nowIso } from './time.js';

/** `inbound` = from the phone network to an agent; `outbound` = placed by an agent's browser. */
export type CallDirection = 'inbound' | 'outbound';
/** Twilio's media track names; which one is the agent depends on the direction. */
export type TrackName = 'inbound' | 'outbound';

export interface CallRow {
  callSid: string;
  provider: Provider;
  /** the provider's own id when it is not the call_sid (Vonage conversation, ElevenLabs conversation) */
  providerCallId: string | null;
  accountSid: string | null;
  direction: CallDirection;
  fromNumber: string | null;
  toNumber: string | null;
  agentTrack: TrackName;
  customerTrack: TrackName;
  /** Twilio CallStatus as last seen, e.g. `ringing`, `in-progress`, `completed`. */
  status: string;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
}

export interface NewCall {
  callSid: string;
  /** default `twilio` */
  provider?: Provider;
  providerCallId?: string | null;
  accountSid?: string | null;
  direction: CallDirection;
  fromNumber?: string | null;
  toNumber?: string | null;
  agentTrack: TrackName;
  customerTrack: TrackName;
  status: string;
  /** ISO-8601 UTC; defaults to now. Used as created_at on insert, updated_at always. */
  at?: string;
}

export type CallDetails = Partial<Pick<CallRow, 'direction' | 'fromNumber' | 'toNumber' | 'agentTrack' | 'customerTrack' | 'status' | 'endedAt'>>;

export interface ListOptions {
  /** Default 50. */
  limit?: number;
  /** Default 0. */
  offset?: number;
}

/** The queries across a call's tables (search, summaries' facts, delete) live in call-queries.ts. */
export interface CallsRepo extends CallQueries {
  /** Inserts, or on a repeat only refreshes status and updated_at. Returns the stored row. */
  upsert(call: NewCall): Promise<CallRow>;
  get(callSid: string): Promise<CallRow | undefined>;
  /** The call a provider knows by this id (e.g. a Vonage conversation_uuid). */
  findByProviderId(provider: Provider, providerCallId: string): Promise<CallRow | undefined>;
  /** Records the provider's id once the provider has answered with it. */
  setProviderCallId(callSid: string, providerCallId: string): Promise<void>;
  /** Inserts unless the call exists; never touches an existing row. True when inserted. For
   *  provider webhooks that may arrive in any order (ElevenLabs audio before its transcript). */
  insertIfAbsent(call: NewCall): Promise<boolean>;
  /** Fills in what a later provider event knows about the call; only the given fields change. */
  setDetails(callSid: string, details: CallDetails): Promise<boolean>;
  /** Makes sure a row exists for a call first seen on its media stream (its voice webhook was
   *  not recorded): such a call is taken as one from the phone network. Existing rows stay. */
  ensure(callSid: string, accountSid: string | null): Promise<void>;
  /** Returns false when no such call exists. */
  setStatus(callSid: string, status: string, endedAt?: string): Promise<boolean>;
  /** Newest first. */
  list(opts?: ListOptions): Promise<CallRow[]>;
}

interface DbCall {
  call_sid: string;
  provider: string;
  provider_call_id: string | null;
  account_sid: string | null;
  direction: string;
  from_number: string | null;
  to_number: string | null;
  agent_track: string;
  customer_track: string;
  status: string;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
}

// The CHECK constraints in 001_capture guarantee the enum columns, so the casts are sound.
function toRow(r: DbCall): CallRow {
  return {
    callSid: r.call_sid,
    provider: r.provider as Provider,
    providerCallId: r.provider_call_id,
    accountSid: r.account_sid,
    direction: r.direction as CallDirection,
    fromNumber: r.from_number,
    toNumber: r.to_number,
    agentTrack: r.agent_track as TrackName,
    customerTrack: r.customer_track as TrackName,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    endedAt: r.ended_at,
  };
}

export function createCallsRepo(knex: Knex): CallsRepo {
  const table = () => knex<DbCall>('calls');

  return {
    ...createCallQueries(knex, toRow),

    async upsert(call) {
      const at = call.at ?? nowIso();
      const rows: DbCall[] = await table()
        .insert({
          call_sid: call.callSid,
          provider: call.provider ?? 'twilio',
          provider_call_id: call.providerCallId ?? null,
          account_sid: call.accountSid ?? null,
          direction: call.direction,
          from_number: call.fromNumber ?? null,
          to_number: call.toNumber ?? null,
          agent_track: call.agentTrack,
          customer_track: call.customerTrack,
          status: call.status,
          created_at: at,
          updated_at: at,
          ended_at: null,
        })
        // Twilio retries webhooks; a retry (or a later status callback) must not rewrite who
        // is who, so only the status moves.
        .onConflict('call_sid')
        .merge(['status', 'updated_at'])
        .returning('*');
      const row = rows[0];
      if (!row) throw new Error(`upsert of call ${call.callSid} returned no row`);
      return toRow(row);
    },

    async insertIfAbsent(call) {
      const at = call.at ?? nowIso();
      const inserted = await table()
        .insert({
          call_sid: call.callSid, provider: call.provider ?? 'twilio', provider_call_id: call.providerCallId ?? null,
          account_sid: call.accountSid ?? null, direction: call.direction, from_number: call.fromNumber ?? null,
          to_number: call.toNumber ?? null, agent_track: call.agentTrack, customer_track: call.customerTrack,
          status: call.status, created_at: at, updated_at: at, ended_at: null,
        })
        .onConflict('call_sid')
        .ignore()
        .returning('call_sid');
      return inserted.length > 0;
    },

    async setDetails(callSid, d) {
      const columns: Array<[keyof CallDetails, keyof DbCall]> = [
        ['direction', 'direction'], ['fromNumber', 'from_number'], ['toNumber', 'to_number'], ['agentTrack', 'agent_track'],
        ['customerTrack', 'customer_track'], ['status', 'status'], ['endedAt', 'ended_at'],
      ];
      const patch: Partial<DbCall> = { updated_at: nowIso() };
      for (const [k, col] of columns) if (d[k] !== undefined) Object.assign(patch, { [col]: d[k] });
      return (await table().where({ call_sid: callSid }).update(patch)) > 0;
    },

    async ensure(callSid, accountSid) {
      const at = nowIso();
      await table()
        .insert({
          call_sid: callSid,
          provider: 'twilio',
          provider_call_id: null,
          account_sid: accountSid,
          direction: 'inbound',
          from_number: null,
          to_number: null,
          agent_track: 'outbound',
          customer_track: 'inbound',
          status: 'in-progress',
          created_at: at,
          updated_at: at,
          ended_at: null,
        })
        .onConflict('call_sid')
        .ignore();
    },

    async get(callSid) {
      const r = await table().where({ call_sid: callSid }).first();
      return r ? toRow(r) : undefined;
    },

    async findByProviderId(provider, providerCallId) {
      const r = await table().where({ provider, provider_call_id: providerCallId }).first();
      return r ? toRow(r) : undefined;
    },

    async setProviderCallId(callSid, providerCallId) {
      await table().where({ call_sid: callSid }).update({ provider_call_id: providerCallId, updated_at: nowIso() });
    },

    async setStatus(callSid, status, endedAt) {
      const patch: Partial<DbCall> = { status, updated_at: nowIso() };
      if (endedAt !== undefined) patch.ended_at = endedAt;
      const n = await table().where({ call_sid: callSid }).update(patch);
      return n > 0;
    },

    async list(opts = {}) {
      const rows = await table()
        .select('*')
        // call_sid breaks ties so pages never overlap when two calls share a millisecond.
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'call_sid', order: 'desc' }])
        .limit(opts.limit ?? 50)
        .offset(opts.offset ?? 0);
      return rows.map(toRow);
    },
  };
}
