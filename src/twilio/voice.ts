// POST /twilio/voice: answers a call with TwiML that starts the media stream and the dual-channel
// cloud recording, then dials. Browser-placed calls (From client:…) dial the number they carry;
// calls from the phone network ring the agent's browser client.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { PostCall } from '../jobs/post-call.js';
import type { Store } from '../store/db.js';
import { CALL_SID } from './messages.js';
import { SIGNATURE_HEADER, streamToken, type SignatureChecker } from './signature.js';
import { buildCallTwiml, hangUp, sayAndHangUp, type DialTarget } from './twiml.js';
import { MEDIA_STREAM_PATH } from './media-stream.js';

export interface VoiceDeps {
  config: Config;
  store: Store;
  signatures: SignatureChecker;
  tokenSecret: string;
  postCall: PostCall;
}

type Form = Record<string, string | undefined>;

/** Rejects unsigned or mis-signed webhooks with 403 and no TwiML. */
export function signedForm(signatures: SignatureChecker) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const signature = request.headers[SIGNATURE_HEADER];
    const params = (request.body ?? {}) as Record<string, unknown>;
    if (!signatures.checkWebhook(typeof signature === 'string' ? signature : undefined, request.url, params)) {
      request.log.warn('Twilio webhook refused: missing or invalid X-Twilio-Signature');
      await reply.code(403).type('text/plain').send('invalid X-Twilio-Signature');
    }
  };
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** What the browser sent, minus the spaces, dashes, dots and brackets people type. */
export function normalizeNumber(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const n = raw.replace(/[\s\-().]/g, '');
  return E164.test(n) ? n : undefined;
}

type Plan = { ok: true; direction: 'inbound' | 'outbound'; dial: DialTarget } | { ok: false; say: string; reason: string };

function plan(form: Form, config: Config): Plan {
  if (!(form.From ?? '').startsWith('client:')) {
    return { ok: true, direction: 'inbound', dial: { kind: 'client', identity: config.agentIdentity } };
  }
  const to = normalizeNumber(form.To);
  if (form.To === undefined || form.To.trim() === '') {
    return { ok: false, say: 'No number to call was given. Goodbye.', reason: 'missing To' };
  }
  if (to === undefined) {
    return { ok: false, say: 'The number to call is not valid. Please dial it with the country code. Goodbye.', reason: 'malformed To' };
  }
  if (!config.dialAllowedPrefixes.some((p) => to.startsWith(p)) || config.twilio.callerId === undefined) {
    return { ok: false, say: 'Calls to this number are not allowed. Goodbye.', reason: 'To not in DIAL_ALLOWED_PREFIXES' };
  }
  return { ok: true, direction: 'outbound', dial: { kind: 'number', number: to, callerId: config.twilio.callerId } };
}

export function registerVoice(app: FastifyInstance, deps: VoiceDeps): void {
  const { config, store } = deps;
  const base = config.publicUrl;
  app.post('/twilio/voice', { preHandler: signedForm(deps.signatures) }, async (request, reply) => {
    const form = (request.body ?? {}) as Form;
    const callSid = form.CallSid ?? '';
    reply.type('text/xml');
    if (!CALL_SID.test(callSid)) {
      request.log.warn('voice webhook without a valid CallSid');
      return reply.code(400).send(sayAndHangUp('This call could not be handled. Goodbye.'));
    }
    const log = request.log.child({ callSid });
    const p = plan(form, config);
    if (!p.ok) {
      log.warn({ reason: p.reason }, 'call refused with a spoken error');
      return sayAndHangUp(p.say);
    }
    // inbound is the parent leg: the agent's browser on placed calls, the caller otherwise.
    const agentTrack = p.direction === 'outbound' ? 'inbound' : 'outbound';
    await store.calls.upsert({
      callSid,
      accountSid: form.AccountSid ?? null,
      direction: p.direction,
      fromNumber: form.From ?? null,
      toNumber: p.dial.kind === 'number' ? p.dial.number : (form.To ?? null),
      agentTrack,
      customerTrack: agentTrack === 'inbound' ? 'outbound' : 'inbound',
      status: form.CallStatus ?? 'ringing',
    });
    log.info({ direction: p.direction }, 'call answered: stream, recording and dial');
    return buildCallTwiml({
      streamUrl: base.replace(/^http/, 'ws') + MEDIA_STREAM_PATH,
      streamStatusUrl: `${base}/twilio/stream-status`,
      streamToken: streamToken(deps.tokenSecret, callSid),
      ...(config.cloud.enabled ? { recordingStatusUrl: `${base}/twilio/recording-status` } : {}),
      dialActionUrl: `${base}/twilio/call-status`,
      dial: p.dial,
    });
  });

  // The <Dial action> and the TwiML app's status callback: how a call's end is known even when
  // it had no stream or recording.
  app.post('/twilio/call-status', { preHandler: signedForm(deps.signatures) }, async (request, reply) => {
    const form = (request.body ?? {}) as Form;
    const callSid = form.CallSid ?? '';
    reply.type('text/xml');
    if (!CALL_SID.test(callSid)) return reply.code(400).send(hangUp());
    const status = form.DialCallStatus ?? form.CallStatus ?? 'completed';
    const ended = form.DialCallStatus !== undefined || ['completed', 'busy', 'failed', 'no-answer', 'canceled'].includes(status);
    await store.calls.setStatus(callSid, status, ended ? new Date().toISOString() : undefined);
    if (ended) deps.postCall.callEnded(callSid);
    request.log.info({ callSid, status }, 'call status');
    return hangUp();
  });

  app.post('/twilio/stream-status', { preHandler: signedForm(deps.signatures) }, async (request, reply) => {
    const form = (request.body ?? {}) as Form;
    const fields = { callSid: form.CallSid, streamSid: form.StreamSid, event: form.StreamEvent };
    if (form.StreamEvent === 'stream-error') request.log.warn({ ...fields, error: form.StreamError }, 'Twilio reports a stream error');
    else request.log.info(fields, 'stream status');
    return reply.code(204).send();
  });
}
