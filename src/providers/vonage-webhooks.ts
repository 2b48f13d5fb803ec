// Vonage's webhooks (POST /vonage/recording, POST /vonage/event) in their own plugin, because the
// signature covers the exact bytes: this scope keeps the raw body (up to 64 KB) instead of parsing
// it, the signed-webhook JWT is checked against it, and only then is it read as JSON. Anything
// unsigned, mis-signed, replayed or tampered with gets 401 and nothing is stored.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { PostCall } from '../jobs/post-call.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Store } from '../store/db.js';
import { VONAGE_EVENT_PATH, VONAGE_RECORDING_PATH } from './vonage-contract.js';
import { handleVonageEvent } from './vonage-event.js';
import { rawBody } from './vonage-body.js';
import { checkSignedWebhook } from './vonage-jwt.js';
import { handleVonageRecording } from './vonage-recording.js';

export interface VonageWebhookDeps {
  config: Config;
  store: Store;
  queue: JobQueue;
  postCall: PostCall;
}

/** Recording and call events are a few hundred bytes; anything near this is not Vonage. */
export const VONAGE_WEBHOOK_BODY_LIMIT = 64 * 1024;
/** A captured webhook replayed later than this is refused (Vonage delivers within seconds). */
export const VONAGE_WEBHOOK_MAX_AGE_S = 300;
const MAX_CLOCK_SKEW_S = 60;

function signedWebhook(config: Config) {
  const { signatureSecret, apiKey } = config.vonage;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!signatureSecret) {
      request.log.error('VONAGE_SIGNATURE_SECRET is not set: Vonage webhooks cannot be verified and are refused');
      await reply.code(401).send({ error: 'VONAGE_SIGNATURE_SECRET is not set on the gateway: signed Vonage webhooks cannot be verified' });
      return;
    }
    const check = checkSignedWebhook(request.headers.authorization, rawBody(request), {
      secret: signatureSecret, apiKey, maxAgeS: VONAGE_WEBHOOK_MAX_AGE_S, maxSkewS: MAX_CLOCK_SKEW_S,
    });
    if (!check.ok) {
      request.log.warn({ reason: check.reason }, 'Vonage webhook refused: signature check failed');
      await reply.code(401).send({ error: `invalid Vonage webhook signature: ${check.reason}` });
    }
  };
}

export async function registerVonageWebhooks(app: FastifyInstance, deps: VonageWebhookDeps): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: VONAGE_WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));
    const opts = { preHandler: signedWebhook(deps.config), bodyLimit: VONAGE_WEBHOOK_BODY_LIMIT };
    scope.post(VONAGE_RECORDING_PATH, opts, (request, reply) => handleVonageRecording(deps, request, reply));
    scope.post(VONAGE_EVENT_PATH, opts, (request, reply) => handleVonageEvent(deps, request, reply));
  });
}
