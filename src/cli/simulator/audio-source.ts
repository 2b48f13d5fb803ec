import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import wavefile from 'wavefile';
import { encodeMulaw } from '../../audio/mulaw.js';
import { initResampler, resampleAll } from '../../audio/resample.js';
import { SimulatorError } from './errors.js';

/** Twilio Media Streams carry 8 kHz mu-law only. */
export const STREAM_RATE = 8000;
/** mu-law code for a zero sample; what a silent track carries. */
export const MULAW_SILENCE = 0xff;

const execFileAsync = promisify(execFile);

interface FmtChunk {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
}

/** Mono PCM16 at its native rate, from any WAV wavefile can read. */
export function decodeWav(bytes: Uint8Array): { pcm: Int16Array; sampleRate: number } {
  let wav: wavefile.WaveFile;
  try {
    wav = new wavefile.WaveFile(bytes);
  } catch (err) {
    throw new SimulatorError('bad_audio', `not a readable WAV file: ${(err as Error).message}`, undefined, undefined, { cause: err });
  }
  // Copied out first: the conversions below rebuild the header in place.
  const { audioFormat, numChannels, sampleRate } = { ...(wav.fmt as FmtChunk) };
  // Compressed formats must be expanded before toBitDepth can touch them.
  if (audioFormat === 7) wav.fromMuLaw('16');
  else if (audioFormat === 6) wav.fromALaw('16');
  else if (audioFormat === 17) wav.fromIMAADPCM('16');
  if (wav.bitDepth !== '16') wav.toBitDepth('16');
  const interleaved = wav.getSamples(true, Int16Array) as unknown as Int16Array;
  return { pcm: mixToMono(interleaved, Math.max(1, numChannels)), sampleRate };
}

/** Average of all channels; a plain sum would clip when both channels are loud. */
export function mixToMono(interleaved: Int16Array, channels: number): Int16Array {
  if (channels === 1) return interleaved;
  const frames = Math.floor(interleaved.length / channels);
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[i * channels + c] ?? 0;
    out[i] = Math.round(sum / channels);
  }
  return out;
}

/** WAV bytes (any rate, any channel count) → 8 kHz mu-law, ready to stream. */
export async function wavToMulaw(bytes: Uint8Array): Promise<Uint8Array> {
  const { pcm, sampleRate } = decodeWav(bytes);
  if (sampleRate === STREAM_RATE) return encodeMulaw(pcm);
  await initResampler();
  return encodeMulaw(resampleAll(pcm, sampleRate, STREAM_RATE));
}

export async function loadWav(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new SimulatorError('bad_audio', `cannot read ${path}: ${(err as Error).message}`, undefined, undefined, { cause: err });
  }
  return wavToMulaw(bytes);
}

export interface SpeakOptions {
  /** espeak-ng voice, e.g. `en-us`, `en-gb+f3`. */
  voice?: string;
  /** Words per minute (espeak-ng's default is 175). */
  speed?: number;
  /** Binary to run; tests point this elsewhere to check the missing-binary error. */
  command?: string;
}

/** Synthesised speech as 8 kHz mu-law, so a newcomer needs no audio files to try a call. */
export async function speak(text: string, opts: SpeakOptions = {}): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'callvault-speak-'));
  const out = join(dir, 'speech.wav');
  const args = ['-w', out];
  if (opts.voice) args.push('-v', opts.voice);
  if (opts.speed !== undefined) args.push('-s', String(opts.speed));
  // `--` keeps text that starts with a dash from being read as an option.
  args.push('--', text);
  try {
    await execFileAsync(opts.command ?? 'espeak-ng', args);
    return await loadWav(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SimulatorError('espeak_missing',
        'espeak-ng is not installed (apt-get install espeak-ng), or pass WAV files with --inbound/--outbound',
        undefined, undefined, { cause: err });
    }
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function silence(ms: number): Uint8Array {
  return new Uint8Array(Math.round((ms * STREAM_RATE) / 1000)).fill(MULAW_SILENCE);
}

export interface Turn {
  track: 'inbound' | 'outbound';
  audio: Uint8Array;
  /** Silence on both tracks before this turn starts (default 0). */
  gapMs?: number;
}

/** Lays turns end to end: each track is silent while the other one speaks, as on a real call. */
export function conversation(turns: readonly Turn[]): { inbound: Uint8Array; outbound: Uint8Array } {
  let total = 0;
  for (const t of turns) total += silence(t.gapMs ?? 0).length + t.audio.length;
  const inbound = new Uint8Array(total).fill(MULAW_SILENCE);
  const outbound = new Uint8Array(total).fill(MULAW_SILENCE);
  let at = 0;
  for (const t of turns) {
    at += silence(t.gapMs ?? 0).length;
    (t.track === 'inbound' ? inbound : outbound).set(t.audio, at);
    at += t.audio.length;
  }
  return { inbound, outbound };
}
