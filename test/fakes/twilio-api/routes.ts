/**
 * Request routing for the fake: URL shapes, Basic auth, the strictness checks (suspicious URLs,
 * parameters Twilio would ignore), fault injection, and the per-route handlers.
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jsonReply, sendReply, statusFaultReply, takeFaults, type Reply } from './faults.js';
import { listPage, LIST_PARAMS } from './list.js';
import { fakeMp3, mediaWav } from './media.js';
import { MSG_16113, notFound, toResource, twilioError, type StoredRecording } from './resource.js';
import type { FaultRule, RequestKind, RequestLogEntry, SuspiciousEntry } from './types.js';

/** The server state the handlers need; implemented by the FakeTwilio class. */
export interface RouteContext {
  accountSid: string;
  credentials: Map<string, string>;
  apiBase: string;
  storageBaseUrl: string;
  redirectMedia: boolean;
  recordings: Map<string, StoredRecording>;
  /** Pre-signed storage tokens handed out in redirects. */
  storageTokens: Map<string, { sid: string; ext: 'wav' | 'mp3'; presentation: 1 | 2 }>;
  faults: FaultRule[];
  requests: RequestLogEntry[];
  deleted: { sid: string; at: Date }[];
  suspicious: SuspiciousEntry[];
  storageAuthLeaks: { path: string; authUser: string | null; at: Date }[];
  timers: Set<NodeJS.Timeout>;
  inFlight: Record<RequestKind, number>;
  maxInFlight: Record<RequestKind, number>;
}

interface Route {
  kind: RequestKind;
  account?: string;
  sid?: string;
  ext?: string;
  /** Query parameters the endpoint understands; others are logged as suspicious. */
  params: ReadonlySet<string>;
}

const RECORDINGS = /^\/2010-04-01\/Accounts\/([^/]+)\/Recordings(?:\.json|\/([^/.]+)(?:\.(json|wav|mp3))?)$/;
const STORAGE = /^\/media-store\/([^/.]+)\.(wav|mp3)$/;
const SUSPICIOUS_TOKENS = ['undefined', 'None', 'null', 'NaN', '[object Object]'];
const NONE: ReadonlySet<string> = new Set();

function parseRoute(method: string, path: string): Route {
  const s = STORAGE.exec(path);
  if (s) return { kind: 'storage', sid: s[1]!, ext: s[2]!, params: NONE };
  const m = RECORDINGS.exec(path);
  if (!m) return { kind: 'other', params: NONE };
  const [, account, sid, ext] = m;
  if (sid === undefined) return { kind: 'list', account: account!, params: LIST_PARAMS };
  if (method === 'DELETE') return { kind: 'delete', account: account!, sid, ext: ext ?? '', params: NONE };
  if (ext === 'json') return { kind: 'metadata', account: account!, sid, ext, params: new Set(['IncludeSoftDeleted']) };
  return { kind: 'media', account: account!, sid, ext: ext ?? '', params: new Set(['RequestedChannels']) };
}

/** Which methods each kind accepts; anything else is Twilio's 405 (code 20004). */
function methodAllowed(route: Route, method: string): boolean {
  if (route.kind === 'delete') return route.ext === 'json' || route.ext === '';
  return method === 'GET' || method === 'HEAD';
}

