// The only reader of process.env. Everything is parsed once into a frozen Config; every bad or
// missing variable is collected so the operator sees all of them in one startup error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface TwilioConfig {
  /** TWILIO_ENABLED=false: a Vonage/ElevenLabs-only gateway; no /twilio routes, no Twilio settings needed */
  enabled: boolean;
  accountSid: string | undefined;
  authToken: string | undefined;
  apiBaseUrl: string;
  apiKeySid: string | undefined;
  apiKeySecret: string | undefined;
  twimlAppSid: string | undefined;
  callerId: string | undefined;
  /** false only when TWILIO_VALIDATE_SIGNATURES=false: local development */
  validateSignatures: boolean;
}

export interface CaptureConfig {
  /** how long a track waits for late or reordered frames before committing audio to disk */
  jitterMs: number;
  /** buffered audio is written and WAV headers patched at least this often */
  flushMs: number;
}

export interface CloudRecordingConfig {
  /** CLOUD_RECORDING: ask Twilio for a dual-channel cloud recording and fetch it after the call */
  enabled: boolean;
  /** a call with no recording callback this long after it ended is looked up through the API */
  sweepAfterS: number;
  /** soft-delete Twilio's copy once ours is verified */
  deleteAfterDownload: boolean;
  /** for response headers and for each gap between body chunks */
  httpTimeoutMs: number;
}

export interface JobsConfig {
  concurrency: number;
  maxAttempts: number;
  /** how often idle workers look for due jobs (a new job wakes them at once) */
  pollMs: number;
  /** retry delay: base × 2^(attempt−1), capped, with equal jitter */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** JOB_LEASE_MS: a claimed job is another process's to take this long after its holder last
   *  renewed it (renewed every third of it while running), e.g. when the holder was killed */
  leaseMs: number;
}

export interface ApiConfig {
  /** API_KEYS; empty: a key is generated on the first start */
  keys: readonly string[];
  /** requests per minute per API key */
  rateLimitPerMin: number;
  /** lifetime of signed media URLs */
  mediaUrlTtlS: number;
}

export interface TranscriptionConfig {
  /** OPENAI_API_KEY; without it transcription reports "not configured" and nothing else breaks */
  apiKey: string | undefined;
  baseURL: string;
  model: string;
  /** ISO-639-1 hint, or undefined to let the model detect the language */
  language: string | undefined;
  /** transcribe utterances while the call runs */
  live: boolean;
  /** mask phone and card numbers in stored transcripts */
  redact: boolean;
  timeoutMs: number;
}

export interface VonageConfig {
  /** VONAGE_API_KEY: the account's key, the `api_key` claim of signed webhooks */
  apiKey: string | undefined;
  applicationId: string | undefined;
  /** PEM text of the application's private key (VONAGE_PRIVATE_KEY is the text or a file path) */
  privateKey: string | undefined;
  /** HS256 secret of signed webhooks; without it /vonage/recording refuses everything */
  signatureSecret: string | undefined;
  apiBaseUrl: string;
  /** VONAGE_FROM_NUMBER: the Vonage number outbound calls are placed from */
  fromNumber: string | undefined;
}

