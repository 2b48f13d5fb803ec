// Twilio's REST API for recordings: metadata, listing, media download and delete. Every request
// goes to TWILIO_API_BASE_URL + a recording path (never to a host a callback names), with Basic
// auth; redirects are followed, sending credentials only to the API host.
import { JobError, permanent, retryable } from '../jobs/errors.js';
import { fetchHeaders } from '../jobs/fetch-headers.js';
import { saveBody } from '../jobs/save-body.js';

export interface TwilioCredentials {
  username: string;
  password: string;
  /** the variables these come from, named in auth errors */
  source: string;
}

export interface TwilioRestOptions {
  baseUrl: string;
  credentials: TwilioCredentials;
  /** for response headers, and for each gap between body chunks */
  timeoutMs: number;
}

/** The Recording resource, as Twilio returns it (snake_case). */
export interface RecordingResource {
  sid: string;
  account_sid: string;
  call_sid: string;
  status: string;
  channels: number | null;
  duration: string | null;
  start_time: string | null;
  source: string | null;
  track?: string | null;
  error_code: number | null;
  uri: string;
  encryption_details: unknown;
  /** RFC 2822 */
  date_created?: string | null;
}

/** A recording as the account-level list returns it: the fields the seed API reports. */
export interface ListedRecording extends RecordingResource {
  date_created: string | null;
  date_updated: string | null;
  price: string | null;
  price_unit: string | null;
}

export interface ListRecordingsOptions {
  accountSid: string;
  /** Twilio's PageSize (1..1000) */
  pageSize: number;
  /** passed on as `DateCreated>` / `DateCreated<` (both inclusive, as Twilio applies them) */
  dateCreatedAfter?: string;
  dateCreatedBefore?: string;
  /** bound on pages followed, so a filter that matches nothing cannot walk the whole account */
  maxPages: number;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  /** whether the dual-channel presentation was served (false after a 16113 fallback) */
  dual: boolean;
}

const RECORDING_PATH = /^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Recordings\/RE[0-9a-f]{32}$/i;
const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 64 * 1024;
/** "Cannot download a dual-channel presentation of a mono recording" (protocol-facts §3). */
const MONO_AS_DUAL = 16113;

/** The API path of a recording from a RecordingUrl (no extension) or a `uri` ending in .json:
 *  host dropped, extension stripped, shape checked. Never `….json.mp3`. */
export function recordingPath(urlOrUri: string): string {
  let path: string;
  try {
    path = new URL(urlOrUri, 'https://api.twilio.com').pathname;
  } catch {
    throw permanent('bad_recording_url', 'recording URL is not a URL');
  }
  path = path.replace(/\.(json|mp3|wav)$/i, '');
  if (!RECORDING_PATH.test(path)) throw permanent('bad_recording_url', `not a Twilio recording path: ${path.slice(0, 120)}`);
  return path;
}

export class TwilioRest {
  private readonly base: URL;
  private readonly authorization: string;
  /** Each response's request controller, so a body read can still be aborted after the headers. */
  private readonly controllers = new WeakMap<Response, AbortController>();

  constructor(private readonly o: TwilioRestOptions) {
    this.base = new URL(o.baseUrl);
    const { username, password } = o.credentials;
    this.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  async fetchRecording(path: string, signal?: AbortSignal): Promise<RecordingResource> {
    return (await this.json(`${path}.json`, 'recording metadata', signal)) as RecordingResource;
  }

  /** Every recording of a call, following Twilio's paging. */
  async listCallRecordings(accountSid: string, callSid: string, signal?: AbortSignal): Promise<RecordingResource[]> {
    const list = `/2010-04-01/Accounts/${accountSid}/Recordings.json`;
    let next: string | null = `${list}?CallSid=${encodeURIComponent(callSid)}&PageSize=100`;
    const out: RecordingResource[] = [];
    for (let page = 0; next && page < 50; page++) {
      const body = (await this.json(next, 'recording list', signal)) as { recordings?: RecordingResource[]; next_page_uri?: string | null };
      out.push(...(body.recordings ?? []));
      next = body.next_page_uri ?? null;
      if (next && !next.startsWith(`${list}?`)) throw permanent('bad_next_page', 'Twilio returned an unexpected next_page_uri');
    }
    return out;
  }

  /** The account's recordings page by page, newest first, following next_page_uri only when it
   *  stays on the same list (so a hostile or broken answer cannot redirect our credentials). */
  async *listRecordings(o: ListRecordingsOptions, signal?: AbortSignal): AsyncGenerator<ListedRecording[]> {
    const list = `/2010-04-01/Accounts/${encodeURIComponent(o.accountSid)}/Recordings.json`;
    const query = new URLSearchParams({ PageSize: String(o.pageSize) });
    if (o.dateCreatedAfter !== undefined) query.set('DateCreated>', o.dateCreatedAfter);
    if (o.dateCreatedBefore !== undefined) query.set('DateCreated<', o.dateCreatedBefore);
    let next: string | null = `${list}?${query.toString()}`;
    for (let page = 0; next && page < o.maxPages; page++) {
      const body = (await this.json(next, 'recording list', signal)) as { recordings?: ListedRecording[]; next_page_uri?: string | null };
      next = body.next_page_uri ?? null;
      if (next && !next.startsWith(`${list}?`)) throw permanent('bad_next_page', 'Twilio returned an unexpected next_page_uri');
      yield body.recordings ?? [];
    }
  }

  /** The media URL of a recording path on the configured API host (WAV: no extension). */
  mediaUrl(path: string): string {
    return new URL(path, this.base).toString();
  }

  /**
   * Whether the media can be fetched: the status of a one-byte ranged GET at the end of the
   * redirects. A GET with Range rather than HEAD, because the storage URLs Twilio redirects to are
   * pre-signed for GET. For a 2xx the first body byte must arrive too, so headers followed by
   * silence count as a stall. Throws (timeout, network, abort) when no status can be given.
   */
  async probeMedia(path: string, signal?: AbortSignal): Promise<number> {
    const res = await this.send(path, 'GET', signal, { range: 'bytes=0-0' });
    if (!res.body) return res.status;
    const reader = res.body.getReader();
    const timer = setTimeout(() => this.controllers.get(res)?.abort(), this.o.timeoutMs);
    try {
      if (res.ok) await reader.read();
      return res.status;
    } finally {
      clearTimeout(timer);
      await reader.cancel().catch(() => undefined);
    }
  }

  async deleteRecording(path: string, signal?: AbortSignal): Promise<void> {
    const res = await this.send(`${path}.json`, 'DELETE', signal);
    if (res.ok || res.status === 404) return void (await res.body?.cancel());
    throw await this.failure(res, 'recording delete');
  }

  /** Streams the WAV media to `dest` (a temporary file the caller renames), hashing as it goes.
   *  Asks for the dual-channel presentation when `dual`, and falls back on Twilio's 16113. */
  async downloadMedia(path: string, dual: boolean, dest: string, signal?: AbortSignal): Promise<DownloadResult> {
    let res = await this.send(`${path}.wav${dual ? '?RequestedChannels=2' : ''}`, 'GET', signal);
    if (dual && res.status === 400) {
      const err = await this.failure(res, 'recording media');
      if (err.twilioCode !== MONO_AS_DUAL) throw err;
      dual = false;
      res = await this.send(`${path}.wav`, 'GET', signal);
    }
    if (!res.ok || !res.body) throw await this.failure(res, 'recording media');
    const declared = Number(res.headers.get('content-length') ?? NaN);
    const { bytes, sha256 } = await saveBody(res.body, dest, { idleMs: this.o.timeoutMs, what: 'recording media transfer' }, signal);
    if (Number.isFinite(declared) && bytes !== declared) {
      throw retryable('short_body', `recording media ended after ${bytes} of ${declared} bytes`);
    }
    return { bytes, sha256, dual };
  }


  private async json(path: string, what: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.send(path, 'GET', signal);
    if (!res.ok) throw await this.failure(res, what);
    const text = await this.bodyText(res, what);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw retryable('bad_json', `${what}: Twilio's answer is not JSON`, err);
    }
  }

