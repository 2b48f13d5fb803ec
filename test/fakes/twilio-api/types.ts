/**
 * Public types of the fake Twilio REST API. Kept apart from the server so the route, fault and
 * resource modules can share them without importing each other in a cycle.
 */

export interface FakeTwilioOptions {
  accountSid: string;
  authToken: string;
  /** A Standard API key that authenticates as `accountSid`, like one created in the console. */
  apiKey?: { sid: string; secret: string };
  /** Media URLs answer 302 to a pre-signed "storage" URL instead of serving the bytes. */
  redirectMedia?: boolean;
  /**
   * Host name used in redirect targets. Defaults to `localhost` so that the storage host differs
   * from the API host (`127.0.0.1`) for a client that scopes credentials by origin.
   */
  storageHost?: string;
}

export interface AddRecordingInput {
  sid: string;
  callSid: string;
  channels: 1 | 2;
  durationS: number;
  /** Twilio's RecordingStatus; media is served only when `completed`. Default `completed`. */
  status?: string;
  /** Default `StartCallRecordingTwiML` (what `<Start><Recording>` reports; not in twilio-node's union). */
  source?: string;
  /** Also used as `date_created`, so the DateCreated filters act on it. Default: now. */
  startTime?: Date;
  encrypted?: boolean;
  /** `error_code` in the resource; Twilio sends null when there is none. */
  errorCode?: number | null;
  /** PCM16 at 8 kHz. Omitted: a deterministic tone per channel (see media.ts). */
  audio?: { left: Int16Array; right?: Int16Array };
}

/** The Recording resource exactly as `GET …/Recordings/RE….json` returns it (snake_case). */
export interface RecordingResource {
  account_sid: string;
  api_version: string;
  call_sid: string;
  conference_sid: string | null;
  date_created: string;
  date_updated: string;
  start_time: string;
  duration: string;
  sid: string;
  price: string | null;
  price_unit: string;
  status: string;
  channels: number;
  source: string;
  error_code: number | null;
  uri: string;
  encryption_details: null | { encryption_public_key_sid: string; encryption_cek: string; encryption_iv: string };
  subresource_uris: Record<string, string>;
  media_url: string;
}

/** What kind of request a fault rule may target. `storage` is the redirect target, not the API. */
export type RequestKind = 'media' | 'storage' | 'metadata' | 'list' | 'delete' | 'other';

export interface FaultRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  kind: RequestKind;
  recordingSid?: string;
}

export type Fault =
  /** Answer with this status and Twilio's JSON error body (code defaults to 20000 + status). */
  | { type: 'status'; status: number; code?: number; message?: string; retryAfter?: number | string }
  /** Wait before handling; then the next matching rule (or normal service) answers. */
  | { type: 'latency'; ms: number }
  /** Headers and `afterBytes` (default half) of the body, a pause of `stallMs`, then the rest. */
  | { type: 'slowBody'; stallMs: number; afterBytes?: number }
  /** Headers only, then silence until the client gives up or the fake is closed. */
  | { type: 'stall' }
  /** Full Content-Length declared, `afterBytes` (default half) sent, then the socket is destroyed. */
  | { type: 'cutShort'; afterBytes?: number }
  /** Content-Length `extraBytes` (default 1000) larger than the body; the body ends and the connection closes. */
  | { type: 'wrongLength'; extraBytes?: number }
  /**
   * The WAV header is kept as is (so it claims all the data) but only `keepBytes` (default half,
   * even) of the data follow, with a Content-Length that matches what is sent: complete at HTTP level.
   */
  | { type: 'truncatedWav'; keepBytes?: number };

export interface FaultRule {
  /** Default `any`. */
  kind?: RequestKind | 'any';
  recordingSid?: string;
  match?: (req: FaultRequest) => boolean;
  /** Decremented on each use; the rule is inert at 0. */
  times: number;
  fault: Fault;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The Basic-auth user name (never the secret), or null when no credentials were sent. */
  authUser: string | null;
  host: string | undefined;
  kind: RequestKind;
  recordingSid?: string;
  at: Date;
  /** Filled in when the status line is written. */
  status?: number;
}

export interface SuspiciousEntry {
  method: string;
  url: string;
  reason: string;
  at: Date;
}

export interface FakeTwilio {
  /** API base, e.g. `http://127.0.0.1:PORT`; point TWILIO_API_BASE_URL here. */
  readonly url: string;
  readonly accountSid: string;
  /** Runtime switch for redirect mode. */
  redirectMedia: boolean;
  /** Base of redirect targets, e.g. `http://localhost:PORT`. */
  storageBaseUrl: string;
  readonly faults: FaultRule[];
  readonly requests: RequestLogEntry[];
  readonly deleted: { sid: string; at: Date }[];
  /** Requests a correct client never makes: undefined/None/null in the URL, params Twilio ignores. */
  readonly suspicious: SuspiciousEntry[];
  /** Storage requests that carried an Authorization header (a credential leak). */
  readonly storageAuthLeaks: { path: string; authUser: string | null; at: Date }[];
  /** Requests of each kind being answered right now (counted until the response closes). */
  readonly inFlight: Record<RequestKind, number>;
  /** The most requests of each kind answered at once; tests may reset entries to 0. */
  readonly maxInFlight: Record<RequestKind, number>;
  addRecording(r: AddRecordingInput): RecordingResource;
  updateRecording(sid: string, patch: { status?: string; durationS?: number; errorCode?: number | null }): void;
  /** The PCM the fake serves for this recording (before any mixdown). */
  audioOf(sid: string): { left: Int16Array; right?: Int16Array };
  /** The Recording resource as the API would return it now (ignores deletion). */
  resourceOf(sid: string): RecordingResource;
  /** Form params of a `completed` recording status callback, as §3 of protocol-facts lists them. */
  statusCallbackParams(sid: string): Record<string, string>;
  close(): Promise<void>;
}
