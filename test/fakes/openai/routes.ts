/**
 * One transcription request, start to finish: route, Bearer auth, the bounded body read (413 the
 * moment the limit is passed), multipart parsing, fault injection, validation, audio decoding and
 * the transcript. Faults apply after auth and the body read, so a rule is never spent on a
 * request the API would have refused anyway, and a stall looks like a server that took the upload.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import {
  badMultipart, corruptAudio, incorrectKey, invalidUrl, missingKey, notImplemented, notMultipart, statusFaultReply,
  tooLarge, tooShort, type Reply,
} from './errors.js';
import { oddFields, summarize, validate, type TranscriptionRequest } from './form.js';
import { LANGUAGES } from './languages.js';
import { boundaryOf, MultipartError, parseMultipart, type Part } from './multipart.js';
import { render } from './render.js';
import { buildTranscript, detectSpeech, peakRms, type SpeechParams } from './speech.js';
import type { Fault, FaultRequest, FaultRule, RequestLogEntry, ScriptRule, SilentUpload, SuspiciousEntry, UploadAudio } from './types.js';
import { decodeWav, looksLikeWav, wavFingerprint, type DecodedWav } from './wav.js';

/** 25 MiB on the whole request body, as the real API counts it. */
export const MAX_UPLOAD_BYTES = 26_214_400;
export const TRANSCRIPTIONS_PATH = '/v1/audio/transcriptions';

export interface RouteContext {
  apiKey: string;
  params: SpeechParams;
  faults: FaultRule[];
  requests: RequestLogEntry[];
  silentUploads: SilentUpload[];
  suspicious: SuspiciousEntry[];
  scripts: ScriptRule[];
  timers: Set<NodeJS.Timeout>;
}

type Outcome = Reply | { type: 'stall' } | { type: 'reset' } | { type: 'gone' };
type Body = { kind: 'ok'; body: Buffer } | { kind: 'tooLarge'; read: number } | { kind: 'gone' };

/** Buffers at most `limit` bytes; past that it stops keeping chunks and answers at once. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return; // dropped: memory stays bounded while the client finishes sending
      n += c.length;
      if (n > limit) {
        over = true;
        chunks.length = 0;
        resolve({ kind: 'tooLarge', read: n });
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve({ kind: 'ok', body: Buffer.concat(chunks, n) }));
    req.on('close', () => resolve({ kind: 'gone' })); // no-op once resolved
    req.on('error', () => resolve({ kind: 'gone' }));
  });
}

function delay(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise((resolve) => {
    // Tracked so close() can cancel it instead of leaving the process waiting on it.
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, ms);
    timers.add(t);
  });
}

/** Every matching latency rule (they add up), then the first matching rule of any other type. */
function takeFaults(rules: FaultRule[], req: FaultRequest): { latencyMs: number; fault?: Exclude<Fault, { type: 'latency' }> } {
  const matches = (r: FaultRule): boolean => r.times > 0 && (r.match ? r.match(req) : true);
  let latencyMs = 0;
  for (const r of rules) {
    if (r.fault.type === 'latency' && matches(r)) {
      r.times--;
      latencyMs += r.fault.ms;
    }
  }
  for (const r of rules) {
    if (r.fault.type !== 'latency' && matches(r)) {
      r.times--;
      return { latencyMs, fault: r.fault };
    }
  }
  return { latencyMs };
}

/** Checks that need no body: a refusal here is sent while the client may still be uploading. */
function preflight(ctx: RouteContext, req: http.IncomingMessage, method: string, path: string): Reply | string {
  if (method !== 'POST' || path !== TRANSCRIPTIONS_PATH) return invalidUrl(method, path);
  const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!auth) return missingKey();
  if (auth[1] !== ctx.apiKey) return incorrectKey(auth[1]!);
  const boundary = boundaryOf(req.headers['content-type']);
  if (boundary === null) return notMultipart(req.headers['content-type'] ?? '');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_UPLOAD_BYTES) return tooLarge(MAX_UPLOAD_BYTES, declared);
  return boundary;
}

