import type { Knex } from 'knex';
import type { Provider } from '../ids.js';
import { isPostgres } from './engine.js';
import { fromJson, toNumber } from './json.js';
import { nowIso } from './time.js';

export type RecordingState = 'pending' | 'downloading' | 'ready' | 'absent' | 'failed';

export interface RecordingRow {
  recordingSid: string;
  callSid: string;
  accountSid: string | null;
  provider: string;
  providerStatus: string;
  state: RecordingState;
  failureCode: string | null;
  failureReason: string | null;
  /** the provider API path of the recording, without extension */
  mediaPath: string;
  channels: number | null;
  durationS: number | null;
  startTime: string | null;
  source: string | null;
  track: string | null;
  errorCode: string | null;
  filePath: string | null;
  fileBytes: number | null;
  sha256: string | null;
  fileChannels: number | null;
  fileSampleRate: number | null;
  fileDurationS: number | null;
  cloudDeletedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RecordingFacts {
  recordingSid: string;
  /** default `twilio`; only used when the row is created */
  provider?: Provider;
  callSid: string;
  accountSid: string | null;
  providerStatus: string;
  mediaPath: string;
  channels?: number | null;
  durationS?: number | null;
  startTime?: string | null;
  source?: string | null;
  track?: string | null;
  errorCode?: string | null;
}

export interface VerifiedFile {
  filePath: string;
  fileBytes: number;
  sha256: string;
  fileChannels: number;
  fileSampleRate: number;
  fileDurationS: number;
}

export interface RecordingsRepo {
  /** Stores a callback; false when this recording already had an event of this status. */
  addEvent(recordingSid: string, status: string, params: Record<string, string>): Promise<boolean>;
  listEvents(recordingSid: string): Promise<Array<{ status: string; receivedAt: string; params: Record<string, string> }>>;
  /** Inserts, or merges what is new. The provider status only moves forward. */
  upsert(facts: RecordingFacts): Promise<RecordingRow>;
  get(recordingSid: string): Promise<RecordingRow | undefined>;
  listByCall(callSid: string): Promise<RecordingRow[]>;
  setState(recordingSid: string, state: RecordingState, failure?: { code: string; reason: string } | null): Promise<void>;
  markReady(recordingSid: string, file: VerifiedFile): Promise<void>;
  markCloudDeleted(recordingSid: string): Promise<void>;
}

/** Order of Twilio's statuses: a late `in-progress` must not undo `completed`. */
const STATUS_RANK: Record<string, number> = { 'in-progress': 1, paused: 1, stopped: 2, processing: 2, completed: 3, absent: 3, deleted: 4 };
const rank = (s: string) => STATUS_RANK[s] ?? 0;

type DbRecording = Record<string, string | number | null>;

function toRow(r: DbRecording): RecordingRow {
  const num = (k: string) => (r[k] === null || r[k] === undefined ? null : toNumber(r[k] as number | string));
  const str = (k: string) => (r[k] === null || r[k] === undefined ? null : String(r[k]));
  return {
    recordingSid: String(r.recording_sid), callSid: String(r.call_sid), accountSid: str('account_sid'),
    provider: String(r.provider), providerStatus: String(r.provider_status), state: r.state as RecordingState,
    failureCode: str('failure_code'), failureReason: str('failure_reason'), mediaPath: String(r.media_path),
    channels: num('channels'), durationS: num('duration_s'), startTime: str('start_time'), source: str('source'),
    track: str('track'), errorCode: str('error_code'), filePath: str('file_path'), fileBytes: num('file_bytes'),
    sha256: str('sha256'), fileChannels: num('file_channels'), fileSampleRate: num('file_sample_rate'),
    fileDurationS: num('file_duration_s'), cloudDeletedAt: str('cloud_deleted_at'),
    createdAt: String(r.created_at), updatedAt: String(r.updated_at),
  };
}

/** Only fields the provider actually reported overwrite what is stored. */
function known(f: RecordingFacts): DbRecording {
  const out: DbRecording = { account_sid: f.accountSid, media_path: f.mediaPath };
  const pairs: Array<[string, string | number | null | undefined]> = [
    ['channels', f.channels], ['duration_s', f.durationS], ['start_time', f.startTime],
    ['source', f.source], ['track', f.track], ['error_code', f.errorCode],
  ];
  for (const [k, v] of pairs) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

export function createRecordingsRepo(knex: Knex): RecordingsRepo {
  const table = () => knex<DbRecording>('recordings');
  const get = async (sid: string) => {
    const r = await table().where({ recording_sid: sid }).first();
    return r ? toRow(r) : undefined;
  };
  return {
    async addEvent(recordingSid, status, params) {
      const inserted = await knex('recording_events')
        .insert({ recording_sid: recordingSid, status, received_at: nowIso(), params: JSON.stringify(params) })
        .onConflict(['recording_sid', 'status'])
        .ignore()
        .returning('id');
      return inserted.length > 0;
    },
    async listEvents(recordingSid) {
      const rows = await knex('recording_events').where({ recording_sid: recordingSid }).orderBy('id');
      return rows.map((r: { status: string; received_at: string; params: string }) => ({
        status: r.status, receivedAt: r.received_at, params: fromJson<Record<string, string>>(r.params) ?? {},
      }));
    },
    async upsert(f) {
      return knex.transaction(async (trx) => {
        const now = nowIso();
        // Insert-or-ignore first: callbacks for one recording may reach two gateways at once.
        const inserted = await trx('recordings')
          .insert({
            recording_sid: f.recordingSid, call_sid: f.callSid, provider: f.provider ?? 'twilio', provider_status: f.providerStatus,
            state: 'pending', created_at: now, updated_at: now, ...known(f),
          })
          .onConflict('recording_sid')
          .ignore()
          .returning('recording_sid');
        if (inserted.length === 0) {
          // Postgres: the row stays locked until commit, so a concurrent callback compares its
          // status with this one's result, not with what both read before.
          const read = trx<DbRecording>('recordings').where({ recording_sid: f.recordingSid }).first();
          const current = await (isPostgres(trx) ? read.forUpdate() : read);
          const forward = rank(f.providerStatus) >= rank(String(current?.provider_status ?? ''));
          await trx('recordings').where({ recording_sid: f.recordingSid }).update({
            ...known(f), ...(forward ? { provider_status: f.providerStatus } : {}), updated_at: now,
          });
        }
        const row = await trx<DbRecording>('recordings').where({ recording_sid: f.recordingSid }).first();
        return toRow(row!);
      });
    },
    get,
    async listByCall(callSid) {
      return (await table().where({ call_sid: callSid }).orderBy('created_at')).map(toRow);
    },
    async setState(recordingSid, state, failure = null) {
      await table().where({ recording_sid: recordingSid }).update({
        state, failure_code: failure?.code ?? null, failure_reason: failure?.reason ?? null, updated_at: nowIso(),
      });
    },
    async markReady(recordingSid, file) {
      await table().where({ recording_sid: recordingSid }).update({
        state: 'ready', failure_code: null, failure_reason: null, file_path: file.filePath, file_bytes: file.fileBytes,
        sha256: file.sha256, file_channels: file.fileChannels, file_sample_rate: file.fileSampleRate,
        file_duration_s: file.fileDurationS, updated_at: nowIso(),
      });
    },
    async markCloudDeleted(recordingSid) {
      await table().where({ recording_sid: recordingSid }).update({ cloud_deleted_at: nowIso(), updated_at: nowIso() });
    },
  };
}

