// POST /vonage/event (signature already checked): call status events of the calls the gateway
// places. Stored once per leg and status; the call's status only moves forward (events of two legs
// and retries arrive in any order), and the first final status ends the call and sets off the
// post-call work. Events that are not call statuses are logged and dropped, never refused.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { uuidHex } from '../ids.js';
import { jsonObject } from './vonage-body.js';
import type { VonageWebhookDeps } from './vonage-webhooks.js';

/** Vonage's final call statuses: the call is over, whatever leg reported it. */
export const FINAL_STATUSES = new Set(['completed', 'failed', 'busy', 'timeout', 'unanswered', 'rejected', 'cancelled']);
const PROGRESS_RANK: Record<string, number> = { initiated: 0, started: 1, ringing: 2, answered: 3 };
const STATUS = /^[a-z_:-]{1,32}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
/** What is kept of an event: no phone numbers, prices or headers. */
const FIELDS = ['uuid', 'conversation_uuid', 'status', 'direction', 'timestamp', 'start_time', 'end_time', 'duration', 'disconnected_by', 'detail'];

const rank = (status: string) => (FINAL_STATUSES.has(status) ? 9 : (PROGRESS_RANK[status] ?? -1));

function endedAt(timestamp: unknown): string {
  const t = typeof timestamp === 'string' && ISO.test(timestamp) ? Date.parse(timestamp) : NaN;
  return new Date(Number.isFinite(t) ? t : Date.now()).toISOString();
}

export async function handleVonageEvent(deps: VonageWebhookDeps, request: FastifyRequest, reply: FastifyReply) {
  const { store } = deps;
  const body = jsonObject(request);
  if (!body) return reply.code(400).send({ error: 'the body is not a JSON object' });
  const { status, conversation_uuid: conv, uuid } = body;
  if (typeof status !== 'string' || conv === undefined) {
    request.log.info('Vonage event without a call status ignored');
    return reply.code(204).send();
  }
  if (!STATUS.test(status)) return reply.code(400).send({ error: 'status must be a Vonage call status' });
  if (typeof conv !== 'string' || !uuidHex(conv)) return reply.code(400).send({ error: 'conversation_uuid must be a (CON-) UUID' });
  if (uuid !== undefined && (typeof uuid !== 'string' || !uuidHex(uuid))) return reply.code(400).send({ error: 'uuid must be a UUID' });
  const call = await store.calls.findByProviderId('vonage', conv);
  const payload = Object.fromEntries(FIELDS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
  const fresh = await store.providerEvents.add({
    provider: 'vonage', eventKey: `event:${uuid ?? conv}:${status}`, callSid: call?.callSid ?? null, kind: 'call-status', payload,
  });
  const log = request.log.child({ callSid: call?.callSid, status });
  if (!fresh) {
    log.info('duplicate Vonage call event ignored');
    return reply.code(204).send();
  }
  // Not a call the gateway placed (or its create answer is not stored yet): kept, not applied.
  if (!call) {
    log.info('Vonage call event for an unknown conversation stored, not applied');
    return reply.code(204).send();
  }
  if (FINAL_STATUSES.has(call.status) || rank(status) <= rank(call.status)) {
    log.info({ current: call.status }, 'Vonage call event older than the stored status: kept, not applied');
    return reply.code(204).send();
  }
  if (FINAL_STATUSES.has(status)) {
    await store.calls.setStatus(call.callSid, status, endedAt(body.timestamp));
    deps.postCall.callEnded(call.callSid);
    log.info('Vonage call ended');
  } else {
    await store.calls.setStatus(call.callSid, status);
    log.info('Vonage call status');
  }
  return reply.code(204).send();
}