/** STORAGE_URL=s3://bucket/prefix; without it finished files stay under RECORDINGS_DIR. */
export interface StorageConfig {
  bucket: string;
  prefix: string;
  /** AWS_REGION (us-east-1) */
  region: string;
  /** AWS_ENDPOINT_URL_S3: an S3-compatible server (MinIO, Ceph, R2, s3rver) */
  endpoint: string | undefined;
  /** S3_FORCE_PATH_STYLE: bucket in the path, not the host name (default: on with an endpoint) */
  forcePathStyle: boolean;
  /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; unset: the SDK's default
   *  chain (instance roles, SSO profiles) */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

export interface ElevenLabsConfig {
  apiKey: string | undefined;
  /** HMAC secret of post-call webhooks; without it /elevenlabs/post-call refuses everything */
  webhookSecret: string | undefined;
  apiBaseUrl: string;
  /** ELEVENLABS_MAX_BODY_MB: largest post-call webhook body accepted (audio is base64 in JSON) */
  maxBodyBytes: number;
  /** ELEVENLABS_AUDIO_WAIT_S: after a transcript that says has_audio, how long to wait for the
   *  audio webhook before fetching the audio through the API */
  audioWaitS: number;
}

export interface ObservabilityConfig {
  /** METRICS_PORT: a second listener on HOST serving /metrics and /healthz/* without a key */
  metricsPort: number | undefined;
  /** HEALTH_MIN_FREE_MB: readiness fails when less is free under RECORDINGS_DIR */
  minFreeBytes: number;
  /** HEALTH_TIMEOUT_MS: each readiness check (store, spool write) fails past this */
  healthTimeoutMs: number;
}

export interface Config {
  port: number;
  host: string;
  /** external base URL, no trailing slash; Twilio signs requests against it */
  publicUrl: string;
  recordingsDir: string;
  /** the SQLite file; unused when databaseUrl is set */
  databasePath: string;
  /** DATABASE_URL: a Postgres connection URL; undefined means the SQLite file at databasePath */
  databaseUrl: string | undefined;
  instanceId: string;
  logLevel: LogLevel;
  twilio: TwilioConfig;
  /** the Twilio Client identity that calls from the phone network are dialled to */
  agentIdentity: string;
  /** E.164 prefixes an agent may dial; empty means browser-placed calls are refused */
  dialAllowedPrefixes: readonly string[];
  /** HMAC key for per-call stream tokens; when unset one is generated and kept in the store */
  streamTokenSecret: string | undefined;
  capture: CaptureConfig;
  cloud: CloudRecordingConfig;
  jobs: JobsConfig;
  api: ApiConfig;
  transcription: TranscriptionConfig;
  vonage: VonageConfig;
  elevenlabs: ElevenLabsConfig;
  /** /metrics and /healthz */
  observability: ObservabilityConfig;
  /** object storage for finished files; undefined: RECORDINGS_DIR is the store */
  storage: StorageConfig | undefined;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const E164 = /^\+[1-9]\d{6,14}$/;

/** Collects problems instead of throwing at the first, so one error names them all. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string): string | undefined {
    const v = this.env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  url(name: string, fallback?: string): string | undefined {
    const raw = this.str(name) ?? fallback;
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      if (u.search || u.hash) throw new Error('query');
      return raw.replace(/\/+$/, '');
    } catch {
      this.problems.push(`${name} must be an http(s) URL without query or fragment (got "${raw}")`);
      return undefined;
    }
  }

  matching(name: string, re: RegExp, what: string): string | undefined {
    const v = this.str(name);
    if (v !== undefined && !re.test(v)) this.problems.push(`${name} must be ${what}`);
    return v;
  }
}

function readTwilio(r: EnvReader): TwilioConfig {
  // Off only when said so: a missing token otherwise stays a startup error (fail closed).
  const enabled = r.bool('TWILIO_ENABLED', true);
  const validateSignatures = r.bool('TWILIO_VALIDATE_SIGNATURES', true);
  const authToken = r.str('TWILIO_AUTH_TOKEN');
  if (enabled && validateSignatures && authToken === undefined) {
    r.problems.push(
      'TWILIO_AUTH_TOKEN is required to check Twilio signatures ' +
        '(set TWILIO_VALIDATE_SIGNATURES=false only for local development, or TWILIO_ENABLED=false for a gateway without Twilio)',
    );
  }
  return {
    enabled,
    accountSid: r.matching('TWILIO_ACCOUNT_SID', /^AC[0-9a-fA-F]{32}$/, 'an account SID: AC followed by 32 hex digits'),
    authToken,
    apiBaseUrl: r.url('TWILIO_API_BASE_URL', 'https://api.twilio.com') ?? 'https://api.twilio.com',
    apiKeySid: r.matching('TWILIO_API_KEY_SID', /^SK[0-9a-fA-F]{32}$/, 'an API key SID: SK followed by 32 hex digits'),
    apiKeySecret: r.str('TWILIO_API_KEY_SECRET'),
    twimlAppSid: r.matching('TWILIO_TWIML_APP_SID', /^AP[0-9a-fA-F]{32}$/, 'a TwiML app SID: AP followed by 32 hex digits'),
    callerId: r.matching('TWILIO_CALLER_ID', E164, 'an E.164 number such as +15551234567'),
    validateSignatures,
  };
}

function readCloud(r: EnvReader, twilio: TwilioConfig): CloudRecordingConfig {
  // Twilio's cloud recording; Vonage and ElevenLabs recordings come whatever this says.
  const enabled = twilio.enabled && r.bool('CLOUD_RECORDING', true);
  if ((twilio.apiKeySid === undefined) !== (twilio.apiKeySecret === undefined)) {
    r.problems.push('TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET must be set together');
  }
  if (enabled) {
    const why = 'to download cloud recordings (or set CLOUD_RECORDING=false)';
    if (twilio.accountSid === undefined) r.problems.push(`TWILIO_ACCOUNT_SID is required ${why}`);
    if (twilio.authToken === undefined && twilio.apiKeySid === undefined) {
      r.problems.push(`TWILIO_AUTH_TOKEN, or TWILIO_API_KEY_SID with TWILIO_API_KEY_SECRET, is required ${why}`);
    }
  }
  return {
    enabled,
    sweepAfterS: r.int('CLOUD_SWEEP_AFTER_S', 300, 1, 7 * 24 * 3600),
    deleteAfterDownload: r.bool('DELETE_CLOUD_AFTER_DOWNLOAD', false),
    httpTimeoutMs: r.int('TWILIO_HTTP_TIMEOUT_MS', 30_000, 100, 600_000),
  };
}

/** PEM text as given, or read from the file the variable names. */
function readPem(r: EnvReader, name: string): string | undefined {
  const raw = r.str(name);
  if (raw === undefined || raw.includes('-----BEGIN')) return raw?.replace(/\\n/g, '\n');
  try {
    const text = fs.readFileSync(raw, 'utf8');
    if (text.includes('-----BEGIN')) return text;
    r.problems.push(`${name} names a file that holds no PEM key (${raw})`);
  } catch (err) {
    r.problems.push(`${name} is neither PEM text nor a readable file (${(err as Error).message})`);
  }
  return undefined;
}

function readVonage(r: EnvReader): VonageConfig {
  const v: VonageConfig = {
    apiKey: r.str('VONAGE_API_KEY'),
    applicationId: r.matching('VONAGE_APPLICATION_ID', /^[0-9a-fA-F-]{36}$/, 'an application id (a UUID)'),
    privateKey: readPem(r, 'VONAGE_PRIVATE_KEY'),
    signatureSecret: r.str('VONAGE_SIGNATURE_SECRET'),
    apiBaseUrl: r.url('VONAGE_API_BASE_URL', 'https://api.nexmo.com') ?? 'https://api.nexmo.com',
    fromNumber: r.matching('VONAGE_FROM_NUMBER', /^\+?[1-9]\d{6,14}$/, 'a Vonage number in E.164, such as +447700900000'),
  };
  if ((v.applicationId === undefined) !== (v.privateKey === undefined) && !r.problems.some((p) => p.startsWith('VONAGE_'))) {
    r.problems.push('VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY must be set together (downloads and calls are signed with the application key)');
  }
  return v;
}

function readElevenLabs(r: EnvReader): ElevenLabsConfig {
  return {
    apiKey: r.str('ELEVENLABS_API_KEY'),
    webhookSecret: r.str('ELEVENLABS_WEBHOOK_SECRET'),
    apiBaseUrl: r.url('ELEVENLABS_API_BASE_URL', 'https://api.elevenlabs.io') ?? 'https://api.elevenlabs.io',
    maxBodyBytes: r.int('ELEVENLABS_MAX_BODY_MB', 200, 1, 2048) * 1024 * 1024,
    audioWaitS: r.int('ELEVENLABS_AUDIO_WAIT_S', 600, 1, 7 * 24 * 3600),
  };
}

function readStorage(r: EnvReader): StorageConfig | undefined {
  const raw = r.str('STORAGE_URL');
  if (raw === undefined) return undefined;
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(raw);
  if (!m) {
    r.problems.push(`STORAGE_URL must look like s3://bucket/prefix (got "${raw}")`);
    return undefined;
  }
  const endpoint = r.url('AWS_ENDPOINT_URL_S3');
  const accessKeyId = r.str('AWS_ACCESS_KEY_ID');
  const secretAccessKey = r.str('AWS_SECRET_ACCESS_KEY');
  const sessionToken = r.str('AWS_SESSION_TOKEN');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) r.problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  return {
    bucket: m[1]!,
    prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, ''),
    region: r.str('AWS_REGION') ?? 'us-east-1',
    endpoint,
    forcePathStyle: r.bool('S3_FORCE_PATH_STYLE', endpoint !== undefined),
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined,
  };
}

