import type { Knex } from 'knex';
import { fromJson, toJson } from './json.js';
import { nowIso } from './time.js';

export type StreamState = 'open' | 'closed' | 'interrupted';
/** Counters such as `{ "malformed_json": 0, "late_frames": 3 }`. */
export type StreamEvents = Record<string, number>;

export interface StreamRow {
  streamSid: string;
  callSid: string;
  accountSid: string | null;
  /** Track names from the `start` message, normally `['inbound', 'outbound']`. */
  tracks: string[];
  /** The gateway instance that owns the live files; crash repair only touches its own. */
  instanceId: string;
  state: StreamState;
  startedAt: string;
  endedAt: string | null;
  closeReason: string | null;
  events: StreamEvents | null;
  /** when its files were verified in the object store (at once with the local store) */
  storedAt: string | null;
}

export interface NewStream {
  streamSid: string;
  callSid: string;
  accountSid?: string | null;
  tracks: readonly string[];
  instanceId: string;
  /** Default `open`. */
  state?: StreamState;
  /** ISO-8601 UTC; defaults to now. */
  startedAt?: string;
}

export interface CloseStream {
  state: Exclude<StreamState, 'open'>;
  /** ISO-8601 UTC; defaults to now. */
  endedAt?: string;
  closeReason: string | null;
  /** omitted: keep the counters already recorded */
  events?: StreamEvents | null;
}

export interface StreamsRepo {
  insert(row: NewStream): Promise<StreamRow>;
  get(streamSid: string): Promise<StreamRow | undefined>;
  /** Only an open stream closes, so the first close (or crash repair) wins. Returns false when
   *  no open stream has this SID. */
  close(streamSid: string, close: CloseStream): Promise<boolean>;
  /** Replaces the event counters (malformed frames and the like) of a stream. */
  setEvents(streamSid: string, events: StreamEvents): Promise<void>;
  /** Oldest first. */
  listByCall(callSid: string): Promise<StreamRow[]>;
  /** Streams this instance still has open: after a crash, the ones to repair. */
  listOpen(instanceId: string): Promise<StreamRow[]>;
  markStored(streamSid: string): Promise<void>;
  /** Finished streams of this instance whose files are not yet in the object store. */
  listUnstored(instanceId: string): Promise<StreamRow[]>;
}

interface DbStream {
  stream_sid: string;
  call_sid: string;
  account_sid: string | null;
  tracks: string;
  instance_id: string;
  state: string;
  started_at: string;
  ended_at: string | null;
  close_reason: string | null;
  events: string | null;
  stored_at: string | null;
}

function toRow(r: DbStream): StreamRow {
  return {
    streamSid: r.stream_sid,
    callSid: r.call_sid,
    accountSid: r.account_sid,
    tracks: fromJson<string[]>(r.tracks) ?? [],
    instanceId: r.instance_id,
    state: r.state as StreamState, // guarded by a CHECK constraint
    startedAt: r.started_at,
    endedAt: r.ended_at,
    closeReason: r.close_reason,
    events: fromJson<StreamEvents>(r.events),
    storedAt: r.stored_at ?? null,
  };
}

const ORDER = [
  { column: 'started_at', order: 'asc' },
  { column: 'stream_sid', order: 'asc' },
] as const;

export function createStreamsRepo(knex: Knex): StreamsRepo {
  const table = () => knex<DbStream>('streams');

  return {
    async insert(row) {
      const db: DbStream = {
        stream_sid: row.streamSid,
        call_sid: row.callSid,
        account_sid: row.accountSid ?? null,
        tracks: JSON.stringify(row.tracks),
        instance_id: row.instanceId,
        state: row.state ?? 'open',
        started_at: row.startedAt ?? nowIso(),
        ended_at: null,
        close_reason: null,
        events: null,
        stored_at: null,
      };
      await table().insert(db);
      return toRow(db);
    },

    async get(streamSid) {
      const r = await table().where({ stream_sid: streamSid }).first();
      return r ? toRow(r) : undefined;
    },

    async close(streamSid, c) {
      const n = await table()
        .where({ stream_sid: streamSid, state: 'open' })
        .update({
          state: c.state,
          ended_at: c.endedAt ?? nowIso(),
          close_reason: c.closeReason,
          ...(c.events !== undefined ? { events: toJson(c.events) } : {}),
        });
      return n > 0;
    },

    async setEvents(streamSid, events) {
      await table().where({ stream_sid: streamSid }).update({ events: toJson(events) });
    },

    async listByCall(callSid) {
      const rows = await table().where({ call_sid: callSid }).orderBy([...ORDER]);
      return rows.map(toRow);
    },

    async markStored(streamSid) {
      await table().where({ stream_sid: streamSid }).update({ stored_at: nowIso() });
    },

    async listUnstored(instanceId) {
      const rows = await table()
        .where({ instance_id: instanceId, stored_at: null })
        .whereNot({ state: 'open' })
        .orderBy([...ORDER]);
      return rows.map(toRow);
    },

    async listOpen(instanceId) {
      const rows = await table()
        .where({ instance_id: instanceId, state: 'open' })
        .orderBy([...ORDER]);
      return rows.map(toRow);
    },
  };
}
