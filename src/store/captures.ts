import type { Knex } from 'knex';
import type { TrackName } from './calls.js';
import { fromJson, toJson, toNumber } from './json.js';
import { nowIso } from './time.js';

/** `track` = one mono file per Twilio track; `stereo` = both tracks, inbound on the left. */
export type CaptureKind = 'track' | 'stereo';
export type CaptureState = 'recording' | 'complete' | 'interrupted';
export type CaptureStats = Record<string, unknown>;

export interface CaptureRow {
  id: number;
  streamSid: string;
  callSid: string;
  kind: CaptureKind;
  /** null for stereo captures. */
  track: TrackName | null;
  sampleRate: number;
  channels: number;
  /** Relative to RECORDINGS_DIR, e.g. `CA…/MZ….inbound.8k.wav`. */
  path: string;
  state: CaptureState;
  /** Sample frames written. */
  samples: number;
  durationS: number;
  stats: CaptureStats | null;
  instanceId: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewCapture {
  streamSid: string;
  callSid: string;
  kind: CaptureKind;
  track: TrackName | null;
  sampleRate: number;
  channels: number;
  path: string;
  instanceId: string;
  /** Default `recording`. */
  state?: CaptureState;
  /** ISO-8601 UTC; defaults to now. */
  createdAt?: string;
}

export interface FinishCapture {
  state: Exclude<CaptureState, 'recording'>;
  samples: number;
  durationS: number;
  stats: CaptureStats | null;
}

export interface CapturesRepo {
  /** All or nothing, in one transaction; returns the rows with their ids, in input order. */
  insertMany(rows: readonly NewCapture[]): Promise<CaptureRow[]>;
  /** Returns false when no such capture exists. */
  finish(id: number, result: FinishCapture): Promise<boolean>;
  /** In insertion order. */
  listByStream(streamSid: string): Promise<CaptureRow[]>;
  /** In insertion order. */
  listByCall(callSid: string): Promise<CaptureRow[]>;
  /** This instance's captures still marked recording: after a crash, the files to repair. */
  listRecording(instanceId: string): Promise<CaptureRow[]>;
}

interface DbCapture {
  id: number;
  stream_sid: string;
  call_sid: string;
  kind: string;
  track: string | null;
  sample_rate: number;
  channels: number;
  path: string;
  state: string;
  samples: number | string; // string from Postgres bigint
  duration_s: number;
  stats: string | null;
  instance_id: string;
  created_at: string;
  updated_at: string;
}

// Enum columns are guarded by CHECK constraints, so the casts are sound.
function toRow(r: DbCapture): CaptureRow {
  return {
    id: r.id,
    streamSid: r.stream_sid,
    callSid: r.call_sid,
    kind: r.kind as CaptureKind,
    track: r.track as TrackName | null,
    sampleRate: r.sample_rate,
    channels: r.channels,
    path: r.path,
    state: r.state as CaptureState,
    samples: toNumber(r.samples),
    durationS: r.duration_s,
    stats: fromJson<CaptureStats>(r.stats),
    instanceId: r.instance_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function createCapturesRepo(knex: Knex): CapturesRepo {
  const table = (db: Knex = knex) => db<DbCapture>('captures');

  return {
    async insertMany(rows) {
      if (rows.length === 0) return [];
      const at = nowIso();
      return knex.transaction(async (trx) => {
        const out: CaptureRow[] = [];
        // One statement per row: RETURNING order of a multi-row insert is not guaranteed, and
        // a session creates only a handful of files.
        for (const row of rows) {
          const created = row.createdAt ?? at;
          const inserted: DbCapture[] = await table(trx)
            .insert({
              stream_sid: row.streamSid,
              call_sid: row.callSid,
              kind: row.kind,
              track: row.track,
              sample_rate: row.sampleRate,
              channels: row.channels,
              path: row.path,
              state: row.state ?? 'recording',
              samples: 0,
              duration_s: 0,
              stats: null,
              instance_id: row.instanceId,
              created_at: created,
              updated_at: created,
            })
            .returning('*');
          const first = inserted[0];
          if (!first) throw new Error(`insert of capture ${row.path} returned no row`);
          out.push(toRow(first));
        }
        return out;
      });
    },

    async finish(id, result) {
      const n = await table()
        .where({ id })
        .update({
          state: result.state,
          samples: result.samples,
          duration_s: result.durationS,
          stats: toJson(result.stats),
          updated_at: nowIso(),
        });
      return n > 0;
    },

    async listByStream(streamSid) {
      return (await table().where({ stream_sid: streamSid }).orderBy('id')).map(toRow);
    },

    async listByCall(callSid) {
      return (await table().where({ call_sid: callSid }).orderBy('id')).map(toRow);
    },

    async listRecording(instanceId) {
      const rows = await table().where({ instance_id: instanceId, state: 'recording' }).orderBy('id');
      return rows.map(toRow);
    },
  };
}
