/**
 * A stand-in gateway that only records what it receives, so simulator tests never depend on
 * the real one. Plain http + ws, listening on port 0.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { WebSocketServer, type WebSocket } from 'ws';

export interface VoiceRequest {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  params: Record<string, string>;
}

export interface StreamConnection {
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed text frames, in arrival order; `arrivedAt` is performance.now(). */
  messages: { data: Record<string, unknown>; arrivedAt: number }[];
  binaryFrames: number;
  /** Resolves when the socket is closed, with the code the server saw. */
  closed: Promise<{ code: number; reason: string }>;
  socket: WebSocket;
}

export interface FakeGatewayOptions {
  /** What the gateway believes its public base is; the TwiML's wss URL is derived from it. */
  publicUrl?: string;
  parameters?: Record<string, string>;
  /** Answer /twilio/voice with this status and body instead of TwiML. */
  voiceStatus?: { status: number; body: string };
  /** Refuse the upgrade with this HTTP status. */
  refuseUpgrade?: number;
  /** Close the socket right after `start` with this code and reason. */
  closeAfterStart?: { code: number; reason: string };
}

export interface FakeGateway {
  url: string;
  publicUrl: string;
  streamUrl: string;
  voice: VoiceRequest[];
  streams: StreamConnection[];
  close(): Promise<void>;
}

export async function startFakeGateway(opts: FakeGatewayOptions = {}): Promise<FakeGateway> {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const publicUrl = opts.publicUrl ?? url;
  const gw: FakeGateway = {
    url, publicUrl, streamUrl: publicUrl.replace(/^http/, 'ws') + '/twilio/media-stream', voice: [], streams: [],
    close: async () => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
  server.on('request', (req, res) => void answerVoice(req, res, gw, opts));
  server.on('upgrade', (req, socket, head) => {
    if (opts.refuseUpgrade) {
      socket.end(`HTTP/1.1 ${opts.refuseUpgrade} Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforbidden`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => gw.streams.push(record(ws, req, opts)));
  });
  return gw;
}

async function answerVoice(req: http.IncomingMessage, res: http.ServerResponse, gw: FakeGateway, opts: FakeGatewayOptions) {
  let body = '';
  for await (const c of req) body += String(c);
  gw.voice.push({ url: req.url ?? '', headers: req.headers, body, params: Object.fromEntries(new URLSearchParams(body)) });
  if (opts.voiceStatus) {
    res.writeHead(opts.voiceStatus.status, { 'content-type': 'text/plain' }).end(opts.voiceStatus.body);
    return;
  }
  const twiml = new twilio.twiml.VoiceResponse();
  const stream = twiml.start().stream({ url: gw.streamUrl, track: 'both_tracks' });
  for (const [name, value] of Object.entries(opts.parameters ?? {})) stream.parameter({ name, value });
  twiml.dial().number('+15558675310');
  res.writeHead(200, { 'content-type': 'text/xml' }).end(twiml.toString());
}

function record(ws: WebSocket, req: http.IncomingMessage, opts: FakeGatewayOptions): StreamConnection {
  const conn: StreamConnection = {
    url: req.url ?? '', headers: req.headers, messages: [], binaryFrames: 0, socket: ws,
    closed: new Promise((done) => ws.on('close', (code, reason) => done({ code, reason: reason.toString() }))),
  };
  // Attached at once: the simulator sends connected and start in the same tick as open.
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      conn.binaryFrames++;
      return;
    }
    const msg = JSON.parse(String(data)) as Record<string, unknown>;
    conn.messages.push({ data: msg, arrivedAt: performance.now() });
    if (msg.event === 'start' && opts.closeAfterStart) ws.close(opts.closeAfterStart.code, opts.closeAfterStart.reason);
  });
  return conn;
}
