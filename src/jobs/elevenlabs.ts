// ElevenLabs' post-call work, off the webhook: the stored post_call_transcription becomes the
// call's row and transcript; when it says ElevenLabs holds audio that has not come by webhook
// within ELEVENLABS_AUDIO_WAIT_S, the audio is fetched from the API. ElevenLabs calls are never
// reconciled or transcribed by us: their recording is one mixed track and the transcript is theirs.
import fs from 'node:fs';
import path from 'node:path';
import { Mp3FormatError } from '../audio/mp3.js';
import type { Config } from '../config.js';
import { ElevenLabsApi } from '../providers/elevenlabs-api.js';
import { Mp3PartFile, audioApiPath, audioReady, ensureAudioRecording, withAudioLock } from '../providers/elevenlabs-audio.js';
import { callFactsOf, saysHasAudio, transcriptLinesOf } from '../providers/elevenlabs-transcript.js';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import { errorCode, isRetryable, permanent } from './errors.js';
import type { JobHandler, JobQueue } from './queue.js';

export const ELEVENLABS_TRANSCRIPT_JOB = 'elevenlabs-transcript';
export const ELEVENLABS_AUDIO_JOB = 'elevenlabs-audio-fetch';
/** Keys name the call id as one segment, so the call's job list (relatedJobIds) finds them. */
export const transcriptJobKey = (callSid: string) => `elevenlabs-transcript:${callSid}`;
export const audioJobKey = (callSid: string) => `elevenlabs-audio:${callSid}`;
export const transcriptionEventKey = (conversationId: string) => `post_call_transcription:${conversationId}`;

export interface ElevenLabsJobDeps {
  config: Pick<Config, 'recordingsDir' | 'elevenlabs' | 'transcription'>;
  store: Store;
  files: CallFiles;
  queue: JobQueue;
  /** for the API's response headers and each body gap */
  httpTimeoutMs?: number;
}

interface ConversationJob {
  callSid: string;
  conversationId: string;
}

const HTTP_TIMEOUT_MS = 30_000;
/** A stalled transfer is caught by the idle timer; this bounds a slow trickle. */
const FETCH_TIMEOUT_MS = 30 * 60 * 1000;

/** The call row as the payload describes it; created when the audio webhook has not made it yet. */
async function upsertCall(store: Store, job: ConversationJob, data: Record<string, unknown>): Promise<void> {
  const facts = callFactsOf(data);
  await store.calls.insertIfAbsent({
    callSid: job.callSid, provider: 'elevenlabs', providerCallId: job.conversationId, direction: facts.direction,
    agentTrack: 'outbound', customerTrack: 'inbound', status: facts.status ?? 'done',
  });
  // Both orders end alike: an audio-first row gets the transcript's facts here.
  await store.calls.setDetails(job.callSid, facts);
}

async function writeTranscriptJson(files: CallFiles, callSid: string, doc: unknown): Promise<void> {
  const work = await files.checkout(callSid, []);
  try {
    const file = path.join(work.dir, 'transcript.json');
    await fs.promises.writeFile(`${file}.part`, `${JSON.stringify(doc, null, 2)}\n`);
    await fs.promises.rename(`${file}.part`, file);
    await work.commit(['transcript.json']);
  } finally {
    await work.release();
  }
}

