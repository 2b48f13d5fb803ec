/**
 * A local stand-in for Twilio's REST API, recordings only, strict enough that a client passing
 * against it is likely to pass against the real one: Basic auth on every call, real URL shapes,
 * snake_case resources, token paging, 16113 for dual downloads of mono recordings, an optional
 * redirect to an unauthenticated storage host, and injectable network faults.
 *
 * Usage: `const tw = await startFakeTwilio({ accountSid, authToken })`, then point the gateway's
 * TWILIO_API_BASE_URL at `tw.url`. Module layout: twilio-api/{types,routes,list,resource,media,faults}.ts.
 */
import http from 'node:http';
import { defaultSignal } from './twilio-api/media.js';
import { callbackParams, toResource, wholeSeconds, type StoredRecording } from './twilio-api/resource.js';
import { handle, type RouteContext } from './twilio-api/routes.js';
import { closeServer, listenLoopback } from './loopback.js';
import type {
  AddRecordingInput, FakeTwilio, FakeTwilioOptions, FaultRule, RecordingResource, RequestKind, RequestLogEntry, SuspiciousEntry,
} from './twilio-api/types.js';

export type * from './twilio-api/types.js';
export { DEFAULT_TONES, SAMPLE_RATE, defaultSignal, encodeWav, mixToMono } from './twilio-api/media.js';
export { MSG_16113 } from './twilio-api/resource.js';

/** A deterministic, well-formed SID (prefix + 32 hex digits) for tests: `fakeSid('RE', 1)`. */
export function fakeSid(prefix: 'AC' | 'CA' | 'RE' | 'SK', n: number): string {
  return prefix + n.toString(16).padStart(32, '0');
}

function zeroPerKind(): Record<RequestKind, number> {
  return { media: 0, storage: 0, metadata: 0, list: 0, delete: 0, other: 0 };
}

class FakeTwilioServer implements FakeTwilio, RouteContext {
  readonly credentials = new Map<string, string>();
  readonly recordings = new Map<string, StoredRecording>();
  readonly storageTokens: RouteContext['storageTokens'] = new Map();
  readonly faults: FaultRule[] = [];
  readonly requests: RequestLogEntry[] = [];
  readonly deleted: { sid: string; at: Date }[] = [];
  readonly suspicious: SuspiciousEntry[] = [];
  readonly storageAuthLeaks: { path: string; authUser: string | null; at: Date }[] = [];
  readonly timers = new Set<NodeJS.Timeout>();
  readonly inFlight = zeroPerKind();
  readonly maxInFlight = zeroPerKind();
  readonly accountSid: string;
  redirectMedia: boolean;
  storageBaseUrl: string;
  private seq = 0;

  constructor(
    private readonly server: http.Server,
    opts: FakeTwilioOptions,
    readonly url: string,
    port: number,
  ) {
    this.accountSid = opts.accountSid;
    this.credentials.set(opts.accountSid, opts.authToken);
    if (opts.apiKey) this.credentials.set(opts.apiKey.sid, opts.apiKey.secret);
    this.redirectMedia = opts.redirectMedia ?? false;
    this.storageBaseUrl = `http://${opts.storageHost ?? 'localhost'}:${port}`;
  }

  get apiBase(): string {
    return this.url;
  }

  addRecording(r: AddRecordingInput): RecordingResource {
    if (!r.sid.startsWith('RE')) throw new Error(`recording sid must start with RE: ${r.sid}`);
    if (!r.callSid.startsWith('CA')) throw new Error(`call sid must start with CA: ${r.callSid}`);
    if (this.recordings.has(r.sid)) throw new Error(`duplicate recording ${r.sid}`);
    const audio = r.audio ?? defaultSignal(r.channels, r.durationS);
    // Refuse inconsistent input: a fake that quietly fixes it would hide test mistakes.
    if (r.channels === 2 && !audio.right) throw new Error('channels: 2 needs audio.right');
    if (r.channels === 1 && audio.right) throw new Error('channels: 1 takes no audio.right');
    if (audio.right && audio.right.length !== audio.left.length) throw new Error('left and right differ in length');
    const startTime = wholeSeconds(r.startTime ?? new Date());
    const stored: StoredRecording = {
      seq: this.seq++,
      sid: r.sid,
      callSid: r.callSid,
      channels: r.channels,
      durationS: r.durationS,
      status: r.status ?? 'completed',
      source: r.source ?? 'StartCallRecordingTwiML',
      startTime,
      dateUpdated: new Date(startTime.getTime() + Math.ceil(r.durationS) * 1000 + 1000),
      encrypted: r.encrypted ?? false,
      errorCode: r.errorCode ?? null,
      audio,
    };
    this.recordings.set(r.sid, stored);
    return this.resourceOf(r.sid);
  }

  private get(sid: string): StoredRecording {
    const rec = this.recordings.get(sid);
    if (!rec) throw new Error(`no recording ${sid}`);
    return rec;
  }

  updateRecording(sid: string, patch: { status?: string; durationS?: number; errorCode?: number | null }): void {
    const rec = this.get(sid);
    if (patch.status !== undefined) rec.status = patch.status;
    if (patch.durationS !== undefined) rec.durationS = patch.durationS;
    if (patch.errorCode !== undefined) rec.errorCode = patch.errorCode;
    rec.dateUpdated = wholeSeconds(new Date());
  }

  audioOf(sid: string): { left: Int16Array; right?: Int16Array } {
    return this.get(sid).audio;
  }

  resourceOf(sid: string): RecordingResource {
    return toResource(this.get(sid), this.accountSid, this.apiBase);
  }

  statusCallbackParams(sid: string): Record<string, string> {
    return callbackParams(this.get(sid), this.accountSid, this.apiBase);
  }

  close(): Promise<void> {
    return closeServer(this.server, this.timers);
  }
}

export async function startFakeTwilio(opts: FakeTwilioOptions): Promise<FakeTwilio> {
  const server = http.createServer();
  const port = await listenLoopback(server);
  const fake = new FakeTwilioServer(server, opts, `http://127.0.0.1:${port}`, port);
  server.on('request', (req, res) => {
    handle(fake, req, res).catch((err: unknown) => {
      // A bug in the fake must fail loudly in the test, not look like a Twilio outage.
      if (!res.headersSent) res.writeHead(599, { 'Content-Type': 'text/plain' });
      res.end(`fake twilio bug: ${String(err)}`);
    });
  });
  return fake;
}
