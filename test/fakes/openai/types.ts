/**
 * Public types of the fake OpenAI transcription API. Kept apart from the server so the route,
 * audio and rendering modules can share them without importing each other in a cycle.
 */

export interface FakeOpenAIOptions {
  apiKey: string;
  /**
   * Frame RMS (PCM16 units) at or above which a 20 ms frame counts as speech. Default 300
   * (about -40 dBFS): comfort noise and dither stay below it, any test tone is far above it.
   */
  speechRms?: number;
  /** Voiced stretches shorter than this are dropped as clicks. Default 60 ms. */
  minSpeechMs?: number;
  /** Pauses shorter than this join two stretches into one segment, as Whisper joins words into phrases. Default 300 ms. */
  mergeGapMs?: number;
}

/** A stretch of speech the fake found, in ms from the start of the upload (on a 20 ms grid). */
export interface SpeechSpan {
  startMs: number;
  endMs: number;
}

/** What a `script` predicate sees of an upload. */
export interface UploadAudio {
  filename: string;
  model: string;
  /** `audioFingerprint` of the uploaded WAV. */
  fingerprint: string;
  sampleRate: number;
  /** One array per channel, de-interleaved. */
  channels: Int16Array[];
  durationS: number;
  speech: SpeechSpan[];
}

export interface ScriptRule {
  /** An `audioFingerprint`, or a predicate over the decoded upload. */
  match: string | ((u: UploadAudio) => boolean);
  text: string;
}

export type Fault =
  /**
   * Answer with this status and OpenAI's error body for it (429 rate_limit_exceeded, 500/503
   * server_error, 502 Cloudflare's HTML page); `retryAfter` sets the `retry-after` header.
   */
  | { type: 'status'; status: number; retryAfter?: number | string; message?: string }
  /** Wait before answering; then the next matching rule (or normal service) answers. */
  | { type: 'latency'; ms: number }
  /** Read the whole upload, then never answer until the client gives up or the fake is closed. */
  | { type: 'stall' }
  /** Read the whole upload, then destroy the socket without a status line. */
  | { type: 'reset' };

/** What a fault rule may match on: the request as parsed, before validation. */
export interface FaultRequest {
  model: string | null;
  filename: string | null;
  responseFormat: string | null;
  bytes: number;
}

export interface FaultRule {
  match?: (req: FaultRequest) => boolean;
  /** Decremented on each use; the rule is inert at 0. */
  times: number;
  fault: Fault;
}

export interface RequestLogEntry {
  at: Date;
  method: string;
  path: string;
  /** The form fields as sent (null when absent or the body never parsed). */
  model: string | null;
  /** As sent; null means omitted (the API then uses `json`). */
  responseFormat: string | null;
  filename: string | null;
  language?: string;
  prompt?: string;
  timestampGranularities: string[];
  /** Size of the `file` part, or of the body received so far when it never parsed. */
  bytes: number;
  /** Decoded length of the audio; null when it was not decoded. */
  durationS: number | null;
  fingerprint: string | null;
  /** The transcript text the fake answered with. */
  text?: string;
  /** Filled in when the status line is written; stays undefined for stalls and resets. */
  status?: number;
}

/** An upload with no speech in it: what tests assert never happens. */
export interface SilentUpload {
  at: Date;
  filename: string;
  model: string;
  durationS: number;
  /** Loudest frame RMS found, in PCM16 units (0 for digital silence). */
  peakRms: number;
  fingerprint: string;
}

/** Something a correct client would not send, though the real API accepts it silently. */
export interface SuspiciousEntry {
  at: Date;
  reason: string;
}

export interface FakeOpenAI {
  /** `http://127.0.0.1:PORT`; the SDK's baseURL is `${url}/v1`. */
  readonly url: string;
  readonly faults: FaultRule[];
  readonly requests: RequestLogEntry[];
  readonly silentUploads: SilentUpload[];
  readonly suspicious: SuspiciousEntry[];
  /** Matched in order; the first match supplies the transcript text. */
  readonly scripts: ScriptRule[];
  /** Answer `text` for uploads whose fingerprint is `match` (or that the predicate accepts). */
  script(match: ScriptRule['match'], text: string): void;
  close(): Promise<void>;
}
