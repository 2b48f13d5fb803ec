// GET /api/calls (filtered, paged by limit/offset, newest first), GET /api/calls/:callSid (the
// call with its streams, captures, cloud recordings, reconciliation, jobs and playable
// artifacts) and DELETE /api/calls/:callSid. Thin: validation here, the work in call-view.ts,
// call-delete.ts and the store.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { deleteCall } from './call-delete.js';
import {
  CallDetail, CallList, CallParams, DeleteQuery, DeleteResult, ErrorBody, ListQuery,
} from './call-schemas.js';
import { detailOf, emptyFacts, summaryOf } from './call-view.js';
import type { ApiRoutes } from './index.js';

const DAY_MS = 24 * 3600 * 1000;

/** A time without a zone is UTC, not the server's local time; " hh:mm" is a decoded "+hh:mm". */
function withZone(dateTime: string): string {
  const zone = /(Z|[+ -]\d{2}:?\d{2})$/.exec(dateTime.slice(16));
  return zone ? dateTime.replace(/ (\d{2}:?\d{2})$/, '+$1') : `${dateTime}Z`;
}

/**
 * A query date as the ISO UTC text the store compares: `date_from` as given, `date_to` as the
 * first instant after it (so it is inclusive, and a bare date covers its whole day). Null when
 * the shape is right but the date is not real (2025-02-30).
 */
export function dateBound(value: string, end: boolean): string | null {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const t = Date.parse(dateOnly ? `${value}T00:00:00Z` : withZone(value));
  if (Number.isNaN(t) || (dateOnly && new Date(t).toISOString().slice(0, 10) !== value)) return null;
  return new Date(end ? t + (dateOnly ? DAY_MS : 1) : t).toISOString();
}

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody };

export const registerCallsApi: ApiRoutes = (app, deps) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const view = { store: deps.store, signer: deps.signer, files: deps.files };

  api.get('/calls', {
    schema: {
      tags: ['calls'], summary: 'List calls, newest first',
      description: 'Paged with limit and offset (the next page is offset + limit; total counts every match).',
      querystring: ListQuery, response: { 200: CallList, 400: ErrorBody, 401: ErrorBody },
    },
  }, async (request, reply) => {
    const q = request.query;
    const from = q.date_from === undefined ? undefined : dateBound(q.date_from, false);
    const before = q.date_to === undefined ? undefined : dateBound(q.date_to, true);
    if (from === null || before === null) return reply.code(400).send({ error: 'Invalid request: date_from/date_to is not a real date' });
    const { rows, total } = await deps.store.calls.search({
      limit: q.limit, offset: q.offset, status: q.status, direction: q.direction, provider: q.provider, createdFrom: from, createdBefore: before,
    });
    const facts = await deps.store.calls.facts(rows.map((r) => r.callSid));
    const calls = rows.map((call) => summaryOf(call, facts.get(call.callSid) ?? emptyFacts()));
    return { calls, total, limit: q.limit, offset: q.offset };
  });

  api.get('/calls/:callSid', {
    schema: {
      tags: ['calls'], summary: 'One call with its captures, cloud recordings, reconciliation, jobs and audio files',
      params: CallParams, response: { 200: CallDetail, ...errors },
    },
  }, async (request, reply) => {
    const call = await deps.store.calls.get(request.params.callSid);
    if (!call) return reply.code(404).send({ error: `Unknown call ${request.params.callSid}` });
    return detailOf(view, call);
  });

  api.delete('/calls/:callSid', {
    schema: {
      tags: ['calls'], summary: "Delete a call: its files, its rows and, with cloud=true, the provider's recordings",
      description: 'Refused with 409 while a capture of the call is open or one of its jobs runs.',
      params: CallParams, querystring: DeleteQuery,
      response: { 200: DeleteResult, ...errors, 409: ErrorBody, 502: ErrorBody, 503: ErrorBody },
    },
  }, async (request, reply) => {
    const deleteDeps = { store: deps.store, twilio: deps.twilio, registry: app.gateway.registry, recordingsDir: deps.config.recordingsDir, files: deps.files };
    const out = await deleteCall(deleteDeps, request.params.callSid, request.query.cloud, request.log);
    return reply.code(out.code).send(out.body);
  });
};
