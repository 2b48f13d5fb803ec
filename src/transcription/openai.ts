// Speech to text through the OpenAI transcription API (or any OpenAI-compatible server at
// OPENAI_BASE_URL). Retries are the job queue's business, so the SDK's own are off; errors come
// back as JobErrors that say whether another attempt can help.
import OpenAI, { toFile } from 'openai';
import { JobError, permanent, retryable } from '../jobs/errors.js';

export interface UploadSegment {
  /** seconds from the start of the uploaded audio */
  start: number;
  end: number;
  text: string;
}

export interface UploadTranscript {
  text: string;
  /** null when the model returns no times (gpt-4o transcribe models): our VAD times are used */
  segments: UploadSegment[] | null;
}

export interface Transcriber {
  readonly model: string;
  transcribe(wav: Buffer, opts?: { language?: string; signal?: AbortSignal }): Promise<UploadTranscript>;
}

export interface OpenAiOptions {
  apiKey: string;
  baseURL: string;
  model: string;
  timeoutMs: number;
}

/** whisper-1 alone returns segment times (verbose_json); the others answer json. */
const withSegments = (model: string) => model.startsWith('whisper');

export function openAiTranscriber(o: OpenAiOptions): Transcriber {
  const client = new OpenAI({ apiKey: o.apiKey, baseURL: o.baseURL, timeout: o.timeoutMs, maxRetries: 0 });
  return {
    model: o.model,
    async transcribe(wav, opts = {}) {
      const file = await toFile(wav, 'speech.wav', { type: 'audio/wav' });
      const common = { file, model: o.model, ...(opts.language ? { language: opts.language } : {}) };
      try {
        if (withSegments(o.model)) {
          const r = await client.audio.transcriptions.create(
            { ...common, response_format: 'verbose_json', timestamp_granularities: ['segment'] },
            { signal: opts.signal },
          );
          return { text: r.text, segments: (r.segments ?? []).map((s) => ({ start: s.start, end: s.end, text: s.text.trim() })) };
        }
        const r = await client.audio.transcriptions.create({ ...common, response_format: 'json' }, { signal: opts.signal });
        return { text: r.text, segments: null };
      } catch (err) {
        throw toJobError(err, opts.signal);
      }
    },
  };
}

function toJobError(err: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) return retryable('openai_timeout', 'the transcription request timed out', err);
  if (err instanceof OpenAI.APIConnectionError) return retryable('openai_unreachable', `the transcription service is unreachable: ${err.message}`, err);
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    const what = `the transcription service answered ${status}: ${err.message}`;
    if (status === 401 || status === 403) return permanent('openai_auth', `${what} (check OPENAI_API_KEY)`, err);
    if (status === 408 || status === 409 || status === 429 || status >= 500) return retryable('openai_unavailable', what, err);
    return permanent('openai_rejected', what, err);
  }
  return err instanceof JobError ? err : retryable('transcription_failed', (err as Error).message, err);
}
