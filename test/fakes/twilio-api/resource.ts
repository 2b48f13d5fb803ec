/**
 * The stored recording, its JSON representation and Twilio's error bodies. Field names, types and
 * formats follow twilio-node's RecordingResource and the docs' examples, so a client parsing these
 * can parse the real thing.
 */
import type { RecordingResource } from './types.js';

export const API_VERSION = '2010-04-01';

export interface StoredRecording {
  /** Insertion order: the tie-break when two recordings share a date_created second. */
  seq: number;
  sid: string;
  callSid: string;
  channels: 1 | 2;
  durationS: number;
  status: string;
  source: string;
  /** Truncated to whole seconds, as Twilio's RFC 2822 dates are. */
  startTime: Date;
  dateUpdated: Date;
  encrypted: boolean;
  errorCode: number | null;
  audio: { left: Int16Array; right?: Int16Array };
  /** Soft delete: Twilio keeps metadata (IncludeSoftDeleted) but the resource is gone. */
  deletedAt?: Date;
}

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
  detail?: string;
}

export function twilioError(status: number, code: number, message: string, detail?: string): TwilioErrorBody {
  const body: TwilioErrorBody = { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
  if (detail !== undefined) body.detail = detail;
  return body;
}

/** Twilio's 404 names the path (without query) that was not found. */
export function notFound(path: string): TwilioErrorBody {
  return twilioError(404, 20404, `The requested resource ${path} was not found`);
}

export const MSG_16113 =
  'Cannot download a dual-channel presentation of a mono recording. Retry download without specifying a channel count.';

/** Default message per status for injected faults; the code is Twilio's 20000 + status family. */
export function defaultFaultMessage(status: number): string {
  const known: Record<number, string> = {
    400: 'Bad Request', 403: 'Forbidden', 408: 'Request Timeout', 429: 'Too Many Requests',
    500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
  };
  return known[status] ?? `HTTP ${status}`;
}

/** RFC 2822 with a numeric zone, as Twilio writes it: `Fri, 14 Oct 2016 21:56:34 +0000`. */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

export function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** Statuses whose duration is still unknown: Twilio reports "-1" and no price. */
const UNFINISHED = new Set(['in-progress', 'paused', 'stopped', 'processing']);

export function recordingPath(accountSid: string, sid: string): string {
  return `/${API_VERSION}/Accounts/${accountSid}/Recordings/${sid}`;
}

export function toResource(r: StoredRecording, accountSid: string, apiBase: string): RecordingResource {
  const base = recordingPath(accountSid, r.sid);
  const unfinished = UNFINISHED.has(r.status);
  return {
    account_sid: accountSid,
    api_version: API_VERSION,
    call_sid: r.callSid,
    conference_sid: null,
    date_created: rfc2822(r.startTime),
    date_updated: rfc2822(r.dateUpdated),
    start_time: rfc2822(r.startTime),
    duration: unfinished ? '-1' : String(Math.round(r.durationS)),
    sid: r.sid,
    price: unfinished || r.status === 'absent' ? null : '-0.0025',
    price_unit: 'USD',
    status: r.deletedAt ? 'deleted' : r.status,
    channels: r.channels,
    source: r.source,
    error_code: r.errorCode,
    uri: `${base}.json`,
    encryption_details: r.encrypted
      ? {
          // Shape of Twilio's example; the values are opaque placeholders, nothing decrypts with them.
          encryption_public_key_sid: `CR${r.sid.slice(2)}`,
          encryption_cek: Buffer.from(`cek-${r.sid}`).toString('base64'),
          encryption_iv: Buffer.from(r.sid.slice(2, 14)).toString('base64'),
        }
      : null,
    subresource_uris: {
      add_on_results: `${base}/AddOnResults.json`,
      transcriptions: `${base}/Transcriptions.json`,
    },
    media_url: `${apiBase}${base}`,
  };
}

/** Callback form params for a `completed` event (§3 of protocol-facts; all values strings). */
export function callbackParams(r: StoredRecording, accountSid: string, apiBase: string): Record<string, string> {
  return {
    AccountSid: accountSid,
    CallSid: r.callSid,
    RecordingSid: r.sid,
    RecordingUrl: `${apiBase}${recordingPath(accountSid, r.sid)}`,
    RecordingStatus: r.status,
    RecordingDuration: String(Math.round(r.durationS)),
    RecordingChannels: String(r.channels),
    RecordingStartTime: rfc2822(r.startTime),
    RecordingSource: r.source,
    RecordingTrack: 'both',
    ErrorCode: String(r.errorCode ?? 0),
  };
}