export function transcriptHandler(deps: ElevenLabsJobDeps): JobHandler {
  return async ({ payload, log }) => {
    const job = payload as ConversationJob;
    const event = await deps.store.providerEvents.get('elevenlabs', transcriptionEventKey(job.conversationId));
    const data = (event?.payload as { data?: Record<string, unknown> } | undefined)?.data;
    if (!data) throw permanent('no_event', 'the post_call_transcription event is not stored');
    await upsertCall(deps.store, job, data);
    const redact = deps.config.transcription.redact;
    const lines = transcriptLinesOf(data, { redact });
    const doc = { call_sid: job.callSid, source: 'post_call', model: 'elevenlabs', redacted: redact, lines };
    await writeTranscriptJson(deps.files, job.callSid, doc);
    // the file first, as transcribe.ts does: stored lines mean transcript.json is there too
    await deps.store.transcripts.replace(job.callSid, 'post_call', lines);
    let audio: 'none' | 'ready' | 'fetch_scheduled' = 'none';
    if (saysHasAudio(data)) {
      if (await audioReady(deps.store, deps.files, job.callSid)) audio = 'ready';
      else {
        await ensureAudioRecording(deps.store, job.callSid, job.conversationId, 'expected');
        const delayMs = deps.config.elevenlabs.audioWaitS * 1000;
        await deps.queue.enqueue(ELEVENLABS_AUDIO_JOB, audioJobKey(job.callSid), job, { delayMs });
        audio = 'fetch_scheduled';
      }
    }
    log.info({ callSid: job.callSid, lines: lines.length, audio }, 'ElevenLabs transcript stored');
    return { status: 'complete', lines: lines.length, audio };
  };
}

async function fetchAudio(deps: ElevenLabsJobDeps, job: ConversationJob, signal: AbortSignal) {
  const { store, config } = deps;
  const apiKey = config.elevenlabs.apiKey;
  if (!apiKey) throw permanent('not_configured', 'ELEVENLABS_API_KEY is not set: the conversation audio cannot be fetched from ElevenLabs');
  const api = new ElevenLabsApi({ baseUrl: config.elevenlabs.apiBaseUrl, apiKey, timeoutMs: deps.httpTimeoutMs ?? HTTP_TIMEOUT_MS });
  await store.recordings.setState(job.callSid, 'downloading');
  // Opened at the first byte, so a refused request leaves no file behind, not even briefly.
  let part: Mp3PartFile | undefined;
  try {
    await api.downloadAudio(job.conversationId, async (chunk) => {
      part ??= await Mp3PartFile.open(deps.files, job.callSid);
      await part.write(chunk);
    }, signal);
    if (!part) throw permanent('not_mp3', 'ElevenLabs served an empty audio body');
    return await part.commit();
  } catch (err) {
    await part?.abort();
    if (err instanceof Mp3FormatError) throw permanent(err.code, `the audio ElevenLabs served is not a usable MP3: ${err.message}`);
    throw err;
  }
}

export function audioFetchHandler(deps: ElevenLabsJobDeps): JobHandler {
  return async ({ job, payload, attempt, signal, log }) => {
    const conv = payload as ConversationJob;
    return withAudioLock(conv.callSid, async () => {
      // The webhook may have brought the audio while this job waited.
      if (await audioReady(deps.store, deps.files, conv.callSid)) return { skipped: 'audio already received' };
      try {
        const { file, mp3 } = await fetchAudio(deps, conv, signal);
        await deps.store.recordings.upsert({ recordingSid: conv.callSid, callSid: conv.callSid, accountSid: null, providerStatus: 'fetched', mediaPath: audioApiPath(conv.conversationId), durationS: file.fileDurationS });
        await deps.store.recordings.markReady(conv.callSid, file);
        log.info({ callSid: conv.callSid, bytes: file.fileBytes, durationS: file.fileDurationS, frames: mp3.frames }, 'ElevenLabs audio fetched and verified');
        return file;
      } catch (err) {
        if (signal.aborted) throw err;
        const final = !isRetryable(err) || attempt >= job.maxAttempts;
        const reason = err instanceof Error ? err.message : String(err);
        await deps.store.recordings.setState(conv.callSid, final ? 'failed' : 'pending', { code: errorCode(err), reason });
        throw err;
      }
    });
  };
}

/** The handlers, registered by app.ts's createQueue. */
export function registerElevenLabsJobs(queue: JobQueue, deps: Omit<ElevenLabsJobDeps, 'queue'>): void {
  const full = { ...deps, queue };
  queue.register(ELEVENLABS_TRANSCRIPT_JOB, transcriptHandler(full));
  queue.register(ELEVENLABS_AUDIO_JOB, audioFetchHandler(full), { timeoutMs: FETCH_TIMEOUT_MS });
}
