// A client that behaves like Vonage's side of an NCCO websocket endpoint: a `websocket:connected`
// text frame echoing the endpoint headers, then binary PCM16LE frames, then a close. Plus real
// speech at 16 kHz from espeak-ng for it to send.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import type { Track } from '../../src/twilio/messages.js';
import { streamToken } from '../../src/twilio/signature.js';
import { VONAGE_MEDIA_STREAM_PATH } from '../../src/providers/vonage-contract.js';
import type { StreamRow } from '../../src/store/streams.js';
import type { CaptureRow } from '../../src/store/captures.js';
import { SOX_S16, int16FromLE, runSox } from '../audio/helpers.js';
import { tempDir, type TestGateway } from '../helpers/gateway.js';

export const vonageCallId = (n: number) => `VN${n.toString(16).padStart(32, '0')}`;

/** espeak-ng speech at `rate`, band-limited to the telephone band (3.4 kHz) like a phone leg. */
export function speech(text: string, rate: 8000 | 16000, voice = 'en-us'): Int16Array {
  const file = path.join(tempDir('cv-espeak-'), 'speech.wav');
  try {
    execFileSync('espeak-ng', ['-v', voice, '-w', file, '--', text]);
    return int16FromLE(runSox(fs.readFileSync(file), ['-t', 'wav'], [...SOX_S16, '-r', String(rate)], ['sinc', '-3400', 'rate', '-v', String(rate)]));
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

export const pcmBytes = (x: Int16Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

export interface ConnectedOptions {
  callSid: string;
  token?: string | null;
  track?: Track | string;
  contentType?: string;
  /** headers under a `headers` key instead of at the top level (Vonage's documented shape) */
  nested?: boolean;
}

export function connectedFrame(secret: string, o: ConnectedOptions): string {
  const headers: Record<string, string> = { callvault_call: o.callSid, callvault_track: o.track ?? 'inbound' };
  if (o.token !== null) headers.callvault_token = o.token ?? streamToken(secret, o.callSid);
  const base = { event: 'websocket:connected', 'content-type': o.contentType ?? 'audio/l16;rate=16000' };
  return JSON.stringify(o.nested ? { ...base, headers } : { ...base, ...headers });
}

export interface VonageClient {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  text(s: string): void;
  binary(b: Uint8Array): void;
  /** `pcm` in frames of `frameBytes` (640 = 20 ms at 16 kHz), or of the given sizes in turn */
  audio(pcm: Int16Array, frameBytes?: number | number[]): void;
}

export async function connectVonage(gw: { url: string }): Promise<VonageClient> {
  const ws = new WebSocket(gw.url.replace('http', 'ws') + VONAGE_MEDIA_STREAM_PATH);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws, closed,
    text: (s) => ws.send(s, { binary: false }),
    binary: (b) => ws.send(b, { binary: true }),
    audio(pcm, frameBytes = 640) {
      const bytes = pcmBytes(pcm);
      const sizes = Array.isArray(frameBytes) ? frameBytes : [frameBytes];
      for (let at = 0, k = 0; at < bytes.length; k++) {
        const n = sizes[k % sizes.length]!;
        ws.send(bytes.subarray(at, at + n), { binary: true });
        at += n;
      }
    },
  };
}

/** Waits until the call's stream is closed and its capture rows are final; returns them. */
export async function finishedStream(gw: TestGateway, callSid: string, timeoutMs = 10_000): Promise<{ stream: StreamRow; captures: CaptureRow[] }> {
  const { store } = gw.app.gateway;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [stream] = await store.streams.listByCall(callSid);
    if (stream && stream.state !== 'open') {
      const captures = await store.captures.listByStream(stream.streamSid);
      if (captures.length > 0 && captures.every((c) => c.state !== 'recording')) return { stream, captures };
    }
    if (Date.now() > until) throw new Error(`no finished stream for ${callSid} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function addVonageCall(gw: TestGateway, callSid: string, provider: 'vonage' | 'twilio' = 'vonage'): Promise<void> {
  await gw.app.gateway.store.calls.upsert({ callSid, provider, direction: 'outbound', agentTrack: 'outbound', customerTrack: 'inbound', status: 'answered' });
}
