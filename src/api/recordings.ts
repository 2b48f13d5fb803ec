// GET /api/twilio/recordings/: the seed's list of Twilio recordings (seeds/004 §1), read from
// Twilio's Recordings API, each with a media accessibility probe and what callvault holds of it.
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { JobError } from '../jobs/errors.js';
import { recordingPath, type ListedRecording, type TwilioRest } from '../twilio/rest.js';
import type { ApiDeps, ApiRoutes } from './index.js';
import { mediaProber, type MediaProber } from './media-probe.js';
import {
  callvaultView, DEFAULT_LIMIT, ISO_PATTERN, MAX_LIMIT, parseListQuery, recordingView, SEED_STATUSES, seedStatus, summarize, withinDates,
  type ListQuery, type RecordingView,
} from './recordings-view.js';

/** Twilio's page size while filtering on our side (its maximum is 1000; 100 keeps pages quick). */
const FILTER_PAGE_SIZE = 100;
/** At most this many pages per listing: a status no recording has cannot walk a whole account. */
const MAX_PAGES = 20;
const PROBE_CONCURRENCY = 3;
const PROBE_TIMEOUT_MS = 3_000;
const PROBE_CACHE_MS = 5 * 60_000;
const PROBE_CACHE_ENTRIES = 10_000;
/** Probes still queued after this are reported unchecked, so a slow media host cannot hold a listing. */
const PROBE_BUDGET_MS = 10_000;

export const NO_CREDENTIALS =
  'Twilio credentials are not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET)';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const SeedStatusSchema = Type.Union(SEED_STATUSES.map((s) => Type.Literal(s)));
const IsoDate = (description: string) => Type.Optional(Type.String({ pattern: ISO_PATTERN, description }));

const Querystring = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: 'Recordings to return' })),
  status: Type.Optional(Type.Union(SEED_STATUSES.map((s) => Type.Literal(s)), {
    description: '`failed` is Twilio `absent` or a nonzero error_code; `in-progress` also covers paused, stopped and processing',
  })),
  date_created_after: IsoDate('ISO 8601 date or date-time (UTC when no zone); inclusive'),
  date_created_before: IsoDate('ISO 8601 date or date-time (UTC when no zone); inclusive, a date counts its whole day'),
}, { additionalProperties: true });

const Callvault = Type.Object({
  state: Nullable(Type.Union(['pending', 'downloading', 'ready', 'absent', 'failed'].map((s) => Type.Literal(s)))),
  failure_reason: Nullable(Type.String()),
  downloaded: Type.Boolean(),
  sha256: Nullable(Type.String()),
  local_url: Nullable(Type.String({ description: 'signed, short-lived URL of the downloaded WAV' })),
  reconciled: Type.Boolean(),
  reconciliation_verdict: Nullable(Type.String()),
}, { additionalProperties: true });

const Recording = Type.Object({
  sid: Type.String(), account_sid: Type.String(), call_sid: Type.String(),
  duration: Nullable(Type.Number({ description: 'seconds; null while Twilio does not know it yet' })),
  status: SeedStatusSchema,
  twilio_status: Type.String({ description: "Twilio's own status, which `status` maps" }),
  channels: Nullable(Type.Integer()), source: Nullable(Type.String()), error_code: Nullable(Type.Integer()), uri: Type.String(),
  media_location: Nullable(Type.String({ description: 'our signed local URL once downloaded' })),
  media_url: Nullable(Type.String({ description: "Twilio's media URL (WAV; credentials required)" })),
  media_accessible: Type.Boolean(),
  media_status_code: Nullable(Type.Integer({ description: 'null when the probe timed out or was not made' })),
  date_created: Nullable(Type.String()), date_updated: Nullable(Type.String()), start_time: Nullable(Type.String()),
  price: Nullable(Type.String()), price_unit: Nullable(Type.String()), track: Nullable(Type.String()),
  callvault: Callvault,
}, { additionalProperties: true });

const ListResponse = Type.Object({
  total_recordings: Type.Integer(),
  query_parameters: Type.Object({
    limit: Nullable(Type.String()), status: Nullable(Type.String()),
    date_created_after: Nullable(Type.String()), date_created_before: Nullable(Type.String()),
  }),
  recordings: Type.Array(Recording),
  summary: Type.Object({
    completed: Type.Integer(), in_progress: Type.Integer(), failed: Type.Integer(),
    accessible_media: Type.Integer(), inaccessible_media: Type.Integer(),
  }),
});

const ErrorBody = Type.Object({ error: Type.String(), details: Type.Optional(Type.String()) }, { additionalProperties: true });

/** Pages of Twilio's list until `limit` recordings pass our filters, newest first; `capped` when
 *  MAX_PAGES ran out first (older matches may exist). */