function readObservability(r: EnvReader, port: number): ObservabilityConfig {
  const metricsPort = r.str('METRICS_PORT') === undefined ? undefined : r.int('METRICS_PORT', 0, 0, 65535);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) r.problems.push('METRICS_PORT must differ from PORT');
  return {
    metricsPort,
    minFreeBytes: r.int('HEALTH_MIN_FREE_MB', 512, 0, 100_000_000) * 1024 * 1024,
    healthTimeoutMs: r.int('HEALTH_TIMEOUT_MS', 2000, 50, 60_000),
  };
}

function readApiKeys(r: EnvReader): string[] {
  const keys = (r.str('API_KEYS') ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (keys.some((k) => k.length < 16)) r.problems.push('API_KEYS entries must be at least 16 characters long');
  return keys;
}

function readDialPrefixes(r: EnvReader): string[] {
  const raw = r.str('DIAL_ALLOWED_PREFIXES');
  if (raw === undefined) return [];
  const prefixes = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const p of prefixes) {
    if (!/^\+\d{0,14}$/.test(p)) r.problems.push(`DIAL_ALLOWED_PREFIXES entries must look like +1 or +4420 (got "${p}")`);
  }
  return prefixes;
}

/** postgres:// or postgresql:// (what `pg` accepts, including `?host=/socket/dir`). */
function readDatabaseUrl(r: EnvReader): string | undefined {
  const raw = r.str('DATABASE_URL');
  if (raw === undefined) return undefined;
  // The value is never echoed: it usually carries a password.
  if (!/^postgres(ql)?:\/\/[^\s]*$/i.test(raw)) {
    r.problems.push('DATABASE_URL must be a Postgres URL: postgres://user:password@host:5432/database');
  } else if (r.str('DATABASE_PATH') !== undefined) {
    r.problems.push('DATABASE_URL and DATABASE_PATH are both set: DATABASE_URL (Postgres) replaces the SQLite DATABASE_PATH; set one');
  }
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const port = r.int('PORT', 8080, 0, 65535);
  const twilio = readTwilio(r);
  // Without signature checks a local default is harmless; with them, the public URL is what
  // Twilio signs, so guessing it would make every request fail.
  const publicUrl = r.url('PUBLIC_URL', twilio.enabled && twilio.validateSignatures ? undefined : `http://localhost:${port}`);
  if (publicUrl === undefined && !r.problems.some((p) => p.startsWith('PUBLIC_URL'))) {
    r.problems.push('PUBLIC_URL is required: the https base URL Twilio reaches this gateway at');
  }
  const recordingsDir = path.resolve(r.str('RECORDINGS_DIR') ?? './recordings');
  const dialAllowedPrefixes = readDialPrefixes(r);
  if (twilio.enabled && dialAllowedPrefixes.length > 0 && twilio.callerId === undefined) {
    r.problems.push('TWILIO_CALLER_ID is required when DIAL_ALLOWED_PREFIXES lets agents dial out');
  }
  const logLevel = (r.str('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) r.problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const config: Config = {
    port,
    host: r.str('HOST') ?? '0.0.0.0',
    publicUrl: publicUrl ?? '',
    recordingsDir,
    databasePath: path.resolve(r.str('DATABASE_PATH') ?? path.join(recordingsDir, 'callvault.sqlite')),
    databaseUrl: readDatabaseUrl(r),
    instanceId: r.matching('INSTANCE_ID', /^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash or underscore') ?? os.hostname(),
    logLevel,
    twilio,
    agentIdentity: r.matching('AGENT_IDENTITY', /^[A-Za-z0-9_.@-]{1,121}$/, 'a Twilio Client identity') ?? 'agent',
    dialAllowedPrefixes,
    streamTokenSecret: r.str('STREAM_TOKEN_SECRET'),
    capture: {
      jitterMs: r.int('CAPTURE_JITTER_MS', 200, 20, 2000),
      flushMs: r.int('CAPTURE_FLUSH_MS', 500, 50, 500),
    },
    cloud: readCloud(r, twilio),
    transcription: {
      apiKey: r.str('OPENAI_API_KEY'),
      baseURL: r.url('OPENAI_BASE_URL', 'https://api.openai.com/v1') ?? 'https://api.openai.com/v1',
      model: r.str('TRANSCRIBE_MODEL') ?? 'whisper-1',
      language: r.matching('TRANSCRIBE_LANGUAGE', /^[a-z]{2}$/, 'an ISO-639-1 code such as en'),
      live: r.bool('LIVE_TRANSCRIPTION', true),
      redact: r.bool('REDACT_TRANSCRIPTS', false),
      timeoutMs: r.int('OPENAI_TIMEOUT_MS', 120_000, 1000, 3_600_000),
    },
    api: {
      keys: readApiKeys(r),
      rateLimitPerMin: r.int('API_RATE_LIMIT_PER_MIN', 600, 1, 1_000_000),
      mediaUrlTtlS: r.int('MEDIA_URL_TTL_S', 900, 10, 7 * 24 * 3600),
    },
    storage: readStorage(r),
    vonage: readVonage(r),
    elevenlabs: readElevenLabs(r),
    observability: readObservability(r, port),
    jobs: {
      concurrency: r.int('JOB_CONCURRENCY', 2, 1, 64),
      maxAttempts: r.int('JOB_MAX_ATTEMPTS', 8, 1, 100),
      pollMs: r.int('JOB_POLL_MS', 1000, 10, 60_000),
      backoffBaseMs: r.int('JOB_BACKOFF_BASE_MS', 2000, 1, 3_600_000),
      backoffMaxMs: r.int('JOB_BACKOFF_MAX_MS', 600_000, 1, 24 * 3_600_000),
      leaseMs: r.int('JOB_LEASE_MS', 60_000, 1000, 3_600_000),
    },
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

/** Basic-auth credentials for Twilio's REST API: an API key pair when configured (revocable,
 *  narrower), otherwise the account SID and auth token. */
export function twilioCredentials(t: TwilioConfig): { username: string; password: string; source: string } | undefined {
  if (t.apiKeySid && t.apiKeySecret) {
    return { username: t.apiKeySid, password: t.apiKeySecret, source: 'TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET' };
  }
  if (t.accountSid && t.authToken) {
    return { username: t.accountSid, password: t.authToken, source: 'TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN' };
  }
  return undefined;
}

/** Defaults for the simulator CLI, which talks to a gateway configured by the same variables. */
export function loadSimulatorEnv(env: Env = process.env): { authToken?: string; publicUrl?: string; port: number } {
  const r = new EnvReader(env);
  const out: { authToken?: string; publicUrl?: string; port: number } = { port: r.int('PORT', 8080, 0, 65535) };
  const authToken = r.str('TWILIO_AUTH_TOKEN');
  const publicUrl = r.url('PUBLIC_URL');
  if (authToken !== undefined) out.authToken = authToken;
  if (publicUrl !== undefined) out.publicUrl = publicUrl;
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
