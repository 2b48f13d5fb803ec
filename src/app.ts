// buildApp wires the gateway in pipeline order and never listens: server.ts does, and tests
// build the real app around temporary folders.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import formbody from '@fastify/formbody';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { initResampler } from './audio/resample.js';
import { SessionRegistry } from './capture/registry.js';
import { repairInterruptedCaptures } from './capture/repair.js';
import { errorHandler, registerApi, registerDocs, type ApiRoutes } from './api/index.js';
import { loadApiKeys } from './api/auth.js';
import { registerCallsApi } from './api/calls.js';
import { registerLiveApi } from './api/live.js';
import { mediaSigner } from './api/media.js';
import { registerRecordingsApi } from './api/recordings.js';
import { registerTranscriptApi } from './api/transcript.js';
import { TranscriptHub } from './transcription/hub.js';
import { LiveTranscription } from './transcription/live.js';
import { twilioCredentials, type Config } from './config.js';
import { CLOUD_DELETE_JOB, cloudDeleteHandler, downloadHandler } from './jobs/download.js';
import { createPostCall, type PostCall } from './jobs/post-call.js';
import { JobQueue } from './jobs/queue.js';
import { RECONCILE_JOB, reconcileHandler } from './jobs/reconcile.js';
import { SWEEP_JOB, sweepHandler } from './jobs/sweep.js';
import { TRANSCRIBE_JOB, transcribeHandler } from './jobs/transcribe.js';
import { openAiTranscriber, type Transcriber } from './transcription/openai.js';
import { createLogger, type Logger } from './log.js';
import { openStore, type Store } from './store/db.js';
import { registerMediaStream, MAX_MESSAGE_BYTES } from './twilio/media-stream.js';
import { DOWNLOAD_JOB, registerRecordingCallback } from './twilio/recording-callback.js';
import { TwilioRest } from './twilio/rest.js';
import { createSignatureChecker, noSignatureChecks, type SignatureChecker } from './twilio/signature.js';
import { registerVoice } from './twilio/voice.js';
import { registerToken } from './twilio/token.js';
import { registerWebApp } from './web/plugin.js';

export interface AppDeps {
  logger?: Logger;
}

export interface Gateway {
  config: Config;
  store: Store;
  registry: SessionRegistry;
  queue: JobQueue;
  postCall: PostCall;
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway;
  }
}

function signatureChecker(config: Config, log: Logger): SignatureChecker {
  const { authToken, validateSignatures } = config.twilio;
  if (validateSignatures && authToken) return createSignatureChecker(authToken, config.publicUrl);
  log.warn(
    'TWILIO_VALIDATE_SIGNATURES=false: Twilio signatures are NOT checked. Anyone who can reach ' +
      'this gateway can post webhooks and open media streams. Use this only for local development.',
  );
  return noSignatureChecks;
}

/** Route groups under /api, in the order they appear in the docs. */
const API_ROUTES: readonly ApiRoutes[] = [registerCallsApi, registerLiveApi, registerTranscriptApi, registerRecordingsApi];
/** live utterances transcribed at once, across all calls */
const LIVE_CONCURRENCY = 4;

/** A stalled transfer is caught by TWILIO_HTTP_TIMEOUT_MS; this bounds a slow trickle. */
const DOWNLOAD_TIMEOUT_MS = 30 * 60 * 1000;

/** Twilio's REST API, when credentials are configured. */
function createTwilioRest(config: Config): TwilioRest | null {
  const credentials = twilioCredentials(config.twilio);
  if (!credentials) return null;
  return new TwilioRest({ baseUrl: config.twilio.apiBaseUrl, credentials, timeoutMs: config.cloud.httpTimeoutMs });
}

/** Post-call jobs: the cloud-recording download, the sweep, the optional cloud delete,
 *  reconciliation and transcription. */
