// The seed's recordings list, as pure functions: its query (validated strictly, with messages that
// name the parameter), Twilio's statuses in the seed's vocabulary, and one recording as the seed
// shows it, joined with what callvault holds.
import path from 'node:path';
import type { ReconciliationRow } from '../store/reconciliations.js';
import type { RecordingRow } from '../store/recordings.js';
import type { ListedRecording } from '../twilio/rest.js';
import { isServable, type MediaSigner } from './media.js';
import type { ProbeResult } from './media-probe.js';

export const SEED_STATUSES = ['completed', 'in-progress', 'failed'] as const;
export type SeedStatus = (typeof SEED_STATUSES)[number];
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;
export const QUERY_NAMES = ['limit', 'status', 'date_created_after', 'date_created_before'] as const;
type QueryName = (typeof QUERY_NAMES)[number];

/** An instant or a whole UTC day, as bounds in ms (both inclusive), and the form sent to Twilio. */
export interface DateBound { start: number; end: number; twilio: string }

export interface ListQuery {
  limit: number;
  status: SeedStatus | null;
  after: DateBound | null;
  before: DateBound | null;
  /** each parameter as given, for the response's query_parameters */
  given: Record<QueryName, string | null>;
}

const DAY_MS = 86_400_000;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
export const ISO_PATTERN = ISO.source;

const int = (s: string | undefined) => (s === undefined ? 0 : Number(s));

/** Offset of `Z`, `+02:00` or `-0530` in ms; NaN when out of range. */
function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const h = Number(zone.slice(1, 3));
  const m = Number(zone.slice(-2));
  if (h > 14 || m > 59) return NaN;
  return (zone.startsWith('-') ? -1 : 1) * (h * 60 + m) * 60_000;
}

/** ISO 8601 date (a whole UTC day) or date-time (no zone = UTC); null when not a real date. */
export function parseIsoBound(value: string): DateBound | null {
  const m = ISO.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const day = Date.UTC(int(y), int(mo) - 1, int(d));
  const check = new Date(day);
  // Date.UTC rolls 2024-02-30 over to March; a real date survives the round trip.
  if (check.getUTCFullYear() !== int(y) || check.getUTCMonth() !== int(mo) - 1 || check.getUTCDate() !== int(d)) return null;
  if (h === undefined) return { start: day, end: day + DAY_MS - 1, twilio: value };
  if (int(h) > 23 || int(mi) > 59 || int(s) > 59) return null;
  const t = day + (int(h) * 3600 + int(mi) * 60 + int(s)) * 1000 + Math.floor(Number(frac ?? 0) * 1000) - offsetMs(zone);
  if (Number.isNaN(t)) return null;
  // Twilio's dates have whole seconds; the bound goes there in UTC, without milliseconds.
  return { start: t, end: t, twilio: isoSeconds(Math.floor(t / 1000) * 1000) };
}

/** `2024-01-15T10:30:00Z`, as the seed writes times. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** Twilio's RFC 2822 (`Mon, 15 Jan 2024 10:30:00 +0000`) as ISO 8601 UTC; null when absent. */
export function isoFromTwilio(value: string | null | undefined): string | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : isoSeconds(t);
}

const shown = (v: string) => JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);

/** The query from the raw query string; a string is the 400 message. */
export function parseListQuery(raw: URLSearchParams): ListQuery | string {
  const given = {} as Record<QueryName, string | null>;
  for (const name of QUERY_NAMES) {
    const all = raw.getAll(name);
    if (all.length > 1) return `${name} may be given once`;
    given[name] = all[0] ?? null;
  }
  let limit = DEFAULT_LIMIT;
  if (given.limit !== null) {
    limit = /^\d{1,4}$/.test(given.limit) ? Number(given.limit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) return `limit must be an integer from 1 to ${MAX_LIMIT} (got ${shown(given.limit)})`;
  }
  const status = given.status;
  if (status !== null && !(SEED_STATUSES as readonly string[]).includes(status)) {
    return `status must be one of ${SEED_STATUSES.join(', ')} (got ${shown(status)})`;
  }
  const bounds: Record<'after' | 'before', DateBound | null> = { after: null, before: null };
  for (const key of ['after', 'before'] as const) {
    const v = given[`date_created_${key}`];
    if (v === null) continue;
    bounds[key] = parseIsoBound(v);
    if (!bounds[key]) return `date_created_${key} must be an ISO 8601 date (2024-01-31) or date-time (2024-01-31T10:30:00Z) (got ${shown(v)})`;
  }
  if (bounds.after && bounds.before && bounds.after.start > bounds.before.end) {
    return 'date_created_after must not be later than date_created_before';
  }
  return { limit, status: status as SeedStatus | null, ...bounds, given };
}

