/**
 * A local stand-in for Vonage's Voice API, strict where the gateway could go wrong: every request
 * needs an RS256 application JWT signed by the application's key (checked with the public key;
 * application_id, iat, exp, and a jti never seen before), numbers in Vonage's digits-only E.164,
 * an NCCO of known actions, and Vonage's RFC 7807 error bodies. Recordings are served from
 * /v1/files/:id and /v3/files/:id with injectable faults; /storage/:id stands for a foreign host
 * (reached as `localhost` rather than 127.0.0.1) and records whether a JWT leaked to it.
 *
 * Usage: `const v = await startFakeVonage({ applicationId, publicKey })`, point VONAGE_API_BASE_URL
 * at `v.url`, `v.addRecording()`, post `v.recordingEvent(rec)` signed (test/fakes/vonage-webhook.ts).
 */
import { randomUUID, verify, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { closeServer, listenLoopback } from './loopback.js';
import { encodeVonageWav, makeRecording, type AddVonageRecording, type StoredVonageRecording } from './vonage-media.js';
import { checkCallBody } from './vonage-ncco-check.js';

export type FileFault = '404' | '429' | '500' | 'stall-headers' | 'stall-body' | 'short' | 'mono' | 'redirect-foreign' | 'redirect-same';

export interface FakeVonageOptions {
  applicationId: string;
  publicKey: KeyObject | string;
}

export interface RequestLog {
  method: string;
  path: string;
  host: string;
  authorization: string | undefined;
  jwt: 'ok' | 'missing' | 'invalid';
}

export interface PlacedCall {
  uuid: string;
  conversationUuid: string;
  body: Record<string, unknown>;
}

const ERRORS = 'https://developer.nexmo.com/api-errors';
const NUMBER = /^[1-9]\d{6,14}$/;

function problem(res: http.ServerResponse, status: number, title: string, detail: string, extra: Record<string, unknown> = {}) {
  res.writeHead(status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: `${ERRORS}#${title.toLowerCase().replace(/ /g, '-')}`, title, detail, instance: randomUUID(), ...extra }));
}

export class FakeVonage {
  readonly requests: RequestLog[] = [];
  readonly calls: PlacedCall[] = [];
  readonly recordings = new Map<string, StoredVonageRecording>();
  /** faults per file id, consumed one per download request */
  readonly faults = new Map<string, FileFault[]>();
  /** the next call creations answer with this instead (consumed) */
  readonly callErrors: Array<{ status: number; title: string; detail: string }> = [];
  private readonly jtis = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly url: string;

  constructor(private readonly server: http.Server, private readonly o: FakeVonageOptions, readonly port: number) {
    this.url = `http://127.0.0.1:${port}`;
  }

  addRecording(r: AddVonageRecording = {}): StoredVonageRecording {
    const rec = makeRecording(r);
    this.recordings.set(rec.fileId, rec);
    return rec;
  }

  fault(fileId: string, ...faults: FileFault[]): void {
    this.faults.set(fileId, [...(this.faults.get(fileId) ?? []), ...faults]);
  }

  /** The body Vonage posts to the record action's eventUrl (protocol-facts §6). */
  recordingEvent(rec: StoredVonageRecording): Record<string, unknown> {
    return {
      start_time: rec.startTime, end_time: rec.endTime, recording_url: `${this.url}/v1/files/${rec.fileId}`, size: rec.wav.length,
      recording_uuid: rec.recordingUuid, conversation_uuid: rec.conversationUuid, timestamp: rec.endTime,
    };
  }

  fileRequests(fileId: string): RequestLog[] {
    return this.requests.filter((r) => r.path.endsWith(`/${fileId}`));
  }

  close(): Promise<void> {
    return closeServer(this.server, this.timers);
  }