function basicUser(header: string | undefined): { user: string; pass: string } | null {
  const m = /^basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? { user: decoded, pass: '' } : { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}

function unauthorized(noCredentials: boolean): Reply {
  const message = noCredentials ? 'Authentication Error - No credentials provided' : 'Authenticate';
  return jsonReply(401, twilioError(401, 20003, message, 'Your AccountSid or AuthToken was incorrect.'), {
    'WWW-Authenticate': 'Basic realm="Twilio API"',
  });
}

/** S3-style XML errors: the storage host is not Twilio and does not speak Twilio's JSON. */
function s3Error(status: number, code: string, message: string): Reply {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  return { status, headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(xml) };
}

/** Logs what a correct client never sends; returns true when the path itself is suspicious. */
function flagSuspicious(ctx: RouteContext, req: http.IncomingMessage, url: URL, route: Route): boolean {
  let pathSuspicious = false;
  const note = (reason: string): void => {
    ctx.suspicious.push({ method: req.method ?? '', url: req.url ?? '', reason, at: new Date() });
  };
  let decoded = url.pathname;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    note('path is not valid percent-encoding');
  }
  for (const t of SUSPICIOUS_TOKENS) {
    if (decoded.includes(t)) {
      pathSuspicious = true;
      note(`path contains "${t}"`);
    }
  }
  for (const [k, v] of url.searchParams) {
    for (const t of SUSPICIOUS_TOKENS) if (v.includes(t)) note(`query ${k} contains "${t}"`);
    if (route.kind === 'storage') continue;
    if (v === '') note(`query ${k} is empty`);
    if (!route.params.has(k)) note(`query parameter ${k} is not one Twilio knows here (it would be ignored)`);
  }
  return pathSuspicious;
}

/** One `bytes=first-[last]` range, as S3 and Twilio's media host honour it: 206 with the slice,
 *  416 past the end. Anything else (no header, suffix or multiple ranges) gets the whole body. */
function ranged(reply: Reply, range: string | undefined): Reply {
  const m = /^bytes=(\d+)-(\d*)$/.exec(range?.trim() ?? '');
  if (!m || reply.status !== 200) return reply;
  const size = reply.body.length;
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) return { status: 416, headers: { 'Content-Range': `bytes */${size}` }, body: Buffer.alloc(0) };
  const headers = { ...reply.headers, 'Content-Range': `bytes ${start}-${end}/${size}` };
  return { status: 206, headers, body: reply.body.subarray(start, end + 1) };
}

function mediaReply(ctx: RouteContext, rec: StoredRecording | undefined, route: Route, url: URL, range: string | undefined): Reply {
  if (!rec || rec.deletedAt || rec.status !== 'completed') return jsonReply(404, notFound(url.pathname));
  const requested = url.searchParams.get('RequestedChannels');
  if (requested !== null && requested !== '1' && requested !== '2') {
    return jsonReply(400, twilioError(400, 20001, `Invalid RequestedChannels: ${requested}`));
  }
  if (requested === '2' && rec.channels === 1) return jsonReply(400, twilioError(400, 16113, MSG_16113));
  const presentation: 1 | 2 = requested === '2' ? 2 : 1;
  const ext = route.ext === 'mp3' ? 'mp3' : 'wav';
  if (ext === 'mp3' && rec.encrypted) {
    return jsonReply(400, twilioError(400, 16109,
      'Encrypted recordings cannot be transcoded. Request the recording media as .wav by omitting the extension or using .wav.'));
  }
  if (ctx.redirectMedia) {
    const token = randomBytes(16).toString('hex');
    ctx.storageTokens.set(token, { sid: rec.sid, ext, presentation });
    const location = `${ctx.storageBaseUrl}/media-store/${rec.sid}.${ext}?X-Amz-Expires=600&X-Amz-Signature=${token}`;
    return { status: 302, headers: { Location: location }, body: Buffer.alloc(0) };
  }
  return ranged(mediaBytes(rec, ext, presentation), range);
}

function mediaBytes(rec: StoredRecording, ext: 'wav' | 'mp3', presentation: 1 | 2): Reply {
  if (ext === 'mp3') return { status: 200, headers: { 'Content-Type': 'audio/mpeg' }, body: fakeMp3(rec.durationS) };
  return { status: 200, headers: { 'Content-Type': 'audio/x-wav' }, body: mediaWav(rec.audio, presentation), isWav: true };
}

function storageReply(ctx: RouteContext, req: http.IncomingMessage, route: Route, url: URL, authUser: string | null): Reply {
  if (req.headers.authorization !== undefined) {
    ctx.storageAuthLeaks.push({ path: url.pathname, authUser, at: new Date() });
    // What S3 says when a pre-signed URL also carries an Authorization header.
    return s3Error(400, 'InvalidArgument', 'Only one auth mechanism allowed');
  }
  const grant = ctx.storageTokens.get(url.searchParams.get('X-Amz-Signature') ?? '');
  if (!grant || grant.sid !== route.sid || grant.ext !== route.ext) return s3Error(403, 'AccessDenied', 'Access Denied');
  const rec = ctx.recordings.get(grant.sid);
  if (!rec || rec.deletedAt) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
  return ranged(mediaBytes(rec, grant.ext, grant.presentation), req.headers.range);
}

