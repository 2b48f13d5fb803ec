import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import twilio from 'twilio';
import WebSocket from 'ws';
import { MULAW_SILENCE, STREAM_RATE } from './audio-source.js';
import { SimulatorError } from './errors.js';
import { planSends, type Impairments, type PlannedSend, type TrackName } from './impairments.js';
import { postVoiceWebhook } from './voice-webhook.js';
import {
  connectedMessage, localStreamUrl, mediaMessage, randomSid, startMessage, stopMessage, voiceParams,
  type StreamIds,
} from './wire.js';

export interface SimulateOptions {
  /** Where to connect, e.g. `http://127.0.0.1:8080`. */
  gatewayUrl: string;
  /** The gateway's idea of its public base (PUBLIC_URL); signatures are over it. Default gatewayUrl. */
  publicUrl?: string;
  /** When set, the webhook and the upgrade are signed as Twilio would. */
  authToken?: string;
  callSid?: string;
  accountSid?: string;
  from?: string;
  to?: string;
  /** `outbound` = placed from the browser app: From `client:agent`, To a number. */
  direction: 'inbound' | 'outbound';
  /** 8 kHz mu-law per track; the shorter one is padded with silence (both tracks run all call). */
  inbound: Uint8Array;
  outbound: Uint8Array;
  /** Default 20. */
  frameMs?: number;
  /** Default true: pace on the wall clock. false: as fast as the socket takes it. */
  realtime?: boolean;
  impairments?: Impairments;
  /**
   * `stop`: send stop then close (default). `close`: close cleanly without stop.
   * `terminate`: drop the TCP connection (a crash). `none`: return with the socket open.
   */
  end?: 'stop' | 'close' | 'terminate' | 'none';
  /** Extra (or replacing) upgrade headers, e.g. a wrong `X-Twilio-Signature`. */
  streamHeaders?: Record<string, string>;
  /** Sent in place of the per-call token from the TwiML. */
  overrideToken?: string;
  /** Which `<Parameter>` holds that token; default the first name containing "token", else `token`. */
  tokenParameter?: string;
  signal?: AbortSignal;
}

export interface SentFrame {
  track: TrackName;
  timestampMs: number;
  bytes: number;
  duplicate: boolean;
  sequenceNumber: number;
  chunk: number;
}

export interface SimulateResult {
  callSid: string;
  accountSid: string;
  streamSid: string;
  twiml: string;
  /** The TwiML `<Parameter>`s as received (before any overrideToken). */
  parameters: Record<string, string>;
  /** The customParameters actually sent in `start`. */
  customParameters: Record<string, string>;
  /** The URL the socket connected to, and the TwiML URL the upgrade was signed over. */
  streamUrl: string;
  signedStreamUrl: string;
  frameMs: number;
  /** The padded tracks the frames were cut from: frame k is bytes [k·frameBytes, (k+1)·frameBytes). */
  tracks: Record<TrackName, Uint8Array>;
  /** In wire order. */
  sent: SentFrame[];
  lost: { track: TrackName; timestampMs: number; bytes: number }[];
  stopSent: boolean;
  /** Who closed first; undefined while the socket is still open (`end: 'none'`). */
  closedBy?: 'server' | 'client';
  closeCode?: number;
  closeReason?: string;
  /** Only with `end: 'none'`: the open socket; the caller closes it. */
  socket?: WebSocket;
  /** Sequence number a later `stop` should carry (for `end: 'none'`). */
  nextSequenceNumber: number;
}

/** How long to wait for the close handshake before dropping the connection. */
const CLOSE_WAIT_MS = 2000;
/** In fast mode, let socket events (an early close) in every this many sends. */
const YIELD_EVERY = 64;
/** Fast mode must not queue a whole call in memory if the gateway reads slowly. */
const MAX_BUFFERED = 1 << 20;

export async function simulateCall(opts: SimulateOptions): Promise<SimulateResult> {
  const publicUrl = opts.publicUrl ?? opts.gatewayUrl;
  const ids: StreamIds = {
    callSid: opts.callSid ?? randomSid('CA'),
    accountSid: opts.accountSid ?? randomSid('AC'),
    streamSid: randomSid('MZ'),
  };
  const outbound = opts.direction === 'outbound';
  const params = voiceParams({
    ...ids, direction: opts.direction,
    from: opts.from ?? (outbound ? 'client:agent' : '+15017122661'),
    to: opts.to ?? (outbound ? '+15558675310' : '+15005550006'),
  });
  const answer = await postVoiceWebhook({
    gatewayUrl: opts.gatewayUrl, publicUrl, params,
    ...(opts.authToken !== undefined && { authToken: opts.authToken }),
    ...(opts.signal && { signal: opts.signal }),
  });
  const frameMs = opts.frameMs ?? 20;
  const tracks = padTracks(opts.inbound, opts.outbound, frameBytesOf(frameMs));
  const result: SimulateResult = {
    ...ids, twiml: answer.twiml, parameters: answer.parameters,
    customParameters: withToken(answer.parameters, opts),
    streamUrl: localStreamUrl(answer.url, opts.gatewayUrl, publicUrl), signedStreamUrl: answer.url,
    frameMs, tracks, sent: [], lost: [], stopSent: false, nextSequenceNumber: 2,
  };
  const conn = await openStream(result.streamUrl, upgradeHeaders(answer.url, opts), opts.signal);
  try {
    // Twilio sends both at once, before any audio; the gateway must be ready for that.
    conn.ws.send(JSON.stringify(connectedMessage()));
    conn.ws.send(JSON.stringify(startMessage(ids, result.customParameters)));
    const count = tracks.inbound.length / frameBytesOf(frameMs);
    const plan = planSends({ inbound: count, outbound: count }, frameMs, opts.impairments);
    result.lost = plan.lost.map((l) => ({ track: l.track, timestampMs: l.index * frameMs, bytes: frameBytesOf(frameMs) }));
    await sendMedia(conn, plan.sends, result, opts.realtime ?? true);
    opts.signal?.throwIfAborted();
    await finish(conn, result, opts.end ?? 'stop');
    return result;
  } catch (err) {
    conn.ws.terminate();
    throw err;
  }
}

