/**
 * The transcription request's form fields: what each model accepts and the checks the API makes,
 * in the order that decides which error a request with several problems gets.
 */
import {
  incompatibleFormat, incompatibleGranularities, invalidLanguage, invalidTemperature, invalidValue, missingFields,
  modelNotFound, notImplemented, unsupportedExtension, type Reply,
} from './errors.js';
import { LANGUAGES } from './languages.js';
import type { Part } from './multipart.js';
import type { ResponseFormat } from './render.js';

export interface ModelSpec {
  formats: readonly string[];
  /** verbose_json and timestamp_granularities (whisper-1 alone). */
  timestamps: boolean;
  usage: 'duration' | 'tokens';
}

const WHISPER: ModelSpec = { formats: ['json', 'text', 'srt', 'verbose_json', 'vtt'], timestamps: true, usage: 'duration' };
const GPT4O: ModelSpec = { formats: ['json', 'text'], timestamps: false, usage: 'tokens' };

/** The SDK's AudioModel list (protocol-facts §8). gpt-transcribe bills by duration (observed live by others). */
export const MODELS: Readonly<Record<string, ModelSpec>> = {
  'whisper-1': WHISPER,
  'gpt-4o-transcribe': GPT4O,
  'gpt-4o-mini-transcribe': GPT4O,
  'gpt-4o-mini-transcribe-2025-12-15': GPT4O,
  'gpt-4o-transcribe-diarize': { ...GPT4O, formats: ['json', 'text', 'diarized_json'] },
  'gpt-transcribe': { ...GPT4O, usage: 'duration' },
};

/** The guide's list plus flac/ogg (SDK doc) and oga (in the API's own error message). */
export const SUPPORTED_EXTENSIONS: readonly string[] = ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm'];
const ALL_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json'] as const;
const GRANULARITIES = ['segment', 'word'] as const;
type Granularity = (typeof GRANULARITIES)[number];

const KNOWN_FIELDS = new Set([
  'file', 'model', 'response_format', 'language', 'prompt', 'temperature', 'timestamp_granularities[]',
  'timestamp_granularities', 'include[]', 'stream', 'chunking_strategy',
]);

export interface TranscriptionRequest {
  filename: string;
  ext: string;
  data: Buffer;
  model: string;
  spec: ModelSpec;
  responseFormat: ResponseFormat;
  language?: string;
  prompt?: string;
  temperature: number;
  granularities: Set<Granularity>;
}

/** The fields as sent, before any check: what the request log and fault predicates see. */
export interface FormSummary {
  model: string | null;
  filename: string | null;
  responseFormat: string | null;
  language?: string;
  prompt?: string;
  granularities: string[];
  fileBytes: number;
}

/** Starlette keeps the last value of a repeated field. */
const last = (parts: Part[], name: string): Part | undefined => parts.filter((p) => p.name === name).at(-1);
const text = (parts: Part[], name: string): string | undefined => last(parts, name)?.data.toString('utf8');
const all = (parts: Part[], name: string): string[] => parts.filter((p) => p.name === name).map((p) => p.data.toString('utf8'));

export function summarize(parts: Part[]): FormSummary {
  const file = last(parts, 'file');
  const language = text(parts, 'language');
  const prompt = text(parts, 'prompt');
  return {
    model: text(parts, 'model') ?? null, filename: file?.filename ?? null, responseFormat: text(parts, 'response_format') ?? null,
    ...(language !== undefined ? { language } : {}), ...(prompt !== undefined ? { prompt } : {}),
    granularities: [...all(parts, 'timestamp_granularities[]'), ...all(parts, 'timestamp_granularities')],
    fileBytes: file?.data.length ?? 0,
  };
}

/** Field names a correct client would not send: unknown ones (ignored by the API) and repeats. */
export function oddFields(parts: Part[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of parts) {
    if (!KNOWN_FIELDS.has(p.name)) out.push(`unknown form field "${p.name}" (the API ignores it)`);
    else if (seen.has(p.name) && !p.name.endsWith('[]')) out.push(`form field "${p.name}" sent more than once (the last one wins)`);
    seen.add(p.name);
  }
  return out;
}

function checkRequired(parts: Part[]): Reply | { file: Part & { filename: string }; model: string } {
  const file = last(parts, 'file');
  const model = text(parts, 'model');
  const problems: { name: string; kind: 'missing' | 'not_file' }[] = [];
  if (!file) problems.push({ name: 'file', kind: 'missing' });
  else if (file.filename === undefined) problems.push({ name: 'file', kind: 'not_file' });
  if (model === undefined) problems.push({ name: 'model', kind: 'missing' });
  if (problems.length > 0 || !file || file.filename === undefined || model === undefined) return missingFields(problems);
  return { file: { ...file, filename: file.filename }, model };
}

function checkOptions(parts: Part[], model: string, spec: ModelSpec, note: (why: string) => void): Reply | Omit<TranscriptionRequest, 'filename' | 'ext' | 'data' | 'model' | 'spec'> {
  const format = text(parts, 'response_format') ?? 'json';
  if (!(ALL_FORMATS as readonly string[]).includes(format)) return invalidValue('response_format', format, ALL_FORMATS);
  if (!spec.formats.includes(format)) return incompatibleFormat(format, model);
  if (format === 'diarized_json') return notImplemented('response_format diarized_json');
  const granularities = new Set<Granularity>();
  for (const g of summarize(parts).granularities) {
    if (!(GRANULARITIES as readonly string[]).includes(g)) return invalidValue('timestamp_granularities', g, GRANULARITIES);
    granularities.add(g as Granularity);
  }
  if (granularities.size > 0 && !spec.timestamps) return incompatibleGranularities(model);
  if (granularities.size > 0 && format !== 'verbose_json') note('timestamp_granularities without response_format verbose_json (ignored)');
  if (granularities.size === 0) granularities.add('segment');
  const language = text(parts, 'language');
  if (language !== undefined && !LANGUAGES.has(language)) return invalidLanguage(language);
  const t = text(parts, 'temperature');
  const temperature = t === undefined ? 0 : Number(t);
  if (t !== undefined && (t.trim() === '' || !Number.isFinite(temperature) || temperature < 0 || temperature > 1)) return invalidTemperature(t);
  if (last(parts, 'include[]')) return notImplemented('include[] (logprobs)');
  if (text(parts, 'stream') === 'true' && !spec.timestamps) return notImplemented('streamed transcription (stream=true)');
  const prompt = text(parts, 'prompt');
  return {
    responseFormat: format as ResponseFormat, temperature, granularities,
    ...(language !== undefined ? { language } : {}), ...(prompt !== undefined ? { prompt } : {}),
  };
}

/** Checks the fields the way the API does; `note` hears what the API would accept without a word. */
export function validate(parts: Part[], note: (why: string) => void): Reply | TranscriptionRequest {
  const req = checkRequired(parts);
  if ('status' in req) return req;
  const spec = MODELS[req.model];
  if (!spec) return modelNotFound(req.model);
  const dot = req.file.filename.lastIndexOf('.');
  const ext = dot < 0 ? '' : req.file.filename.slice(dot + 1).toLowerCase();
  if (!SUPPORTED_EXTENSIONS.includes(ext)) return unsupportedExtension(ext || req.file.filename);
  const opts = checkOptions(parts, req.model, spec, note);
  if ('status' in opts) return opts;
  return { filename: req.file.filename, ext, data: req.file.data, model: req.model, spec, ...opts };
}
