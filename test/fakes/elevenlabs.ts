/**
 * A local stand-in for ElevenLabs Agents (ConvAI), strict where the gateway could get it wrong:
 * `xi-api-key` on every call (401 in ElevenLabs' `{"detail": {...}}` shape otherwise), real URL
 * shapes, 404 for unknown conversations, and injectable faults (status codes, delays, stalls,
 * redirects). Plus what ElevenLabs sends: signed post-call webhooks (t=…,v0=…), whole or chunked,
 * with realistic payloads (protocol-facts §7).
 *
 * Usage: `const el = await startFakeElevenLabs({ apiKey })`, `el.addConversation({ id, audio })`,
 * then point the gateway's ELEVENLABS_API_BASE_URL at `el.url`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { bodyHmac, signatureHeaderFor } from '../../src/providers/elevenlabs-signature.js';
import { closeServer, listenLoopback } from './loopback.js';

export interface FakeConversation {
  id: string;
  agentId?: string;
  /** MP3 bytes served by /audio; none means has_audio false and /audio answers 404 */
  audio?: Buffer;
  status?: string;
}

export interface FaultRule {
  /** which endpoint: the conversation JSON or its audio */
  endpoint: 'conversation' | 'audio';
  /** answer with this status (ElevenLabs' error shape) instead */
  status?: number;
  /** wait this long before the headers */
  delayMs?: number;
  /** send headers and this many body bytes, then nothing more */
  stallAfterBytes?: number;
  /** answer with a redirect to this URL */
  redirectTo?: string;
  /** only for this conversation (default: any) */
  conversationId?: string;
  /** how many requests it applies to (default 1) */
  times?: number;
}

export interface FakeRequest {
  method: string;
  path: string;
  apiKey: string | null;
  status: number;
}

export interface FakeElevenLabs {
  url: string;
  apiKey: string;
  requests: FakeRequest[];
  addConversation(c: FakeConversation): void;
  fault(rule: FaultRule): void;
  close(): Promise<void>;
}

const CONVERSATION = /^\/v1\/convai\/conversations\/([^/]+)(\/audio)?$/;

const detail = (status: string, message: string) => JSON.stringify({ detail: { status, message } });

class Server implements FakeElevenLabs {
  readonly requests: FakeRequest[] = [];
  private readonly conversations = new Map<string, FakeConversation>();
  private readonly faults: Array<FaultRule & { left: number }> = [];
  readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly server: http.Server,
    readonly url: string,
    readonly apiKey: string,
  ) {}

  addConversation(c: FakeConversation): void {
    this.conversations.set(c.id, c);
  }

  fault(rule: FaultRule): void {
    this.faults.push({ ...rule, left: rule.times ?? 1 });
  }

  close(): Promise<void> {
    return closeServer(this.server, this.timers);
  }

  private takeFault(endpoint: FaultRule['endpoint'], id: string): FaultRule | undefined {
    const f = this.faults.find((x) => x.endpoint === endpoint && x.left > 0 && (x.conversationId ?? id) === id);
    if (f) f.left--;
    return f;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const urlPath = new URL(req.url ?? '/', 'http://x').pathname;
    const key = typeof req.headers['xi-api-key'] === 'string' ? req.headers['xi-api-key'] : null;
    const reply = (status: number, body: string | Buffer, type = 'application/json', extra: http.OutgoingHttpHeaders = {}) => {
      this.requests.push({ method: req.method ?? '', path: urlPath, apiKey: key, status });
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
      res.end(body);
    };
    const m = CONVERSATION.exec(urlPath);
    if (!m) return reply(404, detail('not_found', 'Not Found'));
    if (req.method !== 'GET') return reply(405, detail('method_not_allowed', 'Method Not Allowed'));
    if (!key) return reply(401, detail('needs_authorization', 'Neither authorization header nor xi-api-key received, please provide one.'));
    if (key !== this.apiKey) return reply(401, detail('invalid_api_key', 'Invalid API key'));
    const endpoint = m[2] ? 'audio' : 'conversation';
    const id = decodeURIComponent(m[1]!);
    const fault = this.takeFault(endpoint, id);
    if (fault?.delayMs) await this.sleep(fault.delayMs);
    if (fault?.redirectTo) return reply(302, '', 'text/plain', { location: fault.redirectTo });
    if (fault?.status) return reply(fault.status, detail('fault', `injected HTTP ${fault.status}`));
    const conv = this.conversations.get(id);
    if (!conv) return reply(404, detail('conversation_not_found', 'Conversation not found'));
    if (endpoint === 'conversation') return reply(200, JSON.stringify(conversationJson(conv)));
    if (!conv.audio) return reply(404, detail('audio_not_found', 'Audio not found for this conversation'));
    if (fault?.stallAfterBytes !== undefined) {
      this.requests.push({ method: 'GET', path: urlPath, apiKey: key, status: 200 });
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': conv.audio.length });
      res.write(conv.audio.subarray(0, fault.stallAfterBytes));
      return; // never ends: the client's idle timer must notice
    }
    return reply(200, conv.audio, 'audio/mpeg');
  }
}