function frameBytesOf(frameMs: number): number {
  return Math.round((frameMs * STREAM_RATE) / 1000);
}

/** Both tracks to the same whole number of frames: Twilio sends both for the whole call. */
function padTracks(inbound: Uint8Array, outbound: Uint8Array, frameBytes: number): Record<TrackName, Uint8Array> {
  const len = Math.ceil(Math.max(inbound.length, outbound.length) / frameBytes) * frameBytes;
  const pad = (a: Uint8Array) => {
    const out = new Uint8Array(len).fill(MULAW_SILENCE);
    out.set(a);
    return out;
  };
  return { inbound: pad(inbound), outbound: pad(outbound) };
}

function withToken(params: Record<string, string>, opts: SimulateOptions): Record<string, string> {
  if (opts.overrideToken === undefined) return { ...params };
  const name = opts.tokenParameter ?? Object.keys(params).find((k) => /token/i.test(k)) ?? 'token';
  return { ...params, [name]: opts.overrideToken };
}

function upgradeHeaders(signedUrl: string, opts: SimulateOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (opts.authToken) {
    // Signed over the wss:// URL exactly as the TwiML wrote it, with no params (a GET).
    headers['X-Twilio-Signature'] = twilio.getExpectedTwilioSignature(opts.authToken, signedUrl, {});
  }
  return { ...headers, ...opts.streamHeaders };
}

interface Conn {
  ws: WebSocket;
  /** Aborted when the socket closes, so pacing sleeps end at once. */
  closedSignal: AbortSignal;
  closed: Promise<{ code: number; reason: string; by: 'server' | 'client' }>;
  /** Set before we close, so the close event can tell who went first. */
  state: { clientClosing: boolean };
}

function openStream(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Conn> {
  const ws = new WebSocket(url, { headers });
  const ctl = new AbortController();
  const state = { clientClosing: false };
  const onAbort = () => ws.terminate();
  signal?.addEventListener('abort', onAbort, { once: true });
  const closed: Conn['closed'] = new Promise((done) => ws.once('close', (code, reason) => {
    signal?.removeEventListener('abort', onAbort);
    ctl.abort();
    done({ code, reason: reason.toString(), by: state.clientClosing ? 'client' : 'server' });
  }));
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        reject(new SimulatorError('stream_rejected',
          `WebSocket upgrade to ${url} refused: ${res.statusCode} ${body.slice(0, 500)}`, res.statusCode, body.slice(0, 500)));
        ws.terminate();
      });
    });
    ws.on('error', (err) => {
      if (signal?.aborted) return reject(signal.reason);
      reject(new SimulatorError('stream_failed', `WebSocket to ${url} failed: ${err.message}`, undefined, undefined, { cause: err }));
    });
    ws.once('open', () => resolve({ ws, closedSignal: ctl.signal, closed, state }));
  });
}

async function sendMedia(conn: Conn, sends: PlannedSend[], result: SimulateResult, realtime: boolean): Promise<void> {
  const t0 = performance.now();
  const frameBytes = frameBytesOf(result.frameMs);
  let chunk = 1;
  for (const [i, s] of sends.entries()) {
    const ok = realtime ? await waitUntil(conn, t0 + s.sendAtMs) : await keepUp(conn, i);
    if (!ok || conn.ws.readyState !== WebSocket.OPEN) return;
    const payload = result.tracks[s.track].subarray(s.index * frameBytes, (s.index + 1) * frameBytes);
    const frame: SentFrame = {
      track: s.track, timestampMs: s.index * result.frameMs, bytes: payload.length, duplicate: s.duplicate,
      sequenceNumber: result.nextSequenceNumber++, chunk: chunk++,
    };
    conn.ws.send(JSON.stringify(mediaMessage(result.streamSid, { ...frame, payload })));
    result.sent.push(frame);
  }
}

/** Sleeps until `at` (performance.now() time); false if the socket closed meanwhile. */
async function waitUntil(conn: Conn, at: number): Promise<boolean> {
  const ms = at - performance.now();
  if (ms < 1) return !conn.closedSignal.aborted;
  try {
    await sleep(ms, undefined, { signal: conn.closedSignal });
    return true;
  } catch {
    return false;
  }
}

async function keepUp(conn: Conn, i: number): Promise<boolean> {
  if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  while (conn.ws.bufferedAmount > MAX_BUFFERED && !conn.closedSignal.aborted) await sleep(5);
  return !conn.closedSignal.aborted;
}

async function finish(conn: Conn, result: SimulateResult, end: NonNullable<SimulateOptions['end']>): Promise<void> {
  const open = conn.ws.readyState === WebSocket.OPEN;
  if (end === 'none' && open) {
    result.socket = conn.ws;
    return;
  }
  if (open) {
    conn.state.clientClosing = true;
    if (end === 'stop') {
      conn.ws.send(JSON.stringify(stopMessage(result, result.nextSequenceNumber++)));
      result.stopSent = true;
    }
    if (end === 'terminate') conn.ws.terminate();
    else conn.ws.close(1000, end === 'stop' ? 'call ended' : 'stream closed');
  }
  const timer = setTimeout(() => conn.ws.terminate(), CLOSE_WAIT_MS);
  const closed = await conn.closed;
  clearTimeout(timer);
  result.closedBy = closed.by;
  result.closeCode = closed.code;
  result.closeReason = closed.reason;
}