async function collect(rest: TwilioRest, accountSid: string, q: ListQuery): Promise<{ listed: ListedRecording[]; capped: boolean }> {
  const out: ListedRecording[] = [];
  let pagesRead = 0;
  const pages = rest.listRecordings({
    accountSid, pageSize: q.status ? FILTER_PAGE_SIZE : q.limit, maxPages: MAX_PAGES,
    ...(q.after ? { dateCreatedAfter: q.after.twilio } : {}),
    ...(q.before ? { dateCreatedBefore: q.before.twilio } : {}),
  });
  for await (const page of pages) {
    pagesRead++;
    for (const r of page) {
      const status = seedStatus(r);
      if (status && (!q.status || status === q.status) && withinDates(r, q)) out.push(r);
      if (out.length >= q.limit) break;
    }
    if (out.length >= q.limit) break;
  }
  // Twilio lists newest first already; a stable sort keeps that promise whatever a page holds.
  const t = (r: ListedRecording) => Date.parse(r.date_created ?? '') || 0;
  return { listed: out.sort((a, b) => t(b) - t(a)), capped: pagesRead >= MAX_PAGES && out.length < q.limit };
}

function mediaPathOf(r: ListedRecording): string | null {
  try {
    return recordingPath(r.uri);
  } catch {
    return null;
  }
}

async function present(r: ListedRecording, deps: ApiDeps, rest: TwilioRest, prober: MediaProber, deadline: AbortSignal): Promise<RecordingView> {
  const media = mediaPathOf(r);
  const [row, probe] = await Promise.all([
    deps.store.recordings.get(r.sid),
    media ? prober.probe(`${r.sid}@${r.date_updated ?? ''}`, media, deadline) : { accessible: false, statusCode: null },
  ]);
  const rec = await deps.store.reconciliations.get(r.call_sid);
  return recordingView(r, {
    status: seedStatus(r)!, mediaUrl: media ? rest.mediaUrl(media) : null, probe, row,
    callvault: callvaultView(r.sid, row, rec, deps.signer),
  });
}

/** Twilio's failures as 502s that say what to check, with no stack and no secret. */
function twilioFailure(err: unknown): { error: string; details?: string } | null {
  if (!(err instanceof JobError)) return null;
  if (err.code === 'twilio_auth') return { error: err.message };
  if (err.retryable && err.code !== 'not_found') return { error: 'Twilio API unavailable', details: err.message };
  return { error: 'Twilio API error', details: err.message };
}

function listHandler(deps: ApiDeps, prober: MediaProber) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const q = parseListQuery(new URL(request.url, 'http://localhost').searchParams);
    if (typeof q === 'string') return reply.code(400).send({ error: q });
    // The schema and parseListQuery agree; should they ever not, the stricter one wins.
    if (request.validationError) return reply.code(400).send({ error: `Invalid request: ${request.validationError.message}` });
    const accountSid = deps.config.twilio.accountSid;
    if (!deps.twilio || !accountSid) return reply.code(503).send({ error: NO_CREDENTIALS });
    const rest = deps.twilio;
    let listed: ListedRecording[];
    try {
      const got = await collect(rest, accountSid, q);
      listed = got.listed;
      if (got.capped) request.log.warn({ max_pages: MAX_PAGES, found: listed.length }, 'recordings list stopped at the page bound before reaching limit');
    } catch (err) {
      const failure = twilioFailure(err);
      if (!failure) throw err;
      request.log.warn({ code: (err as JobError).code, detail: failure.details ?? failure.error }, 'Twilio recordings list failed');
      return reply.code(502).send(failure);
    }
    const deadline = AbortSignal.timeout(PROBE_BUDGET_MS);
    const recordings = await Promise.all(listed.map((r) => present(r, deps, rest, prober, deadline)));
    return {
      total_recordings: recordings.length,
      query_parameters: q.given,
      recordings,
      summary: summarize(recordings),
    };
  };
}

export const registerRecordingsApi: ApiRoutes = (api, deps) => {
  const prober = mediaProber({
    request: (path, signal) => (deps.twilio ? deps.twilio.probeMedia(path, signal) : Promise.reject(new Error('no Twilio client'))),
    concurrency: PROBE_CONCURRENCY,
    // Never longer than the configured Twilio timeout (TWILIO_HTTP_TIMEOUT_MS).
    timeoutMs: Math.min(PROBE_TIMEOUT_MS, deps.config.cloud.httpTimeoutMs),
    ttlMs: PROBE_CACHE_MS,
    maxEntries: PROBE_CACHE_ENTRIES,
  });
  api.get('/twilio/recordings', {
    // Our own messages name the parameter and the value given; see parseListQuery.
    attachValidation: true,
    schema: {
      tags: ['recordings'],
      summary: 'List Twilio recordings with media accessibility and what callvault holds of each',
      querystring: Querystring,
      response: { 200: ListResponse, '4xx': ErrorBody, '5xx': ErrorBody },
    },
  }, listHandler(deps, prober));
};