/** GET /v1/convai/conversations/{id}, snake_case as the API sends it. */
function conversationJson(c: FakeConversation) {
  return {
    agent_id: c.agentId ?? 'agent_fake', conversation_id: c.id, status: c.status ?? 'done', transcript: [], metadata: {},
    has_audio: c.audio !== undefined, has_user_audio: c.audio !== undefined, has_response_audio: c.audio !== undefined,
  };
}

export async function startFakeElevenLabs(opts: { apiKey: string }): Promise<FakeElevenLabs> {
  const server = http.createServer();
  const port = await listenLoopback(server);
  const fake = new Server(server, `http://127.0.0.1:${port}`, opts.apiKey);
  server.on('request', (req, res) => {
    fake.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(599, { 'content-type': 'text/plain' });
      res.end(`fake elevenlabs bug: ${String(err)}`);
    });
  });
  return fake;
}

// ---- webhooks, as ElevenLabs sends them ----

export interface TranscriptTurn {
  role: 'agent' | 'user';
  message: string | null;
  time_in_call_secs: number;
}

export interface TranscriptionOptions {
  turns?: TranscriptTurn[];
  hasAudio?: boolean;
  phoneCall?: { direction: 'inbound' | 'outbound'; agent_number: string; external_number: string } | null;
  startTimeUnixSecs?: number;
  callDurationSecs?: number;
  status?: string;
}

export const DEFAULT_TURNS: TranscriptTurn[] = [
  { role: 'agent', message: 'Hello, you are speaking with the support desk. How can I help?', time_in_call_secs: 0 },
  { role: 'user', message: 'Hi, my card number is 4111 1111 1111 1111 and I want a refund.', time_in_call_secs: 4 },
  { role: 'agent', message: null, time_in_call_secs: 9 }, // a tool call turn: no text
  { role: 'agent', message: 'Of course, I have started the refund for you.', time_in_call_secs: 10 },
  { role: 'user', message: 'Thank you, goodbye.', time_in_call_secs: 14 },
];

/** A post_call_transcription body with the fields ElevenLabs sends (protocol-facts §7). */
export function transcriptionPayload(conversationId: string, o: TranscriptionOptions = {}) {
  const start = o.startTimeUnixSecs ?? 1_739_537_297;
  const hasAudio = o.hasAudio ?? true;
  const phone = o.phoneCall === undefined ? { direction: 'inbound', agent_number: '+15550100200', external_number: '+15550100999' } : o.phoneCall;
  return {
    type: 'post_call_transcription',
    event_timestamp: start + (o.callDurationSecs ?? 18) + 2,
    data: {
      agent_id: 'agent_01jx0000000000000000000000', conversation_id: conversationId, status: o.status ?? 'done', user_id: null,
      transcript: (o.turns ?? DEFAULT_TURNS).map((t) => ({
        ...t, tool_calls: t.message === null ? [{ tool_name: 'lookup_order', params_as_json: '{}' }] : null, tool_results: null, feedback: null, conversation_turn_metrics: null,
      })),
      metadata: {
        start_time_unix_secs: start, call_duration_secs: o.callDurationSecs ?? 18, cost: 296,
        deletion_settings: { deletion_time_unix_secs: null, deleted_logs_at_time_unix_secs: null, deleted_audio_at_time_unix_secs: null },
        feedback: { overall_score: null, likes: 0, dislikes: 0 }, authorization_method: 'signed_url', termination_reason: 'end_call tool was called.',
        ...(phone ? { phone_call: { ...phone, phone_number_id: 'phnum_01', type: 'twilio', call_sid: `CA${'7'.repeat(32)}`, stream_sid: `MZ${'7'.repeat(32)}` } } : {}),
      },
      analysis: { evaluation_criteria_results: {}, data_collection_results: {}, call_successful: 'success', transcript_summary: 'The caller asked for a refund.' },
      conversation_initiation_client_data: { conversation_config_override: { agent: { language: 'en' } }, custom_llm_extra_body: {}, dynamic_variables: { user_name: 'Sam' } },
      has_audio: hasAudio, has_user_audio: hasAudio, has_response_audio: hasAudio,
    },
  };
}

/** post_call_audio as a stream of JSON text, the MP3 base64-encoded on the way (so a test never
 *  holds a large body); `escapeSlashes` writes `/` as `\/`, as some JSON encoders do. */
