/**
 * Speech fixtures for the VAD tests: a short two-speaker espeak-ng call with pauses of known
 * length, decoded from mu-law and resampled to 16 kHz as the capture writes its 16k files, with
 * the exact speech extent of every turn; plus noise makers and a chunked segmenter runner.
 */
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { initResampler, resampleAll } from '../../src/audio/resample.js';
import { STREAM_RATE, conversation, silence, speak, type Turn } from '../../src/cli/simulator/audio-source.js';
import { UtteranceSegmenter, type Utterance, type VadOptions } from '../../src/transcription/vad.js';
import { prng } from '../audio/helpers.js';

export const RATE = 16000;
const UP = RATE / STREAM_RATE;

type Track = 'inbound' | 'outbound';
/** One turn's speech on the 16 kHz timeline: first to one past the last nonzero sample. */
export interface Spoken { track: Track; start: number; end: number }
export interface Call { inbound: Int16Array; outbound: Int16Array; spoken: Spoken[] }

/**
 * ~20 s. espeak-ng ends every turn with ~0.3 s of silence, so same-speaker pauses are that plus
 * the gap: B1→B2 ≈ 1.3 s (two utterances), A2→A3 ≈ 0.3 s (one utterance, a sentence pause).
 * "Yes." (~0.33 s of speech) checks that minSpeechMs does not eat short answers.
 */
const SCRIPT: Array<{ track: Track; voice: string; text: string; gapMs: number }> = [
  { track: 'inbound', voice: 'en-us', text: 'Good morning, thank you for calling. How can I help you today?', gapMs: 400 },
  { track: 'outbound', voice: 'en-gb+f3', text: 'Hi. My parcel has not arrived yet.', gapMs: 500 },
  { track: 'outbound', voice: 'en-gb+f3', text: 'It was due on Monday.', gapMs: 1000 },
  { track: 'inbound', voice: 'en-us', text: 'I am sorry to hear that. Let me check the order for you.', gapMs: 300 },
  { track: 'inbound', voice: 'en-us', text: 'It will arrive on Thursday morning.', gapMs: 0 },
  { track: 'outbound', voice: 'en-gb+f3', text: 'Yes.', gapMs: 700 },
  { track: 'inbound', voice: 'en-us', text: 'Is there anything else I can do for you?', gapMs: 550 },
];
/** Turn indexes (into SCRIPT) that belong to one utterance, per track. */
export const EXPECTED: Record<Track, number[][]> = { inbound: [[0], [3, 4], [6]], outbound: [[1], [2], [5]] };

export const to16k = (mulaw: Uint8Array): Int16Array =>
  resampleAll(Int16Array.from(mulaw, (c) => MULAW_TO_PCM16[c]!), STREAM_RATE, RATE);

async function build(): Promise<Call> {
  await initResampler();
  const audio = await Promise.all(SCRIPT.map((s) => speak(s.text, { voice: s.voice })));
  // One second of silence at the end, so the last utterance ends by its pause, not by flush().
  const turns: Turn[] = [...SCRIPT.map((s, i) => ({ track: s.track, audio: audio[i]!, gapMs: s.gapMs })),
    { track: 'inbound', audio: silence(0), gapMs: 1000 }];
  const mulaw = conversation(turns);
  const spoken: Spoken[] = [];
  let at = 0;
  SCRIPT.forEach((s, i) => {
    const a = audio[i]!;
    at += (s.gapMs * STREAM_RATE) / 1000;
    const first = a.findIndex((c) => MULAW_TO_PCM16[c] !== 0);
    const last = a.findLastIndex((c) => MULAW_TO_PCM16[c] !== 0);
    spoken.push({ track: s.track, start: (at + first) * UP, end: (at + last + 1) * UP });
    at += a.length;
  });
  return { inbound: to16k(mulaw.inbound), outbound: to16k(mulaw.outbound), spoken };
}

let cached: Promise<Call> | undefined;
export const shortCall = (): Promise<Call> => (cached ??= build());

/** A copy with uniform noise of ±amp added: steady line hiss (rms amp/√3). */
export function addHiss(x: Int16Array, amp: number, seed = 7): Int16Array {
  const rnd = prng(seed);
  return Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, v + Math.round((rnd() * 2 - 1) * amp))));
}

export const hissDbfs = (amp: number): number => 20 * Math.log10(amp / Math.sqrt(3) / 32768);

export interface Emitted extends Utterance {
  /** Samples pushed so far when the push() (or flush()) that returned it came back. */
  emittedAt: number;
}

/** Runs a fresh segmenter over `x` in chunks of the given sizes (cycled), then flushes. */
export function segment(x: Int16Array, o: Partial<VadOptions>, sizes: number[] | (() => number) = [320]): Emitted[] {
  const seg = new UtteranceSegmenter({ sampleRate: RATE, ...o });
  const out: Emitted[] = [];
  let at = 0;
  for (let k = 0; at < x.length; k++) {
    const n = typeof sizes === 'function' ? sizes() : sizes[k % sizes.length]!;
    const chunk = x.subarray(at, at + n);
    at += chunk.length;
    for (const u of seg.push(chunk)) out.push({ ...u, emittedAt: at });
  }
  for (const u of seg.flush()) out.push({ ...u, emittedAt: x.length });
  return out;
}

/** Turns whose speech overlaps [start, end). */
export const turnsIn = (spoken: Spoken[], track: Track, start: number, end: number): number[] =>
  spoken.flatMap((s, i) => (s.track === track && s.start < end && s.end > start ? [i] : []));
