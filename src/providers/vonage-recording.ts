// POST /vonage/recording (signature already checked): the NCCO `record` action's event. It is
// stored once per recording_uuid, the recording joins its call (found by conversation_uuid, or
// created for a call first seen here), and a durable job downloads it. Answers at once; a repeat
// delivery changes nothing.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { vonageCallIdOf, vonageRecordingIdOf } from '../ids.js';
import { VONAGE_DOWNLOAD_JOB, vonageDownloadKey, type VonageDownloadPayload } from './vonage-download.js';
import { jsonObject } from './vonage-body.js';
import type { VonageWebhookDeps } from './vonage-webhooks.js';

export interface VonageRecordingEvent {
  recordingUuid: string;
  conversationUuid: string;
  recordingUrl: string;
  startTime: string | null;
  endTime: string | null;
  size: number | null;
  /** the fields Vonage sent that are kept with the event (protocol-facts §6), nothing else */
  stored: Record<string, unknown>;
}

const FIELDS = ['start_time', 'end_time', 'recording_url', 'size', 'recording_uuid', 'conversation_uuid', 'timestamp'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const MAX_URL = 2048;

const isIso = (v: unknown): v is string => typeof v === 'string' && ISO.test(v) && Number.isFinite(Date.parse(v));

/** The event's fields, or what is wrong with them. */
export function parseRecordingEvent(b: Record<string, unknown>): { ok: true; event: VonageRecordingEvent } | { ok: false; error: string } {
  const { recording_uuid: rec, conversation_uuid: conv, recording_url: url, start_time: start, end_time: end, size } = b;
  if (typeof rec !== 'string' || !vonageRecordingIdOf(rec)) return { ok: false, error: 'recording_uuid must be a UUID' };
  if (typeof conv !== 'string' || !vonageCallIdOf(conv)) return { ok: false, error: 'conversation_uuid must be a (CON-) UUID' };
  if (typeof url !== 'string' || url === '' || url.length > MAX_URL) return { ok: false, error: 'recording_url must be a URL' };
  for (const [name, v] of [['start_time', start], ['end_time', end], ['timestamp', b.timestamp]] as const) {
    if (v !== undefined && v !== null && !isIso(v)) return { ok: false, error: `${name} must be an ISO 8601 time` };
  }
  if (isIso(start) && isIso(end) && Date.parse(end) < Date.parse(start)) return { ok: false, error: 'end_time is before start_time' };
  if (size !== undefined && size !== null && !(typeof size === 'number' && Number.isSafeInteger(size) && size >= 0)) {
    return { ok: false, error: 'size must be a whole number of bytes' };
  }
  const stored = Object.fromEntries(FIELDS.filter((k) => b[k] !== undefined).map((k) => [k, b[k]]));
  return {
    ok: true,
    event: {
      recordingUuid: rec, conversationUuid: conv, recordingUrl: url, startTime: isIso(start) ? start : null,
      endTime: isIso(end) ? end : null, size: typeof size === 'number' ? size : null, stored,
    },
  };
}

const durationOf = (e: VonageRecordingEvent) => (e.startTime && e.endTime ? (Date.parse(e.endTime) - Date.parse(e.startTime)) / 1000 : null);

export async function handleVonageRecording(deps: VonageWebhookDeps, request: FastifyRequest, reply: FastifyReply) {
  const { store, queue } = deps;
  const body = jsonObject(request);
  if (!body) return reply.code(400).send({ error: 'the body is not a JSON object' });
  const parsed = parseRecordingEvent(body);
  if (!parsed.ok) {
    request.log.warn({ problem: parsed.error }, 'Vonage recording event refused');
    return reply.code(400).send({ error: parsed.error });
  }
  const e = parsed.event;
  const recordingSid = vonageRecordingIdOf(e.recordingUuid)!;
  const known = await store.calls.findByProviderId('vonage', e.conversationUuid);
  const callSid = known?.callSid ?? vonageCallIdOf(e.conversationUuid)!;
  const log = request.log.child({ callSid, recordingSid });
  const fresh = await store.providerEvents.add({ provider: 'vonage', eventKey: `recording:${e.recordingUuid}`, callSid, kind: 'recording', payload: e.stored });
  // A repeat after everything was stored changes nothing; one after a crash mid-way completes it.
  if (!fresh && (await store.recordings.get(recordingSid))) {
    log.info('duplicate Vonage recording event ignored');
    return reply.code(204).send();
  }
  if (!known && !(await store.calls.get(callSid))) {
    // A call the gateway did not place: who called is unknown, but the split is the same: the
    // left channel is the first leg (the caller), taken as the customer.
    await store.calls.upsert({
      callSid, provider: 'vonage', providerCallId: e.conversationUuid, direction: 'inbound',
      agentTrack: 'outbound', customerTrack: 'inbound', status: 'unknown',
    });
  }
  // Calls the gateway places always record split:'conversation', so their files must be stereo.
  const ours = known?.direction === 'outbound';
  await store.recordings.upsert({
    recordingSid, provider: 'vonage', callSid, accountSid: null, providerStatus: 'completed', mediaPath: e.recordingUrl,
    channels: ours ? 2 : null, durationS: durationOf(e), startTime: e.startTime,
  });
  const payload: VonageDownloadPayload = { recordingSid, size: e.size };
  const { created } = await queue.enqueue(VONAGE_DOWNLOAD_JOB, vonageDownloadKey(recordingSid), payload);
  log.info({ enqueued: created }, 'Vonage recording event: download queued');
  return reply.code(204).send();
}
