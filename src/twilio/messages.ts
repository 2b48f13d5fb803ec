// Twilio Media Streams messages, parsed once at the edge into a discriminated union
// (protocol-facts §1). Bad input is reported as a problem kind, never thrown.

export type Track = 'inbound' | 'outbound';
export const TRACKS: readonly Track[] = ['inbound', 'outbound'];

export interface StartMessage {
  event: 'start';
  streamSid: string;
  accountSid: string;
  callSid: string;
  tracks: Track[];
  customParameters: Record<string, string>;
  encoding: string;
  sampleRate: number;
  channels: number;
}

export interface MediaMessage {
  event: 'media';
  streamSid: string;
  track: Track;
  timestampMs: number;
  /** raw mu-law bytes; a view of a buffer reused by the next parse, so copy before keeping it */
  payload: Buffer;
}

export type StreamMessage =
  | { event: 'connected'; protocol: string; version: string }
  | StartMessage
  | MediaMessage
  | { event: 'mark'; streamSid: string; name: string }
  | { event: 'dtmf'; streamSid: string; track: string; digit: string }
  | { event: 'stop'; streamSid: string; accountSid: string; callSid: string };

export type ParseProblem = 'malformed_json' | 'missing_fields' | 'bad_base64' | 'oversized_frame' | 'unknown_event';

export type ParseResult =
  | { ok: true; message: StreamMessage }
  | { ok: false; problem: ParseProblem; detail: string; event?: string };

export const CALL_SID = /^CA[0-9a-f]{32}$/i;
export const STREAM_SID = /^MZ[0-9a-f]{32}$/i;
const ACCOUNT_SID = /^AC[0-9a-f]{32}$/i;
/** A timestamp far beyond any real call is treated as corrupt rather than as hours of silence. */
const MAX_TIMESTAMP_MS = 24 * 3600 * 1000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Obj, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
const missing = (detail: string, event?: string): ParseResult => ({ ok: false, problem: 'missing_fields', detail, ...(event ? { event } : {}) });

export class StreamParser {
  private readonly scratch: Buffer;

  /** @param maxPayloadBytes largest accepted media payload, in decoded mu-law bytes */
  constructor(readonly maxPayloadBytes: number) {
    this.scratch = Buffer.allocUnsafe(maxPayloadBytes + 3);
  }

  parse(text: string): ParseResult {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return { ok: false, problem: 'malformed_json', detail: 'not JSON' };
    }
    if (!isObj(raw)) return { ok: false, problem: 'malformed_json', detail: 'not a JSON object' };
    switch (raw.event) {
      case 'media':
        return this.media(raw);
      case 'start':
        return start(raw);
      case 'connected':
        return { ok: true, message: { event: 'connected', protocol: str(raw, 'protocol') ?? '', version: str(raw, 'version') ?? '' } };
      case 'stop':
        return stop(raw);
      case 'mark':
      case 'dtmf':
        return markOrDtmf(raw);
      default:
        return { ok: false, problem: 'unknown_event', detail: 'unknown event', event: String(raw.event).slice(0, 40) };
    }
  }

  private media(raw: Obj): ParseResult {
    const media = raw.media;
    const streamSid = str(raw, 'streamSid');
    if (!isObj(media) || streamSid === undefined) return missing('media without media or streamSid', 'media');
    const track = media.track;
    if (track !== 'inbound' && track !== 'outbound') return missing('media.track is not inbound or outbound', 'media');
    const ts = Number(media.timestamp);
    if (typeof media.timestamp !== 'string' && typeof media.timestamp !== 'number') return missing('media.timestamp missing', 'media');
    if (!Number.isInteger(ts) || ts < 0 || ts > MAX_TIMESTAMP_MS) return missing('media.timestamp is not a plausible integer', 'media');
    const payload = media.payload;
    if (typeof payload !== 'string') return missing('media.payload missing', 'media');
    const payloadResult = this.decodePayload(payload);
    if (!payloadResult.ok) return payloadResult;
    return { ok: true, message: { event: 'media', streamSid, track, timestampMs: ts, payload: payloadResult.bytes } };
  }

  /** Decodes base64 into a reused buffer: no allocation per frame. Node silently skips invalid
   *  characters, so a short decode is how bad base64 shows itself. */
  private decodePayload(b64: string): { ok: true; bytes: Buffer } | { ok: false; problem: ParseProblem; detail: string; event: string } {
    if (b64.length % 4 !== 0) return { ok: false, problem: 'bad_base64', detail: 'payload length is not a multiple of 4', event: 'media' };
    const padding = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
    const expected = (b64.length / 4) * 3 - padding;
    if (expected > this.maxPayloadBytes) {
      return { ok: false, problem: 'oversized_frame', detail: `payload of ${expected} bytes`, event: 'media' };
    }
    const written = this.scratch.write(b64, 0, 'base64');
    if (written !== expected) return { ok: false, problem: 'bad_base64', detail: 'payload is not valid base64', event: 'media' };
    return { ok: true, bytes: this.scratch.subarray(0, written) };
  }
}

function start(raw: Obj): ParseResult {
  const s = raw.start;
  if (!isObj(s)) return missing('start without start object', 'start');
  const streamSid = str(s, 'streamSid') ?? str(raw, 'streamSid');
  const callSid = str(s, 'callSid');
  const accountSid = str(s, 'accountSid');
  if (!streamSid || !STREAM_SID.test(streamSid)) return missing('start.streamSid is not a stream SID', 'start');
  if (!callSid || !CALL_SID.test(callSid)) return missing('start.callSid is not a call SID', 'start');
  if (!accountSid || !ACCOUNT_SID.test(accountSid)) return missing('start.accountSid is not an account SID', 'start');
  const tracks = Array.isArray(s.tracks) ? s.tracks.filter((t): t is Track => t === 'inbound' || t === 'outbound') : [];
  if (tracks.length === 0) return missing('start.tracks names no inbound or outbound track', 'start');
  const fmt = isObj(s.mediaFormat) ? s.mediaFormat : {};
  const customParameters: Record<string, string> = {};
  if (isObj(s.customParameters)) {
    for (const [k, v] of Object.entries(s.customParameters)) if (typeof v === 'string') customParameters[k] = v;
  }
  return {
    ok: true,
    message: {
      event: 'start',
      streamSid,
      callSid,
      accountSid,
      tracks: [...new Set(tracks)],
      customParameters,
      encoding: str(fmt, 'encoding') ?? 'audio/x-mulaw',
      sampleRate: typeof fmt.sampleRate === 'number' ? fmt.sampleRate : 8000,
      channels: typeof fmt.channels === 'number' ? fmt.channels : 1,
    },
  };
}

function stop(raw: Obj): ParseResult {
  const s = isObj(raw.stop) ? raw.stop : {};
  const streamSid = str(raw, 'streamSid');
  if (streamSid === undefined) return missing('stop without streamSid', 'stop');
  return { ok: true, message: { event: 'stop', streamSid, accountSid: str(s, 'accountSid') ?? '', callSid: str(s, 'callSid') ?? '' } };
}

function markOrDtmf(raw: Obj): ParseResult {
  const streamSid = str(raw, 'streamSid') ?? '';
  if (raw.event === 'mark') {
    const mark = isObj(raw.mark) ? raw.mark : {};
    return { ok: true, message: { event: 'mark', streamSid, name: str(mark, 'name') ?? '' } };
  }
  const dtmf = isObj(raw.dtmf) ? raw.dtmf : {};
  return { ok: true, message: { event: 'dtmf', streamSid, track: str(dtmf, 'track') ?? '', digit: str(dtmf, 'digit') ?? '' } };
}
