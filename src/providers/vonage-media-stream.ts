// WSS /vonage/media-stream: one Vonage call leg per connection (the NCCO `connect` action with a
// websocket endpoint). Vonage sends a `websocket:connected` text frame first, echoing the
// endpoint's headers (our call id, per-call token and track), then binary frames of PCM16LE mono
// at 8 or 16 kHz, then possibly more JSON events. The listener is attached synchronously and
// audio that arrives while the token and call are checked is held, so nothing is lost; bad input
// is counted and logged and the stream goes on; only the first frame's checks refuse a stream.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { SessionRegistry } from '../capture/registry.js';
import { MAX_PCM_FRAME_BYTES, type PcmSession } from '../capture/pcm-session.js';
import { newVonageStreamId } from '../ids.js';
import type { Store } from '../store/db.js';
import { VONAGE_MEDIA_STREAM_PATH } from './vonage-contract.js';
import { parseConnected, type VonageLeg } from './vonage-ws-messages.js';

/** Vonage's JSON events are a few hundred bytes; anything near this is not one. */
export const MAX_TEXT_BYTES = 16 * 1024;
/** A peer that never says who it is is closed after this long. */
export const CONNECTED_TIMEOUT_MS = 10_000;
/** Audio held while the call is looked up (~8 s at 16 kHz); the lookup takes milliseconds. */
const MAX_HELD_BYTES = 256 * 1024;
/** Close codes (RFC 6455): 1003 unsupported data, 1008 policy violation, 1011 server error. */
const UNSUPPORTED = 1003;
const POLICY = 1008;
const SERVER_ERROR = 1011;

export interface VonageMediaStreamDeps {
  registry: SessionRegistry;
  store: Store;
  tokenSecret: string;
  log: Logger;
}

export function registerVonageMediaStream(app: FastifyInstance, deps: VonageMediaStreamDeps): void {
  app.get(VONAGE_MEDIA_STREAM_PATH, { websocket: true }, (socket) => {
    new VonageConnection(socket, deps);
  });
}

/** Counted per connection; recorded on the stream row when it closes. */
type EventCounter =
  | 'malformed_json' | 'oversized_frame' | 'audio_before_connected' | 'odd_length_frame'
  | 'event_before_connected' | 'duplicate_connected' | 'audio_dropped_while_checking';

type State = 'waiting' | 'checking' | 'open' | 'refused';

let connectionSeq = 0;

