/**
 * What Twilio puts on the wire: SIDs, the voice webhook form, the TwiML we follow, and the
 * Media Streams messages (reference/protocol-facts.md §1: every value a string except
 * mediaFormat.sampleRate and .channels).
 */
import { randomBytes } from 'node:crypto';
import type { TrackName } from './impairments.js';

/** Twilio SIDs are a two-letter prefix and 32 lowercase hex digits. */
export function randomSid(prefix: 'CA' | 'AC' | 'MZ' | 'AP'): string {
  return prefix + randomBytes(16).toString('hex');
}

export interface VoiceParamsInput {
  callSid: string;
  accountSid: string;
  from: string;
  to: string;
  /** `outbound` = placed from the browser app through the TwiML App. */
  direction: 'inbound' | 'outbound';
}

/** The form Twilio posts to the voice URL when the call rings. */
export function voiceParams(p: VoiceParamsInput): Record<string, string> {
  return {
    AccountSid: p.accountSid,
    ApiVersion: '2010-04-01',
    CallSid: p.callSid,
    CallStatus: 'ringing',
    Called: p.direction === 'outbound' ? '' : p.to,
    Caller: p.from,
    // A browser call is an *inbound* call to the TwiML App on the parent leg; the
    // number it dials only appears in `To` (a Device.connect param).
    Direction: 'inbound',
    From: p.from,
    To: p.to,
  };
}

export interface StreamTwiml {
  /** The `<Stream url>` exactly as written (entities decoded): the URL the upgrade is signed over. */
  url: string;
  /** `<Parameter name value/>` children of that `<Stream>`, in order. */
  parameters: Record<string, string>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    out[m[1] as string] = decodeXml(m[2] ?? m[3] ?? '');
  }
  return out;
}

/** A tag's attributes up to its end; quoted values may hold a raw `>` (valid XML, and twilio emits it). */
const ATTRS = String.raw`((?:[^>"'/]|"[^"]*"|'[^']*'|\/(?!>))*)(\/?)>`;

/** Finds the first `<Stream>`; a string scan is enough because the TwiML is our own output. */
export function parseStreamTwiml(twiml: string): StreamTwiml | undefined {
  const open = new RegExp(String.raw`<Stream\b` + ATTRS).exec(twiml);
  if (!open) return undefined;
  const url = attributes(open[1] ?? '').url;
  if (!url) return undefined;
  const parameters: Record<string, string> = {};
  if (open[2] !== '/') {
    const end = twiml.indexOf('</Stream>', open.index);
    const body = twiml.slice(open.index + open[0].length, end < 0 ? undefined : end);
    for (const p of body.matchAll(new RegExp(String.raw`<Parameter\b` + ATTRS, 'g'))) {
      const a = attributes(p[1] ?? '');
      if (a.name !== undefined) parameters[a.name] = a.value ?? '';
    }
  }
  return { url, parameters };
}

export interface StreamIds {
  streamSid: string;
  accountSid: string;
  callSid: string;
}

export function connectedMessage() {
  return { event: 'connected', protocol: 'Call', version: '1.0.0' };
}

export function startMessage(ids: StreamIds, customParameters: Record<string, string>) {
  return {
    event: 'start',
    sequenceNumber: '1',
    streamSid: ids.streamSid,
    start: {
      streamSid: ids.streamSid,
      accountSid: ids.accountSid,
      callSid: ids.callSid,
      tracks: ['inbound', 'outbound'],
      customParameters,
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  };
}

export interface MediaFields {
  sequenceNumber: number;
  track: TrackName;
  chunk: number;
  timestampMs: number;
  payload: Uint8Array;
}

export function mediaMessage(streamSid: string, m: MediaFields) {
  return {
    event: 'media',
    sequenceNumber: String(m.sequenceNumber),
    streamSid,
    media: {
      track: m.track,
      chunk: String(m.chunk),
      timestamp: String(m.timestampMs),
      payload: Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).toString('base64'),
    },
  };
}

export function stopMessage(ids: StreamIds, sequenceNumber: number) {
  return {
    event: 'stop',
    sequenceNumber: String(sequenceNumber),
    streamSid: ids.streamSid,
    stop: { accountSid: ids.accountSid, callSid: ids.callSid },
  };
}

/**
 * Where to really connect: the Stream URL's path on the gateway we can reach. The TwiML names
 * the public host (a tunnel, say); a public base with a path prefix maps onto the gateway's.
 */
export function localStreamUrl(streamUrl: string, gatewayUrl: string, publicUrl: string): string {
  const stream = new URL(streamUrl, publicUrl.replace(/^http/, 'ws'));
  const gateway = new URL(gatewayUrl);
  const publicPath = new URL(publicUrl).pathname.replace(/\/$/, '');
  const path = publicPath && stream.pathname.startsWith(publicPath + '/')
    ? stream.pathname.slice(publicPath.length) : stream.pathname;
  gateway.protocol = gateway.protocol === 'https:' ? 'wss:' : 'ws:';
  gateway.pathname = gateway.pathname.replace(/\/$/, '') + path;
  gateway.search = stream.search;
  return gateway.toString();
}