  /** One request, following redirects by hand so credentials go to the API host only. The
   *  timeout covers the response headers; bodies have their own idle timers (bodyText, saveBody).
   *  A timer we hold ourselves: AbortSignal.timeout inside AbortSignal.any can be collected and
   *  never fire (nodejs/node#57736). */
  private async send(path: string, method: string, signal?: AbortSignal, extraHeaders: Record<string, string> = {}): Promise<Response> {
    let url = new URL(path, this.base);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'callvault', ...extraHeaders };
      if (url.origin === this.base.origin) headers.authorization = this.authorization;
      const { res, controller } = await fetchHeaders(url, { method, headers, redirect: 'manual' }, { timeoutMs: this.o.timeoutMs, signal, service: 'Twilio' });
      this.controllers.set(res, controller);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.body?.cancel();
      const next = new URL(location, url);
      // https always; plain http only when the configured API base is itself http (tests).
      if (next.protocol !== 'https:' && next.protocol !== this.base.protocol) {
        throw permanent('insecure_redirect', `Twilio redirected to a ${next.protocol} URL`);
      }
      url = next;
    }
    throw retryable('too_many_redirects', `more than ${MAX_REDIRECTS} redirects`);
  }

  /** A (small) body as text, aborted if it has not arrived within the timeout. */
  private async bodyText(res: Response, what: string): Promise<string> {
    let stalled = false;
    const timer = setTimeout(() => {
      stalled = true;
      this.controllers.get(res)?.abort();
    }, this.o.timeoutMs);
    try {
      return await res.text();
    } catch (err) {
      throw retryable(stalled ? 'stalled' : 'body_error', `${what}: the answer ${stalled ? `stalled for ${this.o.timeoutMs} ms` : 'broke off'}`, err);
    } finally {
      clearTimeout(timer);
    }
  }

  private async failure(res: Response, what: string): Promise<TwilioHttpError> {
    const text = await this.bodyText(res, what).catch(() => '');
    return httpError(res.status, text.slice(0, MAX_ERROR_BODY), what, this.o.credentials.source);
  }
}

export class TwilioHttpError extends JobError {
  constructor(code: string, message: string, isRetryable: boolean, readonly status: number, readonly twilioCode: number | undefined) {
    super(code, message, isRetryable);
  }
}

function httpError(status: number, text: string, what: string, credentialSource: string): TwilioHttpError {
  let twilioCode: number | undefined;
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    if (typeof code === 'number') twilioCode = code;
  } catch {
    // not a Twilio JSON error body
  }
  const detail = `HTTP ${status}${twilioCode ? `, Twilio error ${twilioCode}` : ''}`;
  const make = (code: string, message: string, again: boolean) => new TwilioHttpError(code, message, again, status, twilioCode);
  if (status === 401 || status === 403) {
    return make('twilio_auth', `Twilio refused the credentials for ${what} (${detail}): check ${credentialSource}`, false);
  }
  if (status === 404) return make('not_found', `${what}: ${detail} (not ready yet, or gone)`, true);
  if (status === 429 || status >= 500) return make('twilio_unavailable', `${what}: ${detail}`, true);
  return make('twilio_rejected', `${what}: ${detail}`, false);
}
