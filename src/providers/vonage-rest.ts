// Vonage's REST API as the gateway uses it: placing a call and downloading a recording, each with
// a fresh application JWT. Requests go only to Vonage hosts (https *.vonage.com / *.nexmo.com) or
// to VONAGE_API_BASE_URL itself, redirects included, so a webhook naming another host can never
// make the gateway send its JWT there.
import { JobError, permanent, retryable } from '../jobs/errors.js';
import { fetchHeaders } from '../jobs/fetch-headers.js';
import { saveBody } from '../jobs/save-body.js';
import { applicationToken, type VonageAppCredentials } from './vonage-jwt.js';

export interface VonageRestOptions {
  apiBaseUrl: string;
  /** null when VONAGE_APPLICATION_ID / VONAGE_PRIVATE_KEY are missing: every request fails clearly */
  credentials: VonageAppCredentials | null;
  /** for response headers, and for each gap between body chunks */
  timeoutMs: number;
}

/** What `POST /v1/calls` answers (201). */
export interface CreatedCall {
  uuid: string;
  status: string;
  direction: string;
  conversation_uuid: string;
}

export interface SavedFile {
  bytes: number;
  sha256: string;
  /** Content-Length, when the answer declared one */
  declaredBytes: number | null;
}

const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 16 * 1024;
const VONAGE_HOST = /\.(vonage|nexmo)\.com$/i;
/** What the SDK takes for a bare file id rather than a URL. */
const FILE_ID = /^[A-Za-z0-9-]{8,64}$/;
const CREDENTIALS = 'VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY';

export class VonageHttpError extends JobError {
  constructor(code: string, message: string, isRetryable: boolean, readonly status: number, readonly detail: string) {
    super(code, message, isRetryable);
  }
}

export class VonageRest {
  private readonly base: URL;

  constructor(private readonly o: VonageRestOptions) {
    this.base = new URL(o.apiBaseUrl);
  }

  /** https on a Vonage domain, or exactly the configured API origin (tests, self-hosted). */
  isAllowed(url: URL): boolean {
    if (url.origin === this.base.origin) return true;
    return url.protocol === 'https:' && VONAGE_HOST.test(url.hostname);
  }

  /** The URL to fetch for a `recording_url` (or a bare file id, as the SDK maps it). */
  recordingUrl(urlOrId: string): URL {
    let url: URL;
    if (FILE_ID.test(urlOrId)) url = new URL(`/v3/files/${urlOrId}`, this.base);
    else {
      try {
        url = new URL(urlOrId);
      } catch {
        throw permanent('bad_recording_url', 'recording_url is neither a URL nor a file id');
      }
    }
    if (!this.isAllowed(url)) throw permanent('disallowed_host', `recording_url is not on a Vonage host (${url.host}); nothing was fetched`);
    return url;
  }

  async createCall(body: unknown, signal?: AbortSignal): Promise<CreatedCall> {
    const res = await this.send(new URL('/v1/calls', this.base), 'POST', signal, JSON.stringify(body));
    const text = await this.bodyText(res, 'call creation', signal);
    if (!res.ok) throw httpError(res.status, text, 'call creation');
    let created: Partial<CreatedCall>;
    try {
      created = JSON.parse(text) as Partial<CreatedCall>;
    } catch (err) {
      throw retryable('bad_json', "call creation: Vonage's answer is not JSON", err);
    }
    if (typeof created.uuid !== 'string' || typeof created.conversation_uuid !== 'string') {
      throw retryable('bad_answer', 'call creation: Vonage answered without uuid and conversation_uuid');
    }
    return created as CreatedCall;
  }

  /** Streams a recording to `dest` (a temporary file the caller renames), hashing as it goes. */
  async download(url: URL, dest: string, signal?: AbortSignal): Promise<SavedFile> {
    const res = await this.send(url, 'GET', signal);
    if (!res.ok || !res.body) throw httpError(res.status, await this.bodyText(res, 'recording download', signal).catch(() => ''), 'recording download');
    const declared = Number(res.headers.get('content-length') ?? NaN);
    const saved = await saveBody(res.body, dest, { idleMs: this.o.timeoutMs, what: 'recording download' }, signal);
    return { ...saved, declaredBytes: Number.isFinite(declared) ? declared : null };
  }

  /**
   * One request, following redirects by hand: every hop must be an allowed host, so the JWT
   * (fresh per hop) only ever goes to Vonage. The timer covers the response headers; it is ours,
   * since AbortSignal.timeout inside AbortSignal.any can be collected and never fire
   * (nodejs/node#57736). Bodies have their own timers.
   */
  private async send(url: URL, method: string, signal?: AbortSignal, body?: string): Promise<Response> {
    const credentials = this.o.credentials;
    if (!credentials) throw permanent('vonage_credentials', `${CREDENTIALS} must be set to call Vonage's API`);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (!this.isAllowed(url)) throw permanent('disallowed_host', `Vonage redirected to ${url.host}, which is not a Vonage host; not followed`);
      const headers: Record<string, string> = { 'user-agent': 'callvault', authorization: `Bearer ${applicationToken(credentials)}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const { res } = await fetchHeaders(url, { method, headers, body, redirect: 'manual' }, { timeoutMs: this.o.timeoutMs, signal, service: 'Vonage' });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.body?.cancel();
      url = new URL(location, url);
    }
    throw retryable('too_many_redirects', `more than ${MAX_REDIRECTS} redirects`);
  }

  /** A small body as text, read through a stream so a stalled one is cut off after timeoutMs. */
  private async bodyText(res: Response, what: string, signal?: AbortSignal): Promise<string> {
    if (!res.body) return '';
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = res.body.getReader();
    const timer = setTimeout(() => void reader.cancel(), this.o.timeoutMs);
    const onAbort = () => void reader.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size <= MAX_ERROR_BODY * 4) chunks.push(Buffer.from(value));
      }
    } catch (err) {
      throw retryable('body_error', `${what}: the answer broke off`, err);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

}

/** Vonage's errors are RFC 7807 JSON: `{type, title, detail, instance}`. */
function httpError(status: number, text: string, what: string): VonageHttpError {
  let detail = '';
  try {
    const body = JSON.parse(text.slice(0, MAX_ERROR_BODY)) as { title?: unknown; detail?: unknown };
    detail = [body.title, body.detail].filter((x) => typeof x === 'string' && x !== '').join(': ');
  } catch {
    // not a JSON error body
  }
  const said = `HTTP ${status}${detail ? ` (${detail})` : ''}`;
  const make = (code: string, message: string, again: boolean) => new VonageHttpError(code, message, again, status, detail || `HTTP ${status}`);
  if (status === 401 || status === 403) return make('vonage_auth', `Vonage refused the application JWT for ${what}, ${said}: check ${CREDENTIALS}`, false);
  if (status === 404) return make('not_found', `${what}: ${said} (not ready yet, or gone)`, true);
  if (status === 429 || status >= 500) return make('vonage_unavailable', `${what}: ${said}`, true);
  return make('vonage_rejected', `${what}: ${said}`, false);
}
