// TypeBox schemas of /api/calls: they validate requests, shape (and document, at /docs) the
// responses. Response objects list every key: the serializer drops keys a schema leaves out.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CALL_ID_PATTERN } from '../ids.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Iso = (description: string) => Type.String({ description: `${description} (ISO-8601 UTC)` });
const Track = Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]);
const Provider = Type.Union([Type.Literal('twilio'), Type.Literal('vonage'), Type.Literal('elevenlabs')]);
const Speaker = Type.Union([Type.Literal('agent'), Type.Literal('customer')]);

export const CALL_SID_PATTERN = CALL_ID_PATTERN;
/** A date (YYYY-MM-DD) or a date-time; a time without a zone is UTC. A space before the zone is
 *  read as `+`, since an unencoded `+` in a query string arrives as a space. */
export const ISO_DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+ -]\\d{2}:?\\d{2})?)?$';

export const ErrorBody = Type.Object({ error: Type.String() });

export const CallParams = Type.Object({
  callSid: Type.String({ pattern: CALL_SID_PATTERN, description: 'call id: a Twilio CallSid, VN… (Vonage) or EL-… (ElevenLabs)' }),
});

export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size' }),
  offset: Type.Integer({ minimum: 0, default: 0, description: 'calls to skip: the next page is offset + limit' }),
  date_from: Type.Optional(Type.String({ pattern: ISO_DATE_PATTERN, description: 'created at or after (inclusive)' })),
  date_to: Type.Optional(Type.String({
    pattern: ISO_DATE_PATTERN, description: 'created at or before (inclusive; a bare date includes that whole UTC day)',
  })),
  status: Type.Optional(Type.String({ pattern: '^[a-z-]{1,32}$', description: "the call's Twilio status, e.g. completed" })),
  direction: Type.Optional(Track),
  provider: Type.Optional(Provider),
});

export const DeleteQuery = Type.Object({
  cloud: Type.Boolean({ default: false, description: "also delete the call's recordings at the provider" }),
});

export const CloudState = Type.Union([
  Type.Literal('pending'), Type.Literal('downloading'), Type.Literal('ready'), Type.Literal('absent'), Type.Literal('failed'),
]);

const summaryProps = {
  call_sid: Type.String(),
  provider: Provider,
  provider_call_id: Nullable(Type.String({ description: 'the provider\'s own id: Vonage conversation_uuid, ElevenLabs conversation_id' })),
  direction: Track,
  from: Nullable(Type.String()),
  to: Nullable(Type.String()),
  status: Type.String(),
  created_at: Iso('first webhook'),
  updated_at: Iso('last change'),
  ended_at: Nullable(Iso('end of the call, when known')),
  agent_track: Track,
  customer_track: Track,
  cloud_recording_state: Nullable(CloudState),
  cloud_recording_failure: Nullable(Type.String()),
  reconciliation_verdict: Nullable(Type.String()),
  duration_s: Nullable(Type.Number({ description: 'the reconciled length, else the longest capture, else the cloud recording' })),
};
export const CallSummary = Type.Object(summaryProps);

export const CallList = Type.Object({
  calls: Type.Array(CallSummary),
  total: Type.Integer({ description: 'calls matching the filters' }),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

const Num = Type.Optional(Type.Number());
export const CaptureStats = Type.Object({
  frames: Num, duplicates: Num, reordered: Num, late_dropped: Num, late_dropped_ms: Num, lost_ms: Num, max_lag_ms: Num,
  rms: Num, clipped: Num, samples: Num, duration_s: Num,
  gaps: Type.Optional(Type.Array(Type.Array(Type.Number()), { description: '[start_s, end_s] on the stream timeline' })),
  gaps_truncated: Type.Optional(Type.Boolean()),
}, { additionalProperties: true });

export const Capture = Type.Object({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('track'), Type.Literal('stereo')]),
  track: Nullable(Track),
  speaker: Nullable(Speaker),
  file: Type.String(),
  sample_rate: Type.Integer(),
  channels: Type.Integer(),
  state: Type.String(),
  samples: Type.Integer(),
  duration_s: Type.Number(),
  stats: Nullable(CaptureStats),
  created_at: Iso('opened'),
  updated_at: Iso('last change'),
});