const UNFINISHED = new Set(['in-progress', 'paused', 'stopped', 'processing']);

/** Twilio's error_code: null or 0 when there is none. */
export function errorCodeOf(r: { error_code: unknown }): number | null {
  const n = Number(r.error_code ?? 0);
  return Number.isFinite(n) && n !== 0 ? n : null;
}

/** Twilio has no `failed`: it is `absent` or a nonzero error_code. `deleted` (and any status Twilio
 *  may add) is outside the seed's vocabulary: null, and left out of the list. */
export function seedStatus(r: ListedRecording): SeedStatus | null {
  if (r.status === 'deleted') return null;
  if (r.status === 'absent' || errorCodeOf(r) !== null) return 'failed';
  if (r.status === 'completed') return 'completed';
  return UNFINISHED.has(r.status) ? 'in-progress' : null;
}

export function withinDates(r: ListedRecording, q: Pick<ListQuery, 'after' | 'before'>): boolean {
  const t = Date.parse(r.date_created ?? '');
  if (Number.isNaN(t)) return q.after === null && q.before === null;
  return (!q.after || t >= q.after.start) && (!q.before || t <= q.before.end);
}

export interface CallvaultView {
  state: RecordingRow['state'] | null;
  failure_reason: string | null;
  downloaded: boolean;
  sha256: string | null;
  local_url: string | null;
  reconciled: boolean;
  reconciliation_verdict: string | null;
}

/** What callvault holds about a recording; a reconciliation counts only if it used this one. */
export function callvaultView(sid: string, row: RecordingRow | undefined, rec: ReconciliationRow | undefined, signer: MediaSigner): CallvaultView {
  const file = row?.state === 'ready' && row.filePath ? path.basename(row.filePath) : null;
  const local = row && file && isServable(row.callSid, file) ? signer.url(row.callSid, file) : null;
  const used = rec?.recordingSid === sid;
  return {
    state: row?.state ?? null, failure_reason: row?.failureReason ?? null, downloaded: local !== null,
    sha256: local ? row?.sha256 ?? null : null, local_url: local, reconciled: used, reconciliation_verdict: used ? rec.verdict : null,
  };
}

/** Twilio's field, else the track callvault was told in the status callback, else `both` for a
 *  dual-channel recording (each party on its own channel); unknown for other mono ones. */
export function trackOf(r: ListedRecording, row: RecordingRow | undefined): string | null {
  return r.track ?? row?.track ?? (r.channels === 2 ? 'both' : null);
}

export interface RecordingInputs {
  status: SeedStatus;
  mediaUrl: string | null;
  probe: ProbeResult;
  row: RecordingRow | undefined;
  callvault: CallvaultView;
}

/** One recording with every field of the seed, plus `twilio_status` and the `callvault` join. */
export function recordingView(r: ListedRecording, x: RecordingInputs) {
  const duration = r.duration === null || r.duration === undefined ? NaN : Number(r.duration);
  return {
    sid: r.sid, account_sid: r.account_sid, call_sid: r.call_sid,
    // Twilio says -1 while the length is unknown; null says so without a fake number.
    duration: Number.isFinite(duration) && duration >= 0 ? duration : null,
    status: x.status, twilio_status: r.status, channels: r.channels ?? null, source: r.source ?? null,
    error_code: errorCodeOf(r), uri: r.uri,
    media_location: x.callvault.local_url, media_url: x.mediaUrl,
    media_accessible: x.probe.accessible, media_status_code: x.probe.statusCode,
    date_created: isoFromTwilio(r.date_created), date_updated: isoFromTwilio(r.date_updated), start_time: isoFromTwilio(r.start_time),
    price: r.price ?? null, price_unit: r.price_unit ?? null, track: trackOf(r, x.row),
    callvault: x.callvault,
  };
}

export type RecordingView = ReturnType<typeof recordingView>;

export function summarize(recordings: readonly RecordingView[]) {
  const count = (f: (r: RecordingView) => boolean) => recordings.filter(f).length;
  return {
    completed: count((r) => r.status === 'completed'),
    in_progress: count((r) => r.status === 'in-progress'),
    failed: count((r) => r.status === 'failed'),
    accessible_media: count((r) => r.media_accessible),
    inaccessible_media: count((r) => !r.media_accessible),
  };
}