  /** The application JWT: RS256 by the application's key, for this application, fresh. */
  checkJwt(authorization: string | undefined): 'ok' | 'missing' | 'invalid' {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return 'missing';
    const [h = '', p = '', s = ''] = token.split('.');
    try {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      if (header.alg !== 'RS256') return 'invalid';
      if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), this.o.publicKey, Buffer.from(s, 'base64url'))) return 'invalid';
      const now = Date.now() / 1000;
      const { application_id: app, iat, exp, jti } = claims;
      if (app !== this.o.applicationId || typeof iat !== 'number' || typeof exp !== 'number' || typeof jti !== 'string') return 'invalid';
      if (iat > now + 60 || exp <= now || this.jtis.has(jti)) return 'invalid';
      this.jtis.add(jti);
      return 'ok';
    } catch {
      return 'invalid';
    }
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const jwt = this.checkJwt(req.headers.authorization);
    this.requests.push({ method: req.method ?? '', path: url.pathname, host: req.headers.host ?? '', authorization: req.headers.authorization, jwt });
    const storage = /^\/storage\/([\w-]+)$/.exec(url.pathname);
    if (storage && req.method === 'GET') return this.serveFile(res, storage[1]!, false);
    if (jwt !== 'ok') return problem(res, 401, 'Unauthorized', 'You did not provide correct credentials.');
    if (url.pathname === '/v1/calls' && req.method === 'POST') return this.createCall(req, res);
    const file = /^\/v[13]\/files\/([\w-]+)$/.exec(url.pathname);
    if (file && req.method === 'GET') return this.serveFile(res, file[1]!, true);
    problem(res, 404, 'Not Found', `${req.method} ${url.pathname} is not a Voice API resource`);
  }

  private async createCall(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!/^application\/json/.test(req.headers['content-type'] ?? '')) return problem(res, 415, 'Unsupported Media Type', 'send application/json');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
    } catch {
      return problem(res, 400, 'Bad Request', 'Malformed JSON');
    }
    const invalid = checkCallBody(body, NUMBER);
    if (invalid.length > 0) return problem(res, 400, 'Bad Request', 'The request failed due to validation errors', { invalid_parameters: invalid });
    const err = this.callErrors.shift();
    if (err) return problem(res, err.status, err.title, err.detail);
    const uuid = randomUUID();
    const conversationUuid = `CON-${randomUUID()}`;
    this.calls.push({ uuid, conversationUuid, body });
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ uuid, status: 'started', direction: 'outbound', conversation_uuid: conversationUuid }));
  }

  private serveFile(res: http.ServerResponse, id: string, withFaults: boolean): void {
    const rec = this.recordings.get(id);
    if (!rec) return problem(res, 404, 'Not Found', 'File not found');
    const fault = withFaults ? this.faults.get(id)?.shift() : undefined;
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
      this.timers.add(t);
    };
    switch (fault) {
      case '404': return problem(res, 404, 'Not Found', 'File not found');
      case '429': res.setHeader('retry-after', '1'); return problem(res, 429, 'Too Many Requests', 'Rate limit hit');
      case '500': return problem(res, 500, 'Internal Server Error', 'Something went wrong');
      case 'stall-headers': return; // never answers
      case 'redirect-foreign':
      case 'redirect-same': {
        const to = fault === 'redirect-foreign' ? `http://localhost:${this.port}/storage/${id}` : `/v3/files/${id}`;
        res.writeHead(302, { location: to });
        return void res.end();
      }
      default: break;
    }
    const wav = fault === 'mono' ? encodeVonageWav([rec.left]) : rec.wav;
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(wav.length) });
    if (fault === 'stall-body') return void res.write(wav.subarray(0, wav.length >> 1));
    if (fault === 'short') {
      res.write(wav.subarray(0, wav.length >> 1));
      return later(20, () => res.destroy());
    }
    res.end(wav);
  }
}

export async function startFakeVonage(o: FakeVonageOptions): Promise<FakeVonage> {
  const ready: { fake?: FakeVonage } = {};
  const server = http.createServer((req, res) => {
    ready.fake!.handle(req, res).catch((err: Error) => problem(res, 500, 'Internal Server Error', err.message));
  });
  ready.fake = new FakeVonage(server, o, await listenLoopback(server));
  return ready.fake;
}