export const Stream = Type.Object({
  stream_sid: Type.String(),
  state: Type.String(),
  tracks: Type.Array(Type.String()),
  instance_id: Type.String(),
  started_at: Iso('start message'),
  ended_at: Nullable(Iso('closed')),
  close_reason: Nullable(Type.String()),
  events: Nullable(Type.Record(Type.String(), Type.Number())),
  captures: Type.Array(Capture),
});

export const CloudRecording = Type.Object({
  recording_sid: Type.String(),
  provider: Type.String(),
  provider_status: Type.String(),
  state: CloudState,
  failure_code: Nullable(Type.String()),
  failure_reason: Nullable(Type.String()),
  channels: Nullable(Type.Integer()),
  duration_s: Nullable(Type.Number()),
  start_time: Nullable(Type.String()),
  source: Nullable(Type.String()),
  track: Nullable(Type.String()),
  error_code: Nullable(Type.String()),
  file: Nullable(Type.String()),
  file_bytes: Nullable(Type.Integer()),
  sha256: Nullable(Type.String()),
  file_channels: Nullable(Type.Integer()),
  file_sample_rate: Nullable(Type.Integer()),
  file_duration_s: Nullable(Type.Number()),
  cloud_deleted_at: Nullable(Iso('deleted at the provider')),
  created_at: Iso('first callback'),
  updated_at: Iso('last change'),
});

export const Reconciliation = Type.Object({
  verdict: Type.String(),
  stream_sid: Nullable(Type.String()),
  recording_sid: Nullable(Type.String()),
  report: Type.Record(Type.String(), Type.Unknown(), { description: 'the stored report (reconciliation.json)' }),
  report_url: Nullable(Type.String({ description: 'signed URL of reconciliation.json' })),
  created_at: Iso('first run'),
  updated_at: Iso('last run'),
});

export const Job = Type.Object({
  id: Type.Integer(),
  kind: Type.String(),
  key: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  run_at: Iso('due'),
  last_error: Nullable(Type.Object({ code: Type.String(), message: Type.String(), retryable: Type.Boolean(), at: Type.String() })),
  result: Type.Unknown(),
  created_at: Iso('enqueued'),
  updated_at: Iso('last change'),
  finished_at: Nullable(Iso('finished')),
});

export const Artifact = Type.Object({
  kind: Type.Union([Type.Literal('capture'), Type.Literal('cloud'), Type.Literal('final')]),
  file: Type.String(),
  track: Nullable(Track),
  speaker: Nullable(Speaker),
  stream_sid: Nullable(Type.String()),
  recording_sid: Nullable(Type.String()),
  rate: Nullable(Type.Integer({ description: 'sample rate, Hz (null if the header is unreadable)' })),
  channels: Nullable(Type.Integer()),
  duration_s: Nullable(Type.Number()),
  bytes: Type.Integer(),
  url: Type.String({ description: 'signed, short-lived; supports HTTP Range' }),
});

export const CallDetail = Type.Object({
  ...summaryProps,
  streams: Type.Array(Stream),
  cloud_recordings: Type.Array(CloudRecording),
  reconciliation: Nullable(Reconciliation),
  jobs: Type.Array(Job),
  transcript: Nullable(Type.Object({
    source: Type.Union([Type.Literal('post_call'), Type.Literal('live')], { description: 'post_call when it exists, else live' }),
    lines: Type.Array(Type.Object({ speaker: Type.String(), start: Type.Number(), end: Type.Number(), text: Type.String() })),
  })),
  artifacts: Type.Array(Artifact),
});

export const DeleteResult = Type.Object({
  deleted: Type.Literal(true),
  call_sid: Type.String(),
  files_removed: Type.Integer({ description: "files removed from the call's folder" }),
  cloud_deleted: Type.Array(Type.String(), { description: 'recording SIDs deleted at the provider' }),
});

export type CallSummaryT = Static<typeof CallSummary>;
export type CallDetailT = Static<typeof CallDetail>;
export type ArtifactT = Static<typeof Artifact>;
export type CaptureStatsT = Static<typeof CaptureStats>;
export type CloudStateT = Static<typeof CloudState>;