class VonageConnection {
  private readonly events: Partial<Record<EventCounter, number>> = {};
  private log: Logger;
  private state: State = 'waiting';
  private session: PcmSession | null = null;
  /** audio received while the call is checked, replayed in order once the session opens */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private socketClosed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly socket: WebSocket, private readonly deps: VonageMediaStreamDeps) {
    this.log = deps.log.child({ connection: `vonage-${++connectionSeq}` });
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', (code) => this.onClose(code));
    socket.on('error', (err) => this.log.warn({ err }, 'vonage media stream socket error'));
    this.timer = setTimeout(() => {
      if (this.state === 'waiting') this.refuse(POLICY, 'no websocket:connected frame received');
    }, CONNECTED_TIMEOUT_MS);
    this.timer.unref();
  }

  private refuse(code: number, reason: string): void {
    this.state = 'refused';
    this.held = [];
    clearTimeout(this.timer);
    this.log.warn({ code, reason, events: this.events }, 'vonage media stream refused');
    if (!this.socketClosed) this.socket.close(code, reason);
  }

  private count(kind: EventCounter, detail?: string): void {
    const n = (this.events[kind] ?? 0) + 1;
    this.events[kind] = n;
    // First occurrence at warn, then sparsely: a broken sender must not flood the log.
    if (n === 1 || n % 500 === 0) this.log.warn({ kind, count: n, detail }, 'vonage media stream input dropped');
    else this.log.debug({ kind, count: n, detail }, 'vonage media stream input dropped');
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.state === 'refused') return;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) return this.onAudio(bytes);
    if (bytes.length > MAX_TEXT_BYTES) return this.count('oversized_frame', `${bytes.length} byte text frame`);
    let message: unknown;
    try {
      message = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.count('malformed_json', `${bytes.length} bytes`);
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return this.count('malformed_json', 'not an object');
    this.onEvent(message as Record<string, unknown>);
  }

  private onAudio(bytes: Buffer): void {
    if (bytes.length > MAX_PCM_FRAME_BYTES) return this.count('oversized_frame', `${bytes.length} byte audio frame`);
    if (bytes.length % 2 === 1) this.count('odd_length_frame', `${bytes.length} bytes`);
    switch (this.state) {
      case 'waiting':
        return this.count('audio_before_connected');
      case 'checking':
        if (this.heldBytes + bytes.length > MAX_HELD_BYTES) return this.count('audio_dropped_while_checking');
        // ws may reuse nothing here, but the frame must outlive this call: keep a copy.
        this.held.push(Buffer.from(bytes));
        this.heldBytes += bytes.length;
        return;
      case 'open':
        this.session!.audio(bytes, Date.now());
    }
  }

  private onEvent(m: Record<string, unknown>): void {
    const event = typeof m.event === 'string' ? m.event : undefined;
    if (event !== 'websocket:connected') {
      if (this.state === 'waiting') return this.count('event_before_connected', event);
      this.log.debug({ event }, 'vonage media stream event');
      return;
    }
    if (this.state !== 'waiting') return this.count('duplicate_connected');
    const parsed = parseConnected(m, this.deps.tokenSecret);
    if (!parsed.ok) return this.refuse(parsed.code === 'unsupported' ? UNSUPPORTED : POLICY, parsed.reason);
    this.state = 'checking';
    clearTimeout(this.timer);
    void this.check(parsed.leg);
  }

  /** The call must exist and be a Vonage call; then the capture opens and held audio is replayed. */
  private async check(leg: VonageLeg): Promise<void> {
    let provider: string | undefined;
    try {
      provider = (await this.deps.store.calls.get(leg.callSid))?.provider;
    } catch (err) {
      this.log.error({ err }, 'could not look the call up');
      return this.refuse(SERVER_ERROR, 'call lookup failed');
    }
    if (this.state !== 'checking') return;
    if (!provider) return this.refuse(POLICY, 'unknown call');
    if (provider !== 'vonage') return this.refuse(POLICY, 'not a Vonage call');
    const streamSid = newVonageStreamId();
    this.log = this.deps.log.child({ callSid: leg.callSid, streamSid, track: leg.track });
    try {
      this.session = this.deps.registry.openPcm({ callSid: leg.callSid, streamSid, track: leg.track, inputRate: leg.rate }, this.log);
    } catch (err) {
      this.log.error({ err }, 'capture could not start');
      return this.refuse(SERVER_ERROR, 'capture could not start');
    }
    this.session.events = this.events;
    this.state = 'open';
    const now = Date.now();
    for (const frame of this.held) this.session.audio(frame, now);
    this.held = [];
    this.log.info({ rate: leg.rate }, 'vonage media stream started');
    if (this.socketClosed) void this.finish('socket closed');
  }

  private async finish(reason: string): Promise<void> {
    const session = this.session;
    if (!session || session.closed) return;
    try {
      const summary = await session.close(reason);
      this.log.info({ reason, durationS: summary.durationS, events: this.events }, 'vonage media stream captured');
    } catch (err) {
      this.log.error({ err }, 'finalising the capture failed');
    }
  }

  private onClose(code: number): void {
    this.socketClosed = true;
    clearTimeout(this.timer);
    // The call hanging up closes the socket: that is the normal end of a Vonage leg.
    if (this.session) void this.finish(`socket closed (${code})`);
  }
}
