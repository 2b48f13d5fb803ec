// The REST API under /api (API key required, rate-limited per key), the signed media route,
// and the OpenAPI document at /docs generated from the route schemas.
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { JobQueue } from '../jobs/queue.js';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import type { TranscriptHub } from '../transcription/hub.js';
import type { Transcriber } from '../transcription/openai.js';
import type { TwilioRest } from '../twilio/rest.js';
import { API_KEY_HEADER, keyOf, requireApiKey, type ApiKeys } from './auth.js';
import { registerMedia, type MediaSigner } from './media.js';

export interface ApiDeps {
  config: Config;
  store: Store;
  queue: JobQueue;
  signer: MediaSigner;
  /** the calls' files, local or in object storage */
  files: CallFiles;
  /** null when Twilio credentials are not configured */
  twilio: TwilioRest | null;
  /** null when OPENAI_API_KEY is not set */
  transcriber: Transcriber | null;
  hub: TranscriptHub;
}

export type ApiRoutes = (api: FastifyInstance, deps: ApiDeps) => void;

/** Client errors say what was wrong; a 5xx says nothing about internals, only the request id. */
export function errorHandler(error: FastifyError, request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) {
  if (error.validation) return reply.code(400).send({ error: `Invalid request: ${error.message}` });
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ error: 'Internal server error', request_id: request.id });
  }
  return reply.code(status).send({ error: error.message });
}

export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'callvault', version: '0.1.0', description: 'Call recording gateway: calls, captures, cloud recordings, reconciliation, transcripts.' },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

export async function registerApi(app: FastifyInstance, keys: ApiKeys, deps: ApiDeps, routes: readonly ApiRoutes[]): Promise<void> {
  registerMedia(app, { signer: deps.signer, files: deps.files });
  await app.register(async (api) => {
    api.addHook('onRequest', requireApiKey(keys));
    await api.register(rateLimit, {
      max: deps.config.api.rateLimitPerMin,
      timeWindow: 60_000,
      // Per key, so one noisy client cannot starve the others behind the same proxy.
      keyGenerator: (request) => keyOf(request) ?? request.ip,
      errorResponseBuilder: (_request, ctx) =>
        Object.assign(new Error(`Rate limit exceeded: ${ctx.max} requests per minute per API key`), { statusCode: 429 }),
    });
    // Inside the scope, so the key is checked first: no key learns nothing about which paths exist.
    api.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'Not found' }));
    for (const register of routes) register(api, deps);
  }, { prefix: '/api' });
}

export { API_KEY_HEADER };
