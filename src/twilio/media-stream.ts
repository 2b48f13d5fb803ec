// WSS /twilio/media-stream: one Twilio Media Stream per connection. The message listener is
// attached synchronously (Twilio sends `connected` and `start` at once); bad input is counted
// and logged and the stream goes on; only a failed signature or token refuses the stream.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { MAX_FRAME_SAMPLES, type CallSession } from '../capture/call-session.js';
import type { SessionRegistry } from '../capture/registry.js';
import { StreamParser, type StartMessage, type StreamMessage } from './messages.js';
import { SIGNATURE_HEADER, checkStreamToken, type SignatureChecker } from './signature.js';
import { STREAM_TOKEN_PARAMETER } from './twiml.js';

/** A Twilio message with a 160-byte payload is ~370 bytes; anything near this is not one. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
/** Close codes (RFC 6455): 1008 policy violation, 1011 server error. */
const POLICY = 1008;
const SERVER_ERROR = 1011;

export interface MediaStreamDeps {
  registry: SessionRegistry;
  signatures: SignatureChecker;
  tokenSecret: string;
  log: Logger;
}

export const MEDIA_STREAM_PATH = '/twilio/media-stream';

export function registerMediaStream(app: FastifyInstance, deps: MediaStreamDeps): void {
  app.get(MEDIA_STREAM_PATH, { websocket: true }, (socket, request) => {
    new StreamConnection(socket, request, deps);
  });
}

/** Counted per connection; recorded on the stream row when it closes. */
type EventCounter =
  | 'malformed_json' | 'missing_fields' | 'bad_base64' | 'oversized_frame' | 'unknown_event'
  | 'binary_frame' | 'media_before_start' | 'duplicate_start' | 'implausible_jump' | 'other_stream_sid';

let connectionSeq = 0;

class StreamConnection {
  private readonly parser = new StreamParser(MAX_FRAME_SAMPLES);
  private readonly events: Partial<Record<EventCounter, number>> = {};
  private log: Logger;
  private session: CallSession | null = null;
  private refused = false;

  constructor(private readonly socket: WebSocket, request: FastifyRequest, private readonly deps: MediaStreamDeps) {
    this.log = deps.log.child({ connection: ++connectionSeq });
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', (code) => this.onClose(code));
    socket.on('error', (err) => this.log.warn({ err }, 'media stream socket error'));
    const signature = request.headers[SIGNATURE_HEADER];
    if (!deps.signatures.checkUpgrade(typeof signature === 'string' ? signature : undefined, request.url)) {
      this.refuse(POLICY, 'invalid X-Twilio-Signature');
    }
  }

  private refuse(code: number, reason: string): void {
    this.refused = true;
    this.log.warn({ code, reason }, 'media stream refused');
    this.socket.close(code, reason);
  }

  private count(kind: EventCounter, detail?: string): void {
    const n = (this.events[kind] ?? 0) + 1;
    this.events[kind] = n;
    // First occurrence at warn, then sparsely: a broken sender must not flood the log.
    if (n === 1 || n % 500 === 0) this.log.warn({ kind, count: n, detail }, 'media stream input dropped');
    else this.log.debug({ kind, count: n, detail }, 'media stream input dropped');
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.refused) return;
    if (isBinary) return this.count('binary_frame');
    // ws hands text frames over as one Buffer; no copy on the hot path.
    const text = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (text.length > MAX_MESSAGE_BYTES) return this.count('oversized_frame', `${text.length} bytes`);
    const result = this.parser.parse(text.toString('utf8'));
    if (!result.ok) {
      if (result.problem === 'unknown_event') return this.log.debug({ event: result.event }, 'unknown media stream event dropped');
      return this.count(result.problem, result.detail);
    }
    this.handle(result.message);
  }

  private handle(m: StreamMessage): void {
    switch (m.event) {
      case 'media': {
        if (!this.session) return this.count('media_before_start');
        if (m.streamSid !== this.session.streamSid) return this.count('other_stream_sid');
        if (this.session.media(m.track, m.timestampMs, m.payload, Date.now()) !== 'ok') this.count('implausible_jump');
        return;
      }
      case 'start':
        return this.start(m);
      case 'stop':
        if (this.session && m.streamSid === this.session.streamSid) void this.finish('stop');
        return;
      case 'connected':
      case 'mark':
      case 'dtmf':
        this.log.debug({ event: m.event }, 'media stream event');
        return;
    }
  }

  private start(m: StartMessage): void {
    if (this.session) return this.count('duplicate_start');
    if (!checkStreamToken(this.deps.tokenSecret, m.callSid, m.customParameters[STREAM_TOKEN_PARAMETER])) {
      return this.refuse(POLICY, 'invalid stream token');
    }
    if (m.encoding !== 'audio/x-mulaw' || m.sampleRate !== 8000 || m.channels !== 1) {
      return this.refuse(POLICY, 'unsupported media format: expected audio/x-mulaw 8000 Hz mono');
    }
    this.log = this.deps.log.child({ callSid: m.callSid, streamSid: m.streamSid });
    try {
      this.session = this.deps.registry.open(m, this.log);
    } catch (err) {
      this.log.error({ err }, 'capture could not start');
      return this.refuse(SERVER_ERROR, 'capture could not start');
    }
    this.session.events = this.events;
    this.log.info({ tracks: m.tracks }, 'media stream started');
  }

  private async finish(reason: string): Promise<void> {
    const session = this.session;
    if (!session || session.closed) return;
    try {
      const summary = await session.close(reason);
      this.log.info({ reason, durationS: summary.durationS, events: this.events }, 'media stream captured');
    } catch (err) {
      this.log.error({ err }, 'finalising the capture failed');
    }
    if (reason === 'stop' && this.socket.readyState === this.socket.OPEN) this.socket.close(1000, 'stream stopped');
  }

  private onClose(code: number): void {
    if (this.session && !this.session.closed) {
      this.log.warn({ code }, 'media stream socket closed before stop');
      void this.finish('socket closed');
    }
  }
}