function createQueue(config: Config, store: Store, rest: TwilioRest | null, transcriber: Transcriber | null, log: Logger): { queue: JobQueue; postCall: PostCall } {
  const { concurrency, maxAttempts, pollMs, backoffBaseMs, backoffMaxMs } = config.jobs;
  const queue = new JobQueue({
    jobs: store.jobs, instanceId: config.instanceId, log, concurrency, maxAttempts, pollMs,
    backoff: { baseMs: backoffBaseMs, maxMs: backoffMaxMs },
  });
  const cloudEnabled = config.cloud.enabled;
  const postCall = createPostCall({ queue, store, cloudEnabled, sweepAfterS: config.cloud.sweepAfterS, log });
  queue.register(RECONCILE_JOB, reconcileHandler({
    store, recordingsDir: config.recordingsDir, cloudEnabled, onDone: (callSid, key) => postCall.reconciled(callSid, key),
  }));
  const t = config.transcription;
  queue.register(TRANSCRIBE_JOB, transcribeHandler({ store, recordingsDir: config.recordingsDir, language: t.language, redact: t.redact, transcriber }));
  if (cloudEnabled && rest && config.twilio.accountSid) {
    const deps = {
      store, rest, queue, recordingsDir: config.recordingsDir, deleteAfterDownload: config.cloud.deleteAfterDownload,
      onSettled: (callSid: string) => postCall.cloudSettled(callSid),
    };
    queue.register(DOWNLOAD_JOB, downloadHandler(deps), { timeoutMs: DOWNLOAD_TIMEOUT_MS });
    queue.register(SWEEP_JOB, sweepHandler({ ...deps, accountSid: config.twilio.accountSid }));
    queue.register(CLOUD_DELETE_JOB, cloudDeleteHandler(deps));
  }
  return { queue, postCall };
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const log = deps.logger ?? createLogger(config.logLevel);
  fs.mkdirSync(config.recordingsDir, { recursive: true });
  const store = await openStore({ databasePath: config.databasePath });
  try {
    await initResampler();
    await repairInterruptedCaptures(store, config.recordingsDir, config.instanceId, log);
  } catch (err) {
    await store.close();
    throw err;
  }
  const tokenSecret =
    config.streamTokenSecret ??
    (await store.settings.getOrCreate('stream_token_secret', () => randomBytes(32).toString('base64url')));
  const rest = createTwilioRest(config);
  const t = config.transcription;
  const transcriber = t.apiKey ? openAiTranscriber({ apiKey: t.apiKey, baseURL: t.baseURL, model: t.model, timeoutMs: t.timeoutMs }) : null;
  if (!transcriber) log.warn('OPENAI_API_KEY is not set: transcription is not configured (capture, download and reconciliation work without it)');
  const { queue, postCall } = createQueue(config, store, rest, transcriber, log);
  const hub = new TranscriptHub();
  const live = transcriber && t.live
    ? new LiveTranscription({ transcriber, store, hub, log, language: t.language, redact: t.redact, concurrency: LIVE_CONCURRENCY })
    : null;
  const keys = await loadApiKeys(config.api.keys, store, config.recordingsDir, log);
  const mediaSecret = await store.settings.getOrCreate('media_url_secret', () => randomBytes(32).toString('base64url'));
  const signer = mediaSigner(mediaSecret, config.publicUrl, config.api.mediaUrlTtlS);
  const registry = new SessionRegistry({
    recordingsDir: config.recordingsDir,
    instanceId: config.instanceId,
    capture: config.capture,
    store,
    log,
    onFinished: (callSid) => {
      postCall.callEnded(callSid);
      postCall.captureFinished(callSid);
    },
    tapFor: live ? (start) => live.tapFor(start) : undefined,
  });
  const signatures = signatureChecker(config, log);

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    trustProxy: true,
    bodyLimit: 1024 * 1024,
    requestTimeout: 30_000,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setErrorHandler(errorHandler);
  app.decorate('gateway', { config, store, registry, queue, postCall });
  // Captures close with reason "shutdown" before the WebSocket plugin drops the sockets.
  app.addHook('preClose', async () => registry.closeAll('shutdown'));
  app.addHook('onReady', async () => queue.start());
  app.addHook('onClose', async () => {
    await registry.closeAll('shutdown');
    await live?.drain();
    await queue.stop();
    await store.close();
  });
  await app.register(formbody);
  await registerDocs(app);
  await app.register(websocket, { options: { maxPayload: MAX_MESSAGE_BYTES * 4 } });

  app.get('/healthz', async (_request, reply) => {
    try {
      await store.knex.raw('select 1');
    } catch {
      return reply.code(503).send({ status: 'unavailable', store: 'unreachable' });
    }
    return { status: 'ok', instance_id: config.instanceId, active_streams: registry.size };
  });
  registerVoice(app, { config, store, signatures, tokenSecret, postCall });
  if (config.cloud.enabled) registerRecordingCallback(app, { store, queue, signatures, postCall });
  registerMediaStream(app, { registry, signatures, tokenSecret, log });
  registerToken(app, { config, keys });
  registerWebApp(app);
  await registerApi(app, keys, { config, store, queue, signer, twilio: rest, transcriber, hub }, API_ROUTES);
  return app;
}
