// POST /elevenlabs/post-call: ElevenLabs' post-call webhooks (protocol-facts §7) into the same
// calls, recordings and transcripts as Twilio's. The raw body is spooled and HMAC-checked as it
// streams (fastify's JSON parser and 1 MB limit do not apply here: this route lives in its own
// plugin). Answers fast and idempotently, since ElevenLabs disables a failing webhook: the
// transcript is turned into the call by a job, and audio is decoded from the spool, never held.
import fs from 'node:fs';
import type { FastifyBaseLogger as Log, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Mp3FormatError } from '../audio/mp3.js';
import type { Config } from '../config.js';
import { elevenLabsIdOf } from '../ids.js';
import { ELEVENLABS_TRANSCRIPT_JOB, transcriptJobKey } from '../jobs/elevenlabs.js';
import type { JobQueue } from '../jobs/queue.js';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import { Base64Error, Mp3PartFile, audioApiPath, audioReady, ensureAudioRecording, withAudioLock, type SavedMp3 } from './elevenlabs-audio.js';
import { bodyHmac, parseSignatureHeader, signatureMatches, SIGNATURE_HEADER, timestampProblem } from './elevenlabs-signature.js';
import { BodyTooLarge, clearSpool, decodeAudioFromSpool, spoolBody, spoolDirOf, type Spooled } from './elevenlabs-spool.js';
import { callFactsOf } from './elevenlabs-transcript.js';
import { JsonSyntaxError } from './elevenlabs-json.js';

export const ELEVENLABS_POST_CALL_PATH = '/elevenlabs/post-call';
/** Bodies other than post_call_audio are parsed whole; past this they are refused. */
export const MAX_JSON_BYTES = 20 * 1024 * 1024;
const FIELDS = ['type', 'event_timestamp', 'data.conversation_id', 'data.agent_id'];

export interface ElevenLabsDeps {
  config: Pick<Config, 'recordingsDir' | 'instanceId' | 'elevenlabs'>;
  files: CallFiles;
  store: Store;
  queue: JobQueue;
}

type Reply = { code: number; body: Record<string, unknown> };
const answer = (code: number, body: Record<string, unknown>): Reply => ({ code, body });
const refuse = (code: number, error: string): Reply => answer(code, { error });

/** Answers; when the body was not read to its end, closes the connection instead of reading on. */
function send(request: FastifyRequest, reply: FastifyReply, r: Reply) {
  if (!request.raw.complete) {
    reply.header('connection', 'close');
    reply.raw.once('finish', () => request.raw.destroy());
  }
  return reply.code(r.code).send(r.body);
}

export function registerElevenLabs(app: FastifyInstance, deps: ElevenLabsDeps): void {
  void app.register(async (scope) => {
    // Every content type reaches the handler unread: it streams the raw body itself.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    // Bodies a killed process was receiving are of no use: ElevenLabs sends again.
    scope.addHook('onReady', () => clearSpool(spoolDirOf(deps.config.recordingsDir, deps.config.instanceId)));
    let secretWarned = false;
    scope.post(ELEVENLABS_POST_CALL_PATH, { schema: { hide: true } }, async (request, reply) => {
      const secret = deps.config.elevenlabs.webhookSecret;
      if (!secret) {
        if (!secretWarned) request.log.error('ELEVENLABS_WEBHOOK_SECRET is not set: every ElevenLabs post-call webhook is refused');
        secretWarned = true;
        return send(request, reply, refuse(401, 'ELEVENLABS_WEBHOOK_SECRET is not set: the gateway cannot verify ElevenLabs webhooks'));
      }
      return send(request, reply, await receive(request, deps, secret));
    });
  });
}

