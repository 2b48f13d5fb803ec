/**
 * `npm run simulate -- [options]`: plays a call into a callvault gateway exactly as Twilio
 * would (voice webhook, then a signed Media Stream of both tracks), with no Twilio account.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSimulatorEnv } from '../config.js';
import { conversation, loadWav, silence, speak, type Turn } from './simulator/audio-source.js';
import { simulateCall, type SimulateOptions, type SimulateResult } from './simulator/call.js';
import { SimulatorError } from './simulator/errors.js';
import type { Impairments, TrackName } from './simulator/impairments.js';

const HELP = `Usage: npm run simulate -- [options]

Plays a two-track call into a callvault gateway as Twilio would.

Connection
  --gateway URL         where the gateway listens (default http://127.0.0.1:$PORT, PORT=8080)
  --public-url URL      the gateway's PUBLIC_URL; signatures are computed over it (default $PUBLIC_URL or --gateway)
  --auth-token TOKEN    sign requests like Twilio (default $TWILIO_AUTH_TOKEN; unsigned without one)
Call
  --direction D         inbound (from the phone network, default) or outbound (placed from the browser)
  --from NUMBER         caller (default +15017122661, or client:agent for outbound)
  --to NUMBER           called number (default +15005550006, or +15558675310 for outbound)
Audio (8 kHz mu-law on the wire; WAV files of any rate and channel count are converted)
  --inbound FILE.wav    audio of the inbound track (the caller's leg)
  --outbound FILE.wav   audio of the outbound track
  --say TEXT            speak TEXT on the inbound track (espeak-ng)
  --say-outbound TEXT   speak TEXT on the outbound track
                        without any of these: a short two-speaker conversation
Sending
  --fast                send as fast as possible instead of in real time
  --end stop|close|terminate   end with stop + close (default), a close without stop, or a dropped connection
Impairments (deterministic for a --seed)
  --loss P  --dup P  --reorder P  --late P   probabilities per frame, e.g. 0.02
  --jitter MS           random 0..MS delay on every send
  --late-ms MS          how late a late frame is (default 500)
  --seed N              default 1
  --help
`;

const OPTIONS = {
  gateway: { type: 'string' }, 'public-url': { type: 'string' }, 'auth-token': { type: 'string' },
  direction: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
  inbound: { type: 'string' }, outbound: { type: 'string' },
  say: { type: 'string' }, 'say-outbound': { type: 'string' },
  fast: { type: 'boolean' }, end: { type: 'string' },
  loss: { type: 'string' }, dup: { type: 'string' }, reorder: { type: 'string' }, late: { type: 'string' },
  jitter: { type: 'string' }, 'late-ms': { type: 'string' }, seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A bad argument: reported like any other error, with a pointer to --help. */
class UsageError extends Error {}

export async function runCli(
  argv: string[],
  io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) },
  envDefaults?: ReturnType<typeof loadSimulatorEnv>,
  signal?: AbortSignal,
): Promise<number> {
  try {
    const env = envDefaults ?? loadSimulatorEnv();
    const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    const opts = await buildOptions(values, env, io);
    const result = await simulateCall({ ...opts, ...(signal && { signal }) });
    return report(result, opts, io);
  } catch (err) {
    if (signal?.aborted) {
      io.err('simulate: interrupted');
      return 130;
    }
    io.err(`simulate: ${describe(err)}`);
    return 1;
  }
}

function describe(err: unknown): string {
  if (err instanceof UsageError) return `${err.message} (see --help)`;
  if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return `${(err as Error).message} (see --help)`;
  if (err instanceof SimulatorError && err.status === 403) {
    return `${err.message}\n  (403: the signature did not match; check --auth-token and --public-url against the gateway's TWILIO_AUTH_TOKEN and PUBLIC_URL)`;
  }
  return err instanceof Error ? err.message : String(err);
}

async function buildOptions(v: Values, env: ReturnType<typeof loadSimulatorEnv>, io: CliIo): Promise<SimulateOptions> {
  const direction = oneOf(v.direction ?? 'inbound', ['inbound', 'outbound'] as const, '--direction');
  const gatewayUrl = url(v.gateway ?? `http://127.0.0.1:${env.port}`, '--gateway');
  const authToken = v['auth-token'] ?? env.authToken;
  // Every argument is checked before espeak-ng runs, so a typo fails at once.
  const opts = {
    gatewayUrl, direction,
    publicUrl: url(v['public-url'] ?? env.publicUrl ?? gatewayUrl, '--public-url'),
    ...(authToken && { authToken }),
    ...(v.from !== undefined && { from: v.from }),
    ...(v.to !== undefined && { to: v.to }),
    realtime: !v.fast,
    end: oneOf(v.end ?? 'stop', ['stop', 'close', 'terminate'] as const, '--end'),
    impairments: impairments(v),
  };
  if (v.inbound && v.say) throw new UsageError('give either --inbound or --say for the inbound track, not both');
  if (v.outbound && v['say-outbound']) throw new UsageError('give either --outbound or --say-outbound, not both');
  if (!authToken) io.err('simulate: no --auth-token or TWILIO_AUTH_TOKEN: sending unsigned requests (the gateway must run with TWILIO_VALIDATE_SIGNATURES=false)');
  return { ...opts, ...await loadAudio(v, direction) };
}

