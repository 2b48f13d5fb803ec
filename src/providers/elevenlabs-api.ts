// ElevenLabs' REST API, the conversation audio only: GET {ELEVENLABS_API_BASE_URL}/v1/convai/
// conversations/{id}/audio with `xi-api-key`. Only the configured host is contacted: a redirect
// to another host is refused, never followed with (or without) the key.
import { permanent, retryable } from '../jobs/errors.js';
import { fetchHeaders } from '../jobs/fetch-headers.js';
import { audioApiPath } from './elevenlabs-audio.js';

export interface ElevenLabsApiOptions {
  baseUrl: string;
  apiKey: string;
  /** for the response headers, and for each gap between body chunks */
  timeoutMs: number;
}

const MAX_REDIRECTS = 3;
const MAX_ERROR_BODY = 4096;

export class ElevenLabsApi {
  private readonly base: URL;

  constructor(private readonly o: ElevenLabsApiOptions) {
    this.base = new URL(o.baseUrl);
  }

  /** Streams the audio to `sink` chunk by chunk (it is awaited: backpressure); returns the byte count. */
  async downloadAudio(conversationId: string, sink: (chunk: Buffer) => Promise<void>, signal: AbortSignal): Promise<number> {
    const { res, ac } = await this.get(audioApiPath(conversationId), signal);
    if (!res.ok || !res.body) throw await this.failure(res, ac);
    let bytes = 0;
    let stalled = false;
    let sinkError: unknown;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        ac.abort();
      }, this.o.timeoutMs);
    };
    arm();
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        arm();
        const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        bytes += buf.length;
        await sink(buf).catch((err: unknown) => {
          sinkError = err;
          throw err;
        });
      }
    } catch (err) {
      if (signal.aborted || sinkError) throw err;
      if (stalled) throw retryable('stalled', `ElevenLabs audio stalled: no data for ${this.o.timeoutMs} ms`);
      throw retryable('body_error', `ElevenLabs audio transfer broke off: ${(err as Error).message}`, err);
    } finally {
      clearTimeout(timer);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared !== bytes) throw retryable('short_body', `ElevenLabs audio ended after ${bytes} of ${declared} bytes`);
    return bytes;
  }

  /** One GET with a header timeout, following redirects only on the configured origin. */
  private async get(path: string, signal: AbortSignal): Promise<{ res: Response; ac: AbortController }> {
    let url = new URL(path, this.base);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const { res, controller: ac } = await fetchHeaders(url, { headers: { 'xi-api-key': this.o.apiKey, 'user-agent': 'callvault' }, redirect: 'manual' }, { timeoutMs: this.o.timeoutMs, signal, service: 'ElevenLabs' });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { res, ac };
      await res.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== this.base.origin) {
        throw permanent('redirect_off_host', `ElevenLabs redirected the audio to ${next.host}; only ELEVENLABS_API_BASE_URL (${this.base.host}) is contacted`);
      }
      url = next;
    }
    throw retryable('too_many_redirects', `more than ${MAX_REDIRECTS} redirects`);
  }

  private async failure(res: Response, ac: AbortController): Promise<Error> {
    const timer = setTimeout(() => ac.abort(), this.o.timeoutMs);
    const text = await res.text().catch(() => '').finally(() => clearTimeout(timer));
    const detail = detailOf(text.slice(0, MAX_ERROR_BODY));
    const what = `ElevenLabs audio: HTTP ${res.status}${detail ? ` (${detail})` : ''}`;
    if (res.status === 401 || res.status === 403) return permanent('elevenlabs_auth', `${what}: ElevenLabs refused ELEVENLABS_API_KEY`);
    if (res.status === 404 || res.status === 422 || res.status === 429 || res.status >= 500) return retryable('elevenlabs_unavailable', what);
    return permanent('elevenlabs_rejected', what);
  }
}

/** ElevenLabs' error shape: `{"detail": {"status": "...", "message": "..."}}` or `{"detail": "..."}`. */
function detailOf(text: string): string {
  try {
    const detail = (JSON.parse(text) as { detail?: unknown }).detail;
    if (typeof detail === 'string') return detail.slice(0, 200);
    const d = detail as { status?: unknown; message?: unknown } | undefined;
    return [d?.status, d?.message].filter((x) => typeof x === 'string').join(': ').slice(0, 200);
  } catch {
    return '';
  }
}