export async function* audioPayloadChunks(conversationId: string, mp3: AsyncIterable<Buffer> | Buffer, o: { escapeSlashes?: boolean } = {}): AsyncGenerator<Buffer> {
  yield Buffer.from(`{"type":"post_call_audio","event_timestamp":${Math.floor(Date.now() / 1000)},"data":{"agent_id":"agent_01jx0000000000000000000000","conversation_id":${JSON.stringify(conversationId)},"full_audio":"`);
  let carry = Buffer.alloc(0);
  const encode = (b: Buffer) => {
    const s = b.toString('base64');
    return Buffer.from(o.escapeSlashes ? s.replace(/\//g, '\\/') : s);
  };
  for await (const chunk of Buffer.isBuffer(mp3) ? [mp3] : mp3) {
    const all = Buffer.concat([carry, chunk]);
    const whole = all.length - (all.length % 3);
    if (whole > 0) yield encode(all.subarray(0, whole));
    carry = Buffer.from(all.subarray(whole));
  }
  if (carry.length) yield encode(carry);
  yield Buffer.from('"}}');
}

export interface WebhookOptions {
  secret: string;
  /** signature time, default now */
  t?: number;
  /** send with Transfer-Encoding: chunked instead of Content-Length */
  chunked?: boolean;
  /** override the header (null: send none) */
  header?: string | null;
}

export interface WebhookResponse {
  status: number;
  body: Record<string, unknown>;
}

type Body = string | Buffer | (() => AsyncIterable<Buffer>);

/** POSTs a webhook signed as ElevenLabs signs it. A function body is read twice (to sign, then
 *  to send), so it never has to be in memory. */
export async function sendWebhook(url: string, body: Body, o: WebhookOptions): Promise<WebhookResponse> {
  const t = o.t ?? Math.floor(Date.now() / 1000);
  let header: string | null;
  let length = 0;
  if (o.header !== undefined) header = o.header;
  else if (typeof body === 'function') {
    const h = bodyHmac(o.secret, t);
    for await (const c of body()) {
      h.update(c);
      length += c.length;
    }
    header = `t=${t},v0=${h.digest('hex')}`;
  } else header = signatureHeaderFor(o.secret, body, t);
  const source = typeof body === 'function' ? Readable.from(body()) : Readable.from([Buffer.from(body)]);
  if (typeof body !== 'function') length = Buffer.byteLength(body);
  const target = new URL('/elevenlabs/post-call', url);
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'user-agent': 'ElevenLabs-Webhooks' };
  if (header !== null) headers['elevenlabs-signature'] = header;
  if (!o.chunked) headers['content-length'] = length;
  return new Promise<WebhookResponse>((resolve, reject) => {
    const req = http.request(target, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = { raw: text };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    // The gateway may answer (413, 401) and close before the whole body is sent.
    req.on('error', (err) => setTimeout(() => reject(err), 50));
    source.on('error', reject);
    source.pipe(req);
  });
}

// ---- MP3 fixtures, encoded by lame from sox-made WAVs ----

export interface Mp3Fixture {
  mp3: Buffer;
  /** samples per channel of the WAV that was encoded */
  samples: number;
  rate: number;
}

/** A real MP3 of a tone (or noise) of known length; `extra` are more lame options. */
export function lameMp3(o: { seconds: number; rate: number; channels: 1 | 2; kbps: number; noise?: boolean; extra?: string[] }): Mp3Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-mp3-'));
  try {
    const wav = path.join(dir, 'in.wav');
    const mp3 = path.join(dir, 'out.mp3');
    const signal = o.noise ? ['pinknoise'] : ['sine', '300-900'];
    execFileSync('sox', ['-n', '-r', String(o.rate), '-c', String(o.channels), '-b', '16', wav, 'synth', String(o.seconds), ...signal, 'vol', '0.4'], { stdio: 'pipe' });
    execFileSync('lame', ['--quiet', '--noreplaygain', '-b', String(o.kbps), ...(o.extra ?? []), wav, mp3], { stdio: 'pipe' });
    return { mp3: fs.readFileSync(mp3), samples: Math.round(o.seconds * o.rate), rate: o.rate };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes a body (e.g. audioPayloadChunks) to a file and signs it, both streaming. */
export async function signedBodyFile(file: string, chunks: AsyncIterable<Buffer>, secret: string, t = Math.floor(Date.now() / 1000)): Promise<{ header: string; bytes: number }> {
  const h = bodyHmac(secret, t);
  let bytes = 0;
  const out = fs.createWriteStream(file);
  for await (const c of chunks) {
    h.update(c);
    bytes += c.length;
    if (!out.write(c)) await once(out, 'drain');
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { header: `t=${t},v0=${h.digest('hex')}`, bytes };
}

/** POSTs a body file chunked from a separate Node process, so a test can measure the gateway's
 *  memory without the sender's in it. */
export function sendFileFromChild(url: string, file: string, header: string): Promise<WebhookResponse> {
  const script = `
    const http = require('node:http'), fs = require('node:fs');
    const [url, file, sig] = process.argv.slice(1);
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'elevenlabs-signature': sig } }, (res) => {
      let text = ''; res.setEncoding('utf8'); res.on('data', (c) => (text += c));
      res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, text })));
    });
    req.on('error', (e) => { process.stderr.write(String(e)); process.exitCode = 1; });
    fs.createReadStream(file).pipe(req);`;
  const target = new URL('/elevenlabs/post-call', url).toString();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, target, file, header], { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`sender failed: ${stderr || err.message}`));
      const { status, text } = JSON.parse(stdout) as { status: number; text: string };
      resolve({ status, body: JSON.parse(text) as Record<string, unknown> });
    });
  });
}