function impairments(v: Values): Impairments {
  const rate = (s: string | undefined, name: string) => num(s ?? '0', name, 0, 1);
  return {
    lossRate: rate(v.loss, '--loss'), duplicateRate: rate(v.dup, '--dup'),
    reorderRate: rate(v.reorder, '--reorder'), lateRate: rate(v.late, '--late'),
    jitterMs: num(v.jitter ?? '0', '--jitter', 0, 10_000),
    lateMs: num(v['late-ms'] ?? '500', '--late-ms', 0, 60_000),
    seed: num(v.seed ?? '1', '--seed', 0, 2 ** 32 - 1),
  };
}

/** Files play as given; spoken lines take turns so the two voices never overlap. */
async function loadAudio(v: Values, direction: 'inbound' | 'outbound'): Promise<Record<TrackName, Uint8Array>> {
  const files = { inbound: v.inbound, outbound: v.outbound };
  const says = { inbound: v.say, outbound: v['say-outbound'] };
  if (!files.inbound && !files.outbound && !says.inbound && !says.outbound) {
    return conversation(await defaultConversation(direction));
  }
  const turns: Turn[] = [];
  const tracks: Record<TrackName, Uint8Array> = { inbound: silence(0), outbound: silence(0) };
  for (const track of ['inbound', 'outbound'] as const) {
    const file = files[track];
    const text = says[track];
    if (file) tracks[track] = await loadWav(file);
    else if (text) turns.push({ track, audio: await speak(text), gapMs: 300 });
  }
  if (turns.length === 0) return tracks;
  const spoken = conversation(turns);
  // A file on one track and speech on the other: the speech starts with the file.
  return {
    inbound: files.inbound ? tracks.inbound : spoken.inbound,
    outbound: files.outbound ? tracks.outbound : spoken.outbound,
  };
}

/** The agent greets first; which track is the agent follows DESIGN.md's "who is who". */
async function defaultConversation(direction: 'inbound' | 'outbound'): Promise<Turn[]> {
  const agent: TrackName = direction === 'outbound' ? 'inbound' : 'outbound';
  const customer: TrackName = agent === 'inbound' ? 'outbound' : 'inbound';
  const agentVoice = { voice: 'en-us', speed: 165 };
  const customerVoice = { voice: 'en-gb+f3', speed: 155 };
  const lines: [TrackName, string, typeof agentVoice][] = [
    [agent, 'Thank you for calling. This call is recorded. How can I help?', agentVoice],
    [customer, 'Hi. I would like to check on my order, please.', customerVoice],
    [agent, 'Of course. One moment while I look that up.', agentVoice],
  ];
  return Promise.all(lines.map(async ([track, text, voice], i) => ({
    track, audio: await speak(text, voice), gapMs: i === 0 ? 200 : 400,
  })));
}

function report(r: SimulateResult, opts: SimulateOptions, io: CliIo): number {
  const dups = r.sent.filter((s) => s.duplicate).length;
  const seconds = r.tracks.inbound.length / 8000;
  io.out(`call    ${r.callSid} (${opts.direction})`);
  io.out(`stream  ${r.streamSid} -> ${r.streamUrl}`);
  io.out(`frames  ${r.sent.length - dups} sent, ${dups} duplicated, ${r.lost.length} lost (${seconds.toFixed(1)} s per track)`);
  io.out(`ended   ${r.stopSent ? 'stop sent' : `no stop (${opts.end})`}; socket closed by ${r.closedBy ?? '?'} with ${r.closeCode ?? '?'}${r.closeReason ? ` ${r.closeReason}` : ''}`);
  io.out(`files   the gateway writes them under <RECORDINGS_DIR, default ./recordings>/${r.callSid}/`);
  const planned = r.tracks.inbound.length / (r.frameMs * 8) * 2 - r.lost.length;
  if (r.closedBy === 'server' && r.sent.length - dups < planned) {
    io.err(`simulate: the gateway closed the stream early (${r.closeCode} ${r.closeReason ?? ''}) after ${r.sent.length} frames`);
    return 1;
  }
  return 0;
}

function num(s: string, name: string, min: number, max: number): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${name} must be a number from ${min} to ${max} (got "${s}")`);
  return n;
}

function url(s: string, name: string): string {
  if (!/^https?:\/\//.test(s) || !URL.canParse(s)) throw new UsageError(`${name} must be an http(s) URL (got "${s}")`);
  return s;
}

function oneOf<T extends string>(s: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(s)) throw new UsageError(`${name} must be one of ${allowed.join(', ')} (got "${s}")`);
  return s as T;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const ctl = new AbortController();
  process.once('SIGINT', () => ctl.abort());
  // process.exitCode, not exit(): let the socket's last bytes flush.
  process.exitCode = await runCli(process.argv.slice(2), undefined, undefined, ctl.signal);
}