function transcribe(ctx: RouteContext, r: TranscriptionRequest, wav: DecodedWav, entry: RequestLogEntry): Reply {
  const durationS = (wav.channels[0]?.length ?? 0) / wav.sampleRate;
  entry.durationS = durationS;
  entry.fingerprint = wavFingerprint(wav);
  if (durationS < 0.1) return tooShort();
  const speech = detectSpeech(wav.sampleRate, wav.channels, ctx.params);
  const upload: UploadAudio = {
    filename: r.filename, model: r.model, fingerprint: entry.fingerprint, sampleRate: wav.sampleRate, channels: wav.channels, durationS, speech,
  };
  const scripted = ctx.scripts.find((s) => (typeof s.match === 'string' ? s.match === upload.fingerprint : s.match(upload)))?.text;
  const t = buildTranscript(speech, durationS, scripted);
  if (t.silent) {
    ctx.silentUploads.push({
      at: new Date(), filename: r.filename, model: r.model, durationS, peakRms: peakRms(wav.sampleRate, wav.channels), fingerprint: entry.fingerprint,
    });
  }
  entry.text = t.text;
  return render(t, r.responseFormat, {
    model: r.model, usage: r.spec.usage, languageName: LANGUAGES.get(r.language ?? 'en') ?? 'english', temperature: r.temperature,
    granularities: r.granularities, ...(r.prompt !== undefined ? { prompt: r.prompt } : {}),
  });
}

function answer(ctx: RouteContext, parts: Part[], entry: RequestLogEntry): Reply {
  const note = (reason: string): void => void ctx.suspicious.push({ at: new Date(), reason });
  oddFields(parts).forEach(note);
  const r = validate(parts, note);
  if ('status' in r) return r;
  // The API sniffs content, so a WAV named .mp3 still decodes; only .wav promises a WAV.
  if (r.ext !== 'wav' && !looksLikeWav(r.data)) return notImplemented(`decoding .${r.ext} uploads (send WAV, PCM16)`);
  const decoded = decodeWav(r.data);
  if (decoded.kind === 'corrupt') return corruptAudio();
  if (decoded.kind === 'unsupported') return notImplemented(decoded.reason);
  decoded.wav.notes.forEach((n) => note(`${r.filename}: ${n}`));
  return transcribe(ctx, r, decoded.wav, entry);
}

async function outcome(ctx: RouteContext, req: http.IncomingMessage, entry: RequestLogEntry): Promise<Outcome> {
  const pre = preflight(ctx, req, entry.method, entry.path);
  if (typeof pre !== 'string') return pre;
  const body = await readBody(req, MAX_UPLOAD_BYTES);
  if (body.kind === 'gone') return { type: 'gone' };
  if (body.kind === 'tooLarge') {
    entry.bytes = body.read;
    return tooLarge(MAX_UPLOAD_BYTES, body.read);
  }
  entry.bytes = body.body.length;
  let parts: Part[] | undefined;
  let parseError: Reply | undefined;
  try {
    parts = parseMultipart(body.body, pre);
    const s = summarize(parts);
    Object.assign(entry, {
      model: s.model, filename: s.filename, responseFormat: s.responseFormat, timestampGranularities: s.granularities, bytes: s.fileBytes,
      ...(s.language !== undefined ? { language: s.language } : {}), ...(s.prompt !== undefined ? { prompt: s.prompt } : {}),
    });
  } catch (err) {
    if (!(err instanceof MultipartError)) throw err;
    parseError = badMultipart(err.message);
  }
  const { latencyMs, fault } = takeFaults(ctx.faults, { model: entry.model, filename: entry.filename, responseFormat: entry.responseFormat, bytes: entry.bytes });
  if (latencyMs > 0) await delay(latencyMs, ctx.timers);
  if (fault?.type === 'status') return statusFaultReply(fault.status, entry.model, fault.retryAfter, fault.message);
  if (fault) return fault;
  return parseError ?? answer(ctx, parts ?? [], entry);
}

export async function handle(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const started = performance.now();
  const entry: RequestLogEntry = {
    at: new Date(), method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://fake.invalid').pathname,
    model: null, responseFormat: null, filename: null, timestampGranularities: [], bytes: 0, durationS: null, fingerprint: null,
  };
  ctx.requests.push(entry);
  const out = await outcome(ctx, req, entry);
  if ('type' in out) {
    if (out.type === 'reset') req.socket.destroy();
    return; // a stall leaves the socket open until the client or close() ends it
  }
  if (res.destroyed) return; // the client gave up (during injected latency, say)
  entry.status = out.status;
  const headers: Record<string, string> = {
    ...out.headers, 'content-length': String(out.body.length), 'x-request-id': `req_${randomBytes(16).toString('hex')}`,
    'openai-version': '2020-10-01', 'openai-processing-ms': String(Math.round(performance.now() - started)),
  };
  // Refused before the upload was read in full: close, so the unread rest cannot poison keep-alive.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(out.status, headers);
  res.end(out.body);
}