async function receive(request: FastifyRequest, deps: ElevenLabsDeps, secret: string): Promise<Reply> {
  const sig = parseSignatureHeader(request.headers[SIGNATURE_HEADER]);
  if (!sig) return refuse(401, 'missing or malformed ElevenLabs-Signature header (t=<unix>,v0=<hex>)');
  const stale = timestampProblem(sig.t);
  if (stale) return refuse(401, stale);
  const max = deps.config.elevenlabs.maxBodyBytes;
  if (Number(request.headers['content-length'] ?? 0) > max) return refuse(413, `the body is larger than ELEVENLABS_MAX_BODY_MB (${max} bytes)`);
  let spooled: Spooled;
  try {
    spooled = await spoolBody(request.raw, { dir: spoolDirOf(deps.config.recordingsDir, deps.config.instanceId), maxBytes: max, hmac: bodyHmac(secret, sig.t), collect: FIELDS });
  } catch (err) {
    if (err instanceof BodyTooLarge) return refuse(413, `the body is larger than ELEVENLABS_MAX_BODY_MB (${max} bytes)`);
    throw err;
  }
  try {
    if (!signatureMatches(spooled.hmacHex, sig)) {
      request.log.warn('ElevenLabs webhook with a wrong signature refused');
      return refuse(401, 'the ElevenLabs-Signature does not match the body');
    }
    if (spooled.jsonError) return refuse(400, `the body is not valid JSON: ${spooled.jsonError.message}`);
    return await dispatch(request.log, deps, spooled);
  } finally {
    await fs.promises.rm(spooled.file, { force: true });
  }
}

async function dispatch(log: Log, deps: ElevenLabsDeps, spooled: Spooled): Promise<Reply> {
  const type = spooled.fields.get('type');
  if (typeof type !== 'string') return refuse(400, 'the body has no "type"');
  const conversationId = spooled.fields.get('data.conversation_id');
  const callSid = typeof conversationId === 'string' ? elevenLabsIdOf(conversationId) : null;
  const known = type === 'post_call_transcription' || type === 'post_call_audio' || type === 'call_initiation_failure';
  if (known && (typeof conversationId !== 'string' || !callSid)) return refuse(400, 'data.conversation_id is missing or not a usable id');
  const conv = { conversationId: conversationId as string, callSid: callSid as string };
  const elog = log.child({ callSid, kind: type });
  if (type === 'post_call_audio') return audio(elog, deps, spooled, conv);
  if (known && spooled.bytes > MAX_JSON_BYTES) return refuse(413, `a ${type} body is larger than ${MAX_JSON_BYTES} bytes`);
  const body = await storedPayload(spooled, type);
  const eventKey = known ? `${type}:${conv.conversationId}` : `${type}:${callSid ? conv.conversationId : `sha256:${spooled.sha256}`}`;
  const fresh = await deps.store.providerEvents.add({ provider: 'elevenlabs', eventKey, callSid, kind: type, payload: body });
  if (type === 'post_call_transcription') {
    // Enqueued on repeats too (a no-op by key), so a crash between the two steps loses nothing.
    await deps.queue.enqueue(ELEVENLABS_TRANSCRIPT_JOB, transcriptJobKey(conv.callSid), conv);
  } else if (type === 'call_initiation_failure' && (fresh || !(await deps.store.calls.get(conv.callSid)))) {
    // on a repeat only when a crash came between storing the event and marking the call
    await initiationFailed(deps.store, conv, body.data ?? {});
  } else if (!known) {
    elog.warn('ElevenLabs webhook of an unknown type stored');
  }
  if (!fresh) elog.info('duplicate ElevenLabs webhook ignored');
  return fresh ? answer(200, { received: true, call_sid: callSid }) : answer(200, { duplicate: true, call_sid: callSid });
}

type Payload = Record<string, unknown> & { data?: Record<string, unknown> };

/** The body to keep with the event: parsed (without audio), or for an unknown type too large to
 *  parse, its identifying fields only. */
async function storedPayload(spooled: Spooled, type: string): Promise<Payload> {
  if (spooled.bytes > MAX_JSON_BYTES) {
    const f = (k: string) => spooled.fields.get(k) ?? null;
    return { type, event_timestamp: f('event_timestamp'), data: { conversation_id: f('data.conversation_id'), agent_id: f('data.agent_id') }, body_bytes: spooled.bytes };
  }
  const body = JSON.parse(await fs.promises.readFile(spooled.file, 'utf8')) as Payload;
  if (body.data && typeof body.data === 'object') delete body.data.full_audio;
  return body;
}

