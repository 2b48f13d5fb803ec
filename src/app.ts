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
import { PgTranscriptHub } from './transcription/pg-hub.js';
import { LiveTranscription } from './transcription/live.js';
import { twilioCredentials, type Config } from './config.js';
import { CLOUD_DELETE_JOB, cloudDeleteHandler, downloadHandler } from './jobs/download.js';
import { registerElevenLabsJobs } from './jobs/elevenlabs.js';
import { createPostCall, type PostCall } from './jobs/post-call.js';
import { JobQueue } from './jobs/queue.js';
import { RECONCILE_JOB, reconcileHandler } from './jobs/reconcile.js';
import { SWEEP_JOB, sweepHandler } from './jobs/sweep.js';
import { TRANSCRIBE_JOB, transcribeHandler } from './jobs/transcribe.js';
import { openAiTranscriber, type Transcriber } from './transcription/openai.js';
import { createLogger, type Logger } from './log.js';
import { registerElevenLabs } from './providers/elevenlabs.js';
import { registerObservability } from './metrics/index.js';
import { openStore, type Store } from './store/db.js';
import type { CallFiles } from './storage/call-files.js';
import { createCallFiles } from './storage/index.js';
import { SpoolUploader } from './storage/spool-uploader.js';
import { registerMediaStream, MAX_MESSAGE_BYTES } from './twilio/media-stream.js';
import { registerVonageMediaStream } from './providers/vonage-media-stream.js';
import { VONAGE_DOWNLOAD_JOB, vonageDownloadHandler } from './providers/vonage-download.js';
import { vonageAppCredentials } from './providers/vonage-jwt.js';
import { VonageRest } from './providers/vonage-rest.js';
import { registerVonageWebhooks } from './providers/vonage-webhooks.js';
import { vonageCallsRoutes } from './api/vonage-calls.js';
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
  files: CallFiles;
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
function createQueue(config: Config, store: Store, files: CallFiles, rest: TwilioRest | null, transcriber: Transcriber | null, log: Logger): { queue: JobQueue; postCall: PostCall } {
  const { concurrency, maxAttempts, pollMs, backoffBaseMs, backoffMaxMs, leaseMs } = config.jobs;
  const queue = new JobQueue({
    jobs: store.jobs, instanceId: config.instanceId, log, concurrency, maxAttempts, pollMs, leaseMs,
    backoff: { baseMs: backoffBaseMs, maxMs: backoffMaxMs },
  });
  const cloudEnabled = config.cloud.enabled;
  const postCall = createPostCall({ queue, store, cloudEnabled, remote: config.storage !== undefined, sweepAfterS: config.cloud.sweepAfterS, log });
  queue.register(RECONCILE_JOB, reconcileHandler({
    store, files, cloudEnabled, onDone: (callSid, key) => postCall.reconciled(callSid, key),
  }));
  const t = config.transcription;
  queue.register(TRANSCRIBE_JOB, transcribeHandler({ store, files, language: t.language, redact: t.redact, transcriber }));
  registerElevenLabsJobs(queue, { config, store, files });
  if (cloudEnabled && rest && config.twilio.accountSid) {
    const deps = {
      store, rest, queue, files, deleteAfterDownload: config.cloud.deleteAfterDownload,
      onSettled: (callSid: string) => postCall.cloudSettled(callSid),
    };
    queue.register(DOWNLOAD_JOB, downloadHandler(deps), { timeoutMs: DOWNLOAD_TIMEOUT_MS });
    queue.register(SWEEP_JOB, sweepHandler({ ...deps, accountSid: config.twilio.accountSid }));
    queue.register(CLOUD_DELETE_JOB, cloudDeleteHandler(deps));
  }
  // Vonage recordings arrive by their own webhook, whether or not Twilio's cloud recording is on.
  const vonageCreds = vonageAppCredentials(config.vonage);
  const vonageRest = new VonageRest({ apiBaseUrl: config.vonage.apiBaseUrl, credentials: vonageCreds.ok ? vonageCreds.credentials : null, timeoutMs: config.cloud.httpTimeoutMs });
  queue.register(VONAGE_DOWNLOAD_JOB, vonageDownloadHandler({
    store, rest: vonageRest, files, onSettled: (callSid) => postCall.cloudSettled(callSid),
  }), { timeoutMs: DOWNLOAD_TIMEOUT_MS });
  return { queue, postCall };
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const log = deps.logger ?? createLogger(config.logLevel);
  fs.mkdirSync(config.recordingsDir, { recursive: true });
  const files = createCallFiles(config);
  const store = await openStore({ databasePath: config.databasePath, databaseUrl: config.databaseUrl, log });
  try {
    await initResampler();
    await repairInterruptedCaptures(store, config.recordingsDir, config.instanceId, log);
    await files.clearWork();
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
  const { queue, postCall } = createQueue(config, store, files, rest, transcriber, log);
  // With Postgres, live transcript lines reach viewers on every gateway.
  const hub = config.databaseUrl ? await PgTranscriptHub.start(config.databaseUrl, log) : new TranscriptHub();
  const live = transcriber && t.live
    ? new LiveTranscription({ transcriber, store, hub, log, language: t.language, redact: t.redact, concurrency: LIVE_CONCURRENCY })
    : null;
  const keys = await loadApiKeys(config.api.keys, store, config.recordingsDir, log);
  const mediaSecret = await store.settings.getOrCreate('media_url_secret', () => randomBytes(32).toString('base64url'));
  const signer = mediaSigner(mediaSecret, config.publicUrl, config.api.mediaUrlTtlS);
  const uploader = new SpoolUploader({ files, store, instanceId: config.instanceId, log, onStored: (callSid) => postCall.captureStored(callSid) });
  const registry = new SessionRegistry({
    recordingsDir: config.recordingsDir,
    instanceId: config.instanceId,
    capture: config.capture,
    store,
    log,
    onFinished: (callSid) => {
      postCall.callEnded(callSid);
      // With object storage, post-call work waits until the files are uploaded (onStored).
      if (!files.remote) postCall.captureFinished(callSid);
      uploader.callFinished(callSid);
    },
    tapFor: live ? (start) => live.tapFor(start) : undefined,
  });
  const signatures = config.twilio.enabled ? signatureChecker(config, log) : noSignatureChecks;
  if (!config.twilio.enabled) log.info('TWILIO_ENABLED=false: the Twilio routes are off (Vonage and ElevenLabs only)');

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    trustProxy: true,
    bodyLimit: 1024 * 1024,
    requestTimeout: 30_000,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setErrorHandler(errorHandler);
  app.decorate('gateway', { config, store, registry, queue, postCall, files });
  // First, so its request timing hook covers every route registered after it.
  registerObservability(app, { config, store, registry, queue, keys, log });
  if (files.remote) app.health.addCheck('storage', () => files.store.probe());
  // Captures close with reason "shutdown" before the WebSocket plugin drops the sockets.
  app.addHook('preClose', async () => registry.closeAll('shutdown'));
  app.addHook('onReady', async () => {
    // A spool a crash left behind (repaired above) goes up before new work starts.
    const resumed = await uploader.resume();
    if (resumed > 0) log.info({ streams: resumed }, 'uploading captures left in the spool');
    await queue.start();
  });
  app.addHook('onClose', async () => {
    await uploader.stop();
    await registry.closeAll('shutdown');
    await live?.drain();
    await hub.close();
    await queue.stop();
    await store.close();
  });
  await app.register(formbody);
  await registerDocs(app);
  await app.register(websocket, { options: { maxPayload: MAX_MESSAGE_BYTES * 4 } });

  if (config.twilio.enabled) registerVoice(app, { config, store, signatures, tokenSecret, postCall });
  if (config.cloud.enabled) registerRecordingCallback(app, { store, queue, signatures, postCall });
  registerElevenLabs(app, { config, store, files, queue });
  if (config.twilio.enabled) registerMediaStream(app, { registry, signatures, tokenSecret, log });
  registerVonageMediaStream(app, { registry, store, tokenSecret, log });
  await registerVonageWebhooks(app, { config, store, queue, postCall });
  registerToken(app, { config, keys });
  registerWebApp(app);
  await registerApi(app, keys, { config, store, queue, signer, files, twilio: rest, transcriber, hub }, [...API_ROUTES, vonageCallsRoutes({ tokenSecret })]);
  return app;
}
