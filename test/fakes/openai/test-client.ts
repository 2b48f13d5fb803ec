/**
 * Helpers for the fake's own tests: test audio with tone bursts at known times, uploads built
 * like the openai SDK builds them (global FormData + File), and hand-made multipart bodies for
 * the cases FormData cannot produce.
 */
import { TRANSCRIPTIONS_PATH } from './routes.js';
import { encodeWav } from './wav.js';

/** Burst times in seconds: `[start, end]`. */
export type Span = readonly [number, number];

/** A channel of silence with 440 Hz bursts at `spans`; `noise` adds low-level hiss (peak, PCM16 units). */
export function bursts(sampleRate: number, durationS: number, spans: readonly Span[], opts: { amplitude?: number; noise?: number } = {}): Int16Array {
  const out = new Int16Array(Math.round(durationS * sampleRate));
  const amplitude = opts.amplitude ?? 8000;
  let seed = 12345;
  for (let i = 0; i < out.length; i++) {
    // A fixed LCG rather than Math.random, so the audio (and its fingerprint) is the same every run.
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const hiss = opts.noise ? Math.round(((seed / 0x7fffffff) * 2 - 1) * opts.noise) : 0;
    out[i] = hiss;
  }
  for (const [from, to] of spans) {
    for (let i = Math.round(from * sampleRate); i < Math.round(to * sampleRate) && i < out.length; i++) {
      out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / sampleRate));
    }
  }
  return out;
}

export const monoWav = (sampleRate: number, durationS: number, spans: readonly Span[]): Buffer =>
  encodeWav(sampleRate, [bursts(sampleRate, durationS, spans)]);

export type Fields = Record<string, string | string[]>;

/** The form the openai SDK sends: `file` as a File with a name, arrays as `name[]` repeated. */
export function sdkForm(file: Uint8Array, filename: string, fields: Fields): FormData {
  const form = new FormData();
  form.append('file', new File([file], filename, { type: 'audio/wav' }));
  for (const [k, v] of Object.entries(fields)) {
    if (Array.isArray(v)) v.forEach((x) => form.append(`${k}[]`, x));
    else form.append(k, v);
  }
  return form;
}

export interface Client {
  post(body: FormData | Buffer, headers?: Record<string, string>): Promise<Response>;
  /** POST a WAV with fields; resolves to status and parsed body (JSON when the server says so). */
  transcribe(wav: Uint8Array, fields: Fields, filename?: string): Promise<{ status: number; body: unknown; type: string | null; res: Response }>;
}

export function client(url: string, apiKey: string): Client {
  const post: Client['post'] = (body, headers = {}) =>
    fetch(url + TRANSCRIPTIONS_PATH, { method: 'POST', body, headers: { authorization: `Bearer ${apiKey}`, ...headers } });
  return {
    post,
    async transcribe(wav, fields, filename = 'call.wav') {
      const res = await post(sdkForm(wav, filename, fields));
      const type = res.headers.get('content-type');
      const body: unknown = type?.startsWith('application/json') ? await res.json() : await res.text();
      return { status: res.status, body, type, res };
    },
  };
}

export const BOUNDARY = 'test-boundary-7MA4YWxkTrZu0gW';

/** A multipart body from raw part strings (each part's headers and content), closed or not. */
export function rawMultipart(parts: { headers: string; content: string | Buffer }[], close = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(`--${BOUNDARY}\r\n${p.headers}\r\n\r\n`), Buffer.from(p.content), Buffer.from('\r\n'));
  if (close) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

export const MULTIPART = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

/** An OpenAI error body's `error` object. */
export function apiError(body: unknown): { message: string; type: string; param: string | null; code: string | null } {
  return (body as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
}
