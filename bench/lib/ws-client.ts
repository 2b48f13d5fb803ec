// The client half of bench/ws-load.ts: ramps up `tracks / 2` Twilio-like streams against the
// gateway on loopback, each signed the way Twilio signs (POST /twilio/voice with
// X-Twilio-Signature, the token from the TwiML <Parameter>, the upgrade signed over the wss URL),
// then sends connected, start, and one 160-byte media frame per track every 20 ms in real time
// from a common t0 (each stream at its own random phase), then stop. It measures its own CPU and
// how late it sent, so a slow client is not mistaken for a slow server.
//   args: <port> <tracks> <seconds>
import twilio from 'twilio';
import WebSocket from 'ws';
import { report } from './child.js';
import { FRAME_MS, FRAMES_PER_S, base64Frames, mediaJson, sid, speechLikeMulaw } from './signal.js';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, type ClientResult } from './ws-common.js';

const [port, tracks, seconds] = process.argv.slice(2).map(Number) as [number, number, number];
const RAMP_CONCURRENCY = 16;
const OPEN_TIMEOUT_MS = 10_000;
const CLOSE_WAIT_MS = 20_000;
const TICK_MS = 2;
const base = `http://127.0.0.1:${port}`;
const salt = (Date.now() & 0xffffff) >>> 0;
const errors: string[] = [];
const note = (e: string) => errors.length < 20 && errors.push(e);

interface Stream {
  i: number;
  ws: WebSocket;
  streamSid: string;
  callSid: string;
  phase: number;
  sent: number;
  seq: number;
  closed: Promise<number>;
}

async function voiceWebhook(callSid: string): Promise<{ url: string; token: string }> {
  const params: Record<string, string> = {
    AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01', CallSid: callSid, CallStatus: 'ringing', Called: '+15005550006',
    Caller: '+15017122661', Direction: 'inbound', From: '+15017122661', To: '+15005550006',
  };
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/twilio/voice`, params);
  const res = await fetch(`${base}/twilio/voice`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(OPEN_TIMEOUT_MS),
  });
  const twiml = await res.text();
  const url = /<Stream\b[^>]*\burl="([^"]+)"/.exec(twiml)?.[1];
  const token = /<Parameter name="token" value="([^"]+)"/.exec(twiml)?.[1];
  if (res.status !== 200 || !url || !token) throw new Error(`voice webhook: ${res.status} ${twiml.slice(0, 200)}`);
  return { url: url.replace(/&amp;/g, '&'), token };
}

async function openStream(i: number): Promise<Stream> {
  const callSid = sid('CA', i + 1, salt);
  const streamSid = sid('MZ', i + 1, salt);
  const { url, token } = await voiceWebhook(callSid);
  const ws = new WebSocket(`ws://127.0.0.1:${port}${new URL(url).pathname}`, {
    headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, {}) },
    perMessageDeflate: false,
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', (err) => note(`stream ${i}: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('open timeout')), OPEN_TIMEOUT_MS);
    ws.once('open', () => (clearTimeout(timer), resolve()));
    ws.once('unexpected-response', (_q, r) => (clearTimeout(timer), reject(new Error(`upgrade refused: ${r.statusCode}`))));
  });
  ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  ws.send(JSON.stringify({
    event: 'start', sequenceNumber: '1', streamSid,
    start: {
      streamSid, accountSid: ACCOUNT_SID, callSid, tracks: ['inbound', 'outbound'], customParameters: { token },
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  }));
  return { i, ws, streamSid, callSid, phase: Math.random() * FRAME_MS, sent: 0, seq: 2, closed };
}

async function ramp(count: number): Promise<Stream[]> {
  const out: Stream[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        out.push(await openStream(i));
      } catch (err) {
        note(`stream ${i}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: RAMP_CONCURRENCY }, worker));
  return out;
}

/** Sends every frame that is due, in real time, until each stream has sent `frames`. */
function pace(streams: Stream[], frames: number, start: number): Promise<{ late: number[]; maxBuffered: number; sent: number }> {
  const payloads = [base64Frames(speechLikeMulaw(10, 1)), base64Frames(speechLikeMulaw(10, 2))] as const;
  const late = new Array<number>(1001).fill(0); // 1 ms buckets; the last one is ">= 1 s"
  let maxBuffered = 0;
  let sent = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      let pending = false;
      for (const s of streams) {
        const due = Math.min(frames, Math.floor((now - start - s.phase) / FRAME_MS) + 1);
        if (s.ws.readyState !== WebSocket.OPEN) continue;
        while (s.sent < due) {
          const f = s.sent++;
          late[Math.min(1000, Math.floor(now - (start + s.phase + f * FRAME_MS)))]! += 1;
          s.ws.send(mediaJson(s.streamSid, 'inbound', s.seq++, f + 1, f * FRAME_MS, payloads[0][f % payloads[0].length]!));
          s.ws.send(mediaJson(s.streamSid, 'outbound', s.seq++, f + 1, f * FRAME_MS, payloads[1][f % payloads[1].length]!));
          sent += 2;
        }
        if (s.sent < frames) pending = true;
        if (s.ws.bufferedAmount > maxBuffered) maxBuffered = s.ws.bufferedAmount;
      }
      if (pending) setTimeout(tick, TICK_MS);
      else resolve({ late, maxBuffered, sent });
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
}

function percentileOf(histogram: number[], q: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (const [ms, n] of histogram.entries()) if ((seen += n) >= q * total) return ms;
  return histogram.length - 1;
}

async function main(): Promise<void> {
  const selfTimeout = setTimeout(() => process.exit(3), (seconds + 120) * 1000);
  const t = performance.now();
  const streams = await ramp(tracks / 2);
  const rampMs = performance.now() - t;
  const start = performance.now() + 500;
  const t0 = Date.now() + 500;
  const cpu0 = process.cpuUsage();
  const frames = seconds * FRAMES_PER_S;
  const { late, maxBuffered, sent } = await pace(streams, frames, start);
  const cpu = process.cpuUsage(cpu0);
  const cpuPct = (cpu.user + cpu.system) / 1e4 / ((performance.now() - start) / 1000);
  const tEnd = Date.now();
  for (const s of streams) {
    if (s.ws.readyState === WebSocket.OPEN) {
      s.ws.send(JSON.stringify({ event: 'stop', sequenceNumber: String(s.seq++), streamSid: s.streamSid, stop: { accountSid: ACCOUNT_SID, callSid: s.callSid } }));
    }
  }
  const timer = setTimeout(() => streams.forEach((s) => s.ws.terminate()), CLOSE_WAIT_MS);
  const codes = await Promise.all(streams.map((s) => s.closed));
  clearTimeout(timer);
  clearTimeout(selfTimeout);
  const result: ClientResult = {
    streams: tracks / 2, opened: streams.length, rampMs, t0, tEnd, sent, cpuPct,
    lateP99Ms: percentileOf(late, 0.99), lateMaxMs: late.findLastIndex((n) => n > 0), maxBufferedBytes: maxBuffered,
    closedByServer: codes.filter((c) => c === 1000).length, errors,
  };
  report(result);
}

await main();
process.exit(0);
