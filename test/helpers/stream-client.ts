// A minimal Twilio-like media stream client for tests that need exact control of every frame.
import twilio from 'twilio';
import WebSocket from 'ws';
import { ACCOUNT_SID, AUTH_TOKEN, type TestGateway } from './gateway.js';
import { PUBLIC, randomSid, signedForm } from './twilio-sign.js';

export interface StreamClient {
  ws: WebSocket;
  callSid: string;
  streamSid: string;
  token: string;
  send(obj: unknown): void;
  start(token?: string): void;
  media(track: 'inbound' | 'outbound', timestampMs: number, payload: Uint8Array): void;
  stop(): void;
  closed: Promise<{ code: number; reason: string }>;
}

/** Answers a call through the voice webhook over real HTTP; returns the token from the TwiML. */
export async function answerCall(baseUrl: string, callSid = randomSid('CA')): Promise<{ callSid: string; token: string }> {
  const req = signedForm('/twilio/voice', {
    CallSid: callSid, AccountSid: ACCOUNT_SID, From: 'client:agent', To: '+15551234567', CallStatus: 'ringing',
  });
  const res = await fetch(baseUrl + req.url, { method: 'POST', headers: req.headers, body: req.payload });
  const body = await res.text();
  const token = /<Parameter name="token" value="([^"]+)"/.exec(body)?.[1];
  if (!token) throw new Error(`no token in TwiML (${res.status}): ${body}`);
  return { callSid, token };
}

export async function connectStream(gw: TestGateway | { url: string }, opts: { signed?: boolean; callSid?: string } = {}): Promise<StreamClient> {
  const { callSid, token } = await answerCall(gw.url, opts.callSid);
  const path = '/twilio/media-stream';
  const headers: Record<string, string> = {};
  if (opts.signed !== false) headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC.replace('https', 'wss') + path, {});
  const ws = new WebSocket(gw.url.replace('http', 'ws') + path, { headers });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const streamSid = randomSid('MZ');
  let seq = 0;
  const send = (obj: unknown) => ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  return {
    ws, callSid, streamSid, token, send, closed,
    start(t = token) {
      send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
      send({
        event: 'start', sequenceNumber: String(++seq), streamSid,
        start: {
          streamSid, accountSid: ACCOUNT_SID, callSid, tracks: ['inbound', 'outbound'], customParameters: { token: t },
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
      });
    },
    media(track, timestampMs, payload) {
      send({
        event: 'media', sequenceNumber: String(++seq), streamSid,
        media: { track, chunk: String(seq), timestamp: String(timestampMs), payload: Buffer.from(payload).toString('base64') },
      });
    },
    stop() {
      send({ event: 'stop', sequenceNumber: String(++seq), streamSid, stop: { accountSid: ACCOUNT_SID, callSid } });
    },
  };
}

/** Waits until the store shows the stream closed (its rows are written after the files). */
export async function streamClosed(gw: TestGateway, streamSid: string, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const row = await gw.app.gateway.store.streams.get(streamSid);
    if (row && row.state !== 'open') return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`stream ${streamSid} did not close within ${timeoutMs} ms`);
}