async function initiationFailed(store: Store, conv: { conversationId: string; callSid: string }, data: Record<string, unknown>) {
  const facts = callFactsOf(data);
  await store.calls.insertIfAbsent({
    callSid: conv.callSid, provider: 'elevenlabs', providerCallId: conv.conversationId, direction: facts.direction,
    agentTrack: 'outbound', customerTrack: 'inbound', status: 'failed',
  });
  await store.calls.setDetails(conv.callSid, { ...facts, status: 'failed' });
}

/** post_call_audio: decode into the recording, verified, before the event counts as received. */
async function audio(log: Log, deps: ElevenLabsDeps, spooled: Spooled, conv: { conversationId: string; callSid: string }): Promise<Reply> {
  const { store } = deps;
  const { callSid, conversationId } = conv;
  const eventKey = `post_call_audio:${conversationId}`;
  return withAudioLock(callSid, async () => {
    if (await store.providerEvents.get('elevenlabs', eventKey)) return answer(200, { duplicate: true, call_sid: callSid });
    await store.calls.insertIfAbsent({
      callSid, provider: 'elevenlabs', providerCallId: conversationId, direction: 'inbound', agentTrack: 'outbound', customerTrack: 'inbound', status: 'done',
    });
    await ensureAudioRecording(store, callSid, conversationId, 'delivered');
    const payload = (extra: Record<string, unknown>) => ({
      type: 'post_call_audio', event_timestamp: spooled.fields.get('event_timestamp') ?? null,
      data: { agent_id: spooled.fields.get('data.agent_id') ?? null, conversation_id: conversationId, full_audio_bytes: spooled.bytes, ...extra },
    });
    if (await audioReady(store, deps.files, callSid)) {
      await store.providerEvents.add({ provider: 'elevenlabs', eventKey, callSid, kind: 'post_call_audio', payload: payload({ kept: 'already_ready' }) });
      return answer(200, { received: true, call_sid: callSid, recording_sid: callSid, already_ready: true });
    }
    const saved = await decodeAudio(log, deps, spooled, conv);
    if ('code' in saved) return saved;
    const { file, mp3 } = saved;
    await store.providerEvents.add({ provider: 'elevenlabs', eventKey, callSid, kind: 'post_call_audio', payload: payload({ sha256: file.sha256, mp3_bytes: file.fileBytes }) });
    log.info({ bytes: file.fileBytes, durationS: file.fileDurationS, frames: mp3.frames }, 'ElevenLabs audio received and verified');
    return answer(200, { received: true, call_sid: callSid, recording_sid: callSid, bytes: file.fileBytes, duration_s: file.fileDurationS });
  });
}

/** The spooled full_audio into cloud.EL-….mp3, verified, and the recording marked ready; or the
 *  answer refusing it (the recording then says why). */
async function decodeAudio(log: Log, deps: ElevenLabsDeps, spooled: Spooled, conv: { conversationId: string; callSid: string }): Promise<SavedMp3 | Reply> {
  const { store } = deps;
  const { callSid, conversationId } = conv;
  await store.recordings.setState(callSid, 'downloading');
  const part = await Mp3PartFile.open(deps.files, callSid);
  try {
    if (!(await decodeAudioFromSpool(spooled.file, part))) {
      await part.abort();
      await store.recordings.setState(callSid, 'pending');
      return refuse(400, 'data.full_audio is missing or empty');
    }
    const saved = await part.commit();
    await store.recordings.upsert({ recordingSid: callSid, callSid, accountSid: null, providerStatus: 'delivered', mediaPath: audioApiPath(conversationId), durationS: saved.file.fileDurationS });
    await store.recordings.markReady(callSid, saved.file);
    return saved;
  } catch (err) {
    await part.abort();
    if (!(err instanceof Mp3FormatError || err instanceof Base64Error || err instanceof JsonSyntaxError)) {
      await store.recordings.setState(callSid, 'pending').catch(() => undefined);
      throw err;
    }
    const mp3 = err instanceof Mp3FormatError;
    const reason = mp3 ? `full_audio is not a usable MP3: ${err.message}` : err.message;
    await store.recordings.setState(callSid, 'failed', { code: mp3 ? err.code : 'bad_audio', reason });
    log.warn({ code: mp3 ? err.code : 'bad_audio' }, 'ElevenLabs audio refused');
    return refuse(mp3 ? 422 : 400, reason);
  }
}
