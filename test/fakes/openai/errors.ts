/**
 * OpenAI's error bodies, worded as the real API words them where that is on record ("seen": quoted
 * from real responses in public issue threads, year noted); where it is not, the wording is the
 * fake's own ("assumed"), in the same shape, and a test should not pin its exact text.
 */
import http from 'node:http';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ApiError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) };
}

export function errorReply(status: number, e: ApiError, headers: Record<string, string> = {}): Reply {
  return jsonReply(status, { error: e }, headers);
}

const invalid = (message: string, param: string | null = null, code: string | null = null): Reply =>
  errorReply(400, { message, type: 'invalid_request_error', param, code });

/** Seen (2026): the key is echoed masked, e.g. `sk-proj-****…9900`, never whole. The exact mask is assumed. */
export function maskKey(key: string): string {
  if (key.length <= 12) return '*'.repeat(key.length);
  return key.slice(0, 8) + '*'.repeat(key.length - 12) + key.slice(-4);
}

export const incorrectKey = (key: string): Reply =>
  errorReply(401, {
    message: `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error', param: null, code: 'invalid_api_key',
  });

/** Seen: a missing key has its own message and no code (only a wrong key is `invalid_api_key`). */
export const missingKey = (): Reply =>
  errorReply(401, {
    message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
      '(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you\'re accessing the API ' +
      'from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error', param: null, code: null,
  });

/** Seen (other endpoints). */
export const invalidUrl = (method: string, path: string): Reply =>
  errorReply(404, { message: `Invalid URL (${method} ${path})`, type: 'invalid_request_error', param: null, code: null });

/** Seen (2023-2026): 413 with type server_error, counting the bytes read so far. */
export const tooLarge = (limit: number, read: number): Reply =>
  errorReply(413, { message: `Maximum content size limit (${limit}) exceeded (${read} bytes read)`, type: 'server_error', param: null, code: null });

/** Assumed: this wording is on record for other OpenAI upload endpoints. */
export const notMultipart = (contentType: string): Reply =>
  invalid(`Invalid Content-Type header (${contentType}), expected multipart/form-data. ` +
    "(HINT: If you're using curl, you can pass in `-H 'Content-Type: multipart/form-data'`)");

/** Assumed wording: what the real parser says about a broken body is not on record. */
export const badMultipart = (why: string): Reply => invalid(`Could not parse multipart form: ${why}`);

/** Seen (2024, missing file): the API's request validator lists every missing field at once. */
export function missingFields(fields: { name: string; kind: 'missing' | 'not_file' }[]): Reply {
  const lines = fields.map((f) => f.kind === 'missing'
    ? `body -> ${f.name}\n  field required (type=value_error.missing)`
    : `body -> ${f.name}\n  Expected UploadFile, received: <class 'str'> (type=value_error)`);
  const n = fields.length;
  return invalid(`${n} validation error${n === 1 ? '' : 's'} for Request\n${lines.join('\n')}`);
}

/** Seen on other endpoints; assumed for this one. */
export const modelNotFound = (model: string): Reply =>
  errorReply(404, {
    message: `The model \`${model}\` does not exist or you do not have access to it.`,
    type: 'invalid_request_error', param: null, code: 'model_not_found',
  });

/** Seen (2026, for `audio.bin`); older answers listed the formats. */
export const unsupportedExtension = (ext: string): Reply => invalid(`Unsupported file format ${ext}`, 'file', 'unsupported_value');

/** Seen (2025-2026). */
export const corruptAudio = (): Reply => invalid('Audio file might be corrupted or unsupported', 'file', 'invalid_value');

/** Seen (2023-2026; code `audio_too_short`). */
export const tooShort = (): Reply => invalid('Audio file is too short. Minimum audio length is 0.1 seconds.', 'file', 'audio_too_short');

/** Seen (2025-2026). */
export const incompatibleFormat = (format: string, model: string): Reply =>
  invalid(`response_format '${format}' is not compatible with model '${model}'. Use 'json' or 'text' instead.`, 'response_format', 'unsupported_value');

/** Assumed wording, in the shape of the response_format error above. */
export const incompatibleGranularities = (model: string): Reply =>
  invalid(`timestamp_granularities is not compatible with model '${model}'. Use whisper-1 with response_format 'verbose_json'.`,
    'timestamp_granularities', 'unsupported_value');

/** Assumed wording. */
export const invalidValue = (param: string, value: string, allowed: readonly string[]): Reply =>
  invalid(`'${value}' is not one of [${allowed.map((a) => `'${a}'`).join(', ')}] - '${param}'`, param, 'invalid_value');

/** Assumed wording. */
export const invalidTemperature = (value: string): Reply =>
  invalid(`Invalid 'temperature': expected a number between 0 and 1, got '${value}'.`, 'temperature', 'invalid_value');

/** Seen (message 2023-2026; the code once, in a public test fixture). */
export const invalidLanguage = (value: string): Reply =>
  invalid(`Invalid language '${value}'. Language parameter must be specified in ISO-639-1 format.`, 'language', 'invalid_language_format');

/**
 * Something the real API does that this fake does not model. Deliberately not an OpenAI status or
 * body, so a test that strays here fails loudly instead of passing against invented behaviour.
 */
export const notImplemented = (what: string): Reply =>
  errorReply(501, { message: `fake-openai does not implement ${what}`, type: 'fake_not_implemented', param: null, code: null });

/** The reply a `status` fault stands for. */
export function statusFaultReply(status: number, model: string | null, retryAfter?: number | string, message?: string): Reply {
  const headers: Record<string, string> = {};
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  if (status === 429) {
    const wait = retryAfter === undefined ? '' : ` Please try again in ${retryAfter}s.`;
    return errorReply(429, {
      message: message ?? `Rate limit reached for ${model ?? 'whisper-1'} in organization org-fake on requests per min (RPM): ` +
        `Limit 50, Used 50, Requested 1.${wait} Visit https://platform.openai.com/account/rate-limits to learn more.`,
      type: 'requests', param: null, code: 'rate_limit_exceeded',
    }, { ...headers, 'x-ratelimit-limit-requests': '50', 'x-ratelimit-remaining-requests': '0' });
  }
  if (status === 502) {
    // Cloudflare answers a dead origin with HTML, not JSON: clients must not assume a JSON error body.
    const html = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
      '<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n';
    return { status, headers: { ...headers, 'content-type': 'text/html' }, body: Buffer.from(html) };
  }
  const byStatus: Record<number, string> = {
    500: 'The server had an error while processing your request. Sorry about that!',
    503: 'The server is overloaded or not ready yet.',
  };
  const text = message ?? byStatus[status] ?? http.STATUS_CODES[status] ?? `HTTP ${status}`;
  return errorReply(status, { message: text, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null }, headers);
}