function apiReply(ctx: RouteContext, req: http.IncomingMessage, route: Route, url: URL): Reply {
  const method = req.method ?? 'GET';
  if (route.kind === 'other') return jsonReply(404, notFound(url.pathname));
  if (!methodAllowed(route, method)) return jsonReply(405, twilioError(405, 20004, 'Method not allowed'));
  const rec = route.sid === undefined ? undefined : ctx.recordings.get(route.sid);
  const resource = (r: StoredRecording) => toResource(r, ctx.accountSid, ctx.apiBase);
  switch (route.kind) {
    case 'list': {
      const r = listPage(ctx.recordings, url.searchParams, url.pathname, resource);
      return jsonReply(r.status, r.body);
    }
    case 'metadata':
      if (!rec || (rec.deletedAt && url.searchParams.get('IncludeSoftDeleted') !== 'true')) {
        return jsonReply(404, notFound(url.pathname));
      }
      return jsonReply(200, resource(rec));
    case 'delete':
      if (!rec || rec.deletedAt) return jsonReply(404, notFound(url.pathname));
      rec.deletedAt = new Date();
      ctx.deleted.push({ sid: rec.sid, at: rec.deletedAt });
      return { status: 204, headers: {}, body: Buffer.alloc(0) };
    default:
      return mediaReply(ctx, rec, route, url, req.headers.range);
  }
}

/** Requests of each kind being answered now, and the most at once (a client's concurrency). */
function countInFlight(ctx: RouteContext, kind: RequestKind, res: http.ServerResponse): void {
  ctx.inFlight[kind]++;
  ctx.maxInFlight[kind] = Math.max(ctx.maxInFlight[kind], ctx.inFlight[kind]);
  res.once('close', () => ctx.inFlight[kind]--);
}

export async function handle(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://fake.invalid');
  const route = parseRoute(method, url.pathname);
  const creds = basicUser(req.headers.authorization);
  const entry: RequestLogEntry = {
    method, path: url.pathname, query: Object.fromEntries(url.searchParams), authUser: creds?.user ?? null,
    host: req.headers.host, kind: route.kind, at: new Date(),
  };
  if (route.sid !== undefined) entry.recordingSid = route.sid;
  ctx.requests.push(entry);
  countInFlight(ctx, route.kind, res);
  const pathSuspicious = flagSuspicious(ctx, req, url, route);

  const reply = async (): Promise<[Reply, Parameters<typeof sendReply>[2]]> => {
    if (route.kind !== 'storage') {
      if (!creds || ctx.credentials.get(creds.user) !== creds.pass) return [unauthorized(!creds), undefined];
      // A URL built from a missing value names nothing, whatever account it claims.
      if (pathSuspicious) return [jsonReply(404, notFound(url.pathname)), undefined];
      // Credentials valid for one account do not open another: Twilio answers 401/20003 there too.
      if (route.account !== undefined && route.account !== ctx.accountSid) return [unauthorized(false), undefined];
    } else if (pathSuspicious) {
      return [s3Error(404, 'NoSuchKey', 'The specified key does not exist.'), undefined];
    }
    const { latencyMs, fault } = takeFaults(ctx.faults, {
      method, path: url.pathname, query: url.searchParams, kind: route.kind, ...(route.sid !== undefined ? { recordingSid: route.sid } : {}),
    });
    if (latencyMs > 0) await sleep(latencyMs);
    if (fault?.type === 'status') return [statusFaultReply(fault, url.pathname), undefined];
    const r = route.kind === 'storage' ? storageReply(ctx, req, route, url, entry.authUser) : apiReply(ctx, req, route, url);
    return [r, fault];
  };
  const [r, fault] = await reply();
  entry.status = r.status;
  if (res.destroyed) return; // the client gave up during injected latency
  sendReply(res, r, fault, ctx.timers);
}
