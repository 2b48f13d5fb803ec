/**
 * A local stand-in for OpenAI's transcription endpoint (`POST /v1/audio/transcriptions`), strict
 * enough that a client passing against it is likely to pass against the real one: Bearer auth,
 * real multipart parsing, the 25 MiB limit enforced while the upload streams in, OpenAI's error
 * bodies, per-model response formats, and injectable faults.
 *
 * Its transcripts are made from the audio: each stretch of speech in the uploaded WAV reads
 * `seg<start_ms>-<end_ms>` (ms from the start of the upload), so a test can tell which audio was
 * sent. Silence gets Whisper's hallucination ("Thank you.") and lands in `silentUploads`.
 *
 * Usage: `const ai = await startFakeOpenAI({ apiKey })`, then
 * `new OpenAI({ apiKey, baseURL: `${ai.url}/v1` })`. Module layout:
 * openai/{types,routes,form,multipart,wav,speech,render,errors,languages}.ts.
 */
import http from 'node:http';
import { handle, type RouteContext } from './openai/routes.js';
import { speechParams, type SpeechParams } from './openai/speech.js';
import { closeServer, listenLoopback } from './loopback.js';
import type {
  FakeOpenAI, FakeOpenAIOptions, FaultRule, RequestLogEntry, ScriptRule, SilentUpload, SuspiciousEntry,
} from './openai/types.js';

export type * from './openai/types.js';
export { maskKey } from './openai/errors.js';
export { MODELS, SUPPORTED_EXTENSIONS } from './openai/form.js';
export { MAX_UPLOAD_BYTES, TRANSCRIPTIONS_PATH } from './openai/routes.js';
export { FRAME_MS, SILENCE_HALLUCINATION, detectSpeech, spanWord, speechParams, type SpeechParams } from './openai/speech.js';
export { audioFingerprint, encodeWav, pcmFingerprint } from './openai/wav.js';

class FakeOpenAIServer implements FakeOpenAI, RouteContext {
  readonly faults: FaultRule[] = [];
  readonly requests: RequestLogEntry[] = [];
  readonly silentUploads: SilentUpload[] = [];
  readonly suspicious: SuspiciousEntry[] = [];
  readonly scripts: ScriptRule[] = [];
  readonly timers = new Set<NodeJS.Timeout>();
  readonly apiKey: string;
  readonly params: SpeechParams;

  constructor(
    private readonly server: http.Server,
    opts: FakeOpenAIOptions,
    readonly url: string,
  ) {
    if (!opts.apiKey) throw new Error('apiKey is required');
    this.apiKey = opts.apiKey;
    this.params = speechParams(opts);
  }

  script(match: ScriptRule['match'], text: string): void {
    this.scripts.push({ match, text });
  }

  close(): Promise<void> {
    return closeServer(this.server, this.timers);
  }
}

export async function startFakeOpenAI(opts: FakeOpenAIOptions): Promise<FakeOpenAI> {
  const server = http.createServer();
  const port = await listenLoopback(server);
  const fake = new FakeOpenAIServer(server, opts, `http://127.0.0.1:${port}`);
  server.on('request', (req, res) => {
    handle(fake, req, res).catch((err: unknown) => {
      // A bug in the fake must fail loudly in the test, not look like an OpenAI outage the client retries.
      if (!res.headersSent) res.writeHead(599, { 'content-type': 'text/plain' });
      res.end(`fake openai bug: ${String(err)}`);
    });
  });
  return fake;
}
