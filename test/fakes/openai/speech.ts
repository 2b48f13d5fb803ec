/**
 * The fake's "recognizer": energy-based speech detection on a 20 ms grid (Whisper's timestamp
 * resolution), and a transcript whose words say where the speech was, so a test can map text back
 * to time: a stretch from 1.20 s to 2.46 s of the upload reads `seg1200-2460`.
 */
import type { FakeOpenAIOptions, SpeechSpan } from './types.js';

export const FRAME_MS = 20;

export interface SpeechParams {
  speechRms: number;
  minSpeechMs: number;
  mergeGapMs: number;
}

export function speechParams(o: Pick<FakeOpenAIOptions, 'speechRms' | 'minSpeechMs' | 'mergeGapMs'> = {}): SpeechParams {
  return { speechRms: o.speechRms ?? 300, minSpeechMs: o.minSpeechMs ?? 60, mergeGapMs: o.mergeGapMs ?? 300 };
}

/** RMS of each 20 ms frame, the loudest channel's: speech on either side of a call counts. */
export function frameRms(sampleRate: number, channels: Int16Array[]): Float64Array {
  const len = channels[0]?.length ?? 0;
  const frameLen = (sampleRate * FRAME_MS) / 1000;
  const frames = Math.ceil(len / frameLen);
  const out = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    const from = Math.round(f * frameLen);
    const to = Math.min(len, Math.round((f + 1) * frameLen));
    for (const ch of channels) {
      let sum = 0;
      for (let i = from; i < to; i++) sum += ch[i]! * ch[i]!;
      out[f] = Math.max(out[f]!, to > from ? Math.sqrt(sum / (to - from)) : 0);
    }
  }
  return out;
}

/** Voiced stretches: frames at or above the threshold, short pauses bridged, clicks dropped. */
export function detectSpeech(sampleRate: number, channels: Int16Array[], p: SpeechParams = speechParams()): SpeechSpan[] {
  const rms = frameRms(sampleRate, channels);
  const durationMs = Math.round(((channels[0]?.length ?? 0) * 1000) / sampleRate);
  const raw: SpeechSpan[] = [];
  let start = -1;
  for (let f = 0; f <= rms.length; f++) {
    const voiced = f < rms.length && rms[f]! >= p.speechRms;
    if (voiced && start < 0) start = f;
    if (!voiced && start >= 0) {
      raw.push({ startMs: start * FRAME_MS, endMs: Math.min(f * FRAME_MS, durationMs) });
      start = -1;
    }
  }
  const merged: SpeechSpan[] = [];
  for (const s of raw) {
    const last = merged.at(-1);
    if (last && s.startMs - last.endMs < p.mergeGapMs) last.endMs = s.endMs;
    else merged.push({ ...s });
  }
  return merged.filter((s) => s.endMs - s.startMs >= p.minSpeechMs);
}

export function peakRms(sampleRate: number, channels: Int16Array[]): number {
  return Math.round(Math.max(0, ...frameRms(sampleRate, channels)));
}

export interface Segment {
  start: number;
  end: number;
  /** Without Whisper's leading space; renderers add it where the API has it. */
  text: string;
  noSpeechProb: number;
  avgLogprob: number;
}

export interface Transcript {
  text: string;
  segments: Segment[];
  durationS: number;
  silent: boolean;
}

/** What Whisper famously says to silence. */
export const SILENCE_HALLUCINATION = 'Thank you.';

const seconds = (ms: number): number => Math.round(ms) / 1000;

export function spanWord(s: SpeechSpan): string {
  return `seg${s.startMs}-${s.endMs}`;
}

/**
 * One segment per stretch, or for scripted text one segment from the first speech to the last.
 * Silence gets Whisper's behaviour: a confident-looking phrase flagged by a high no_speech_prob.
 */
export function buildTranscript(speech: SpeechSpan[], durationS: number, scripted?: string): Transcript {
  const durationMs = durationS * 1000;
  if (speech.length === 0) {
    const text = scripted ?? SILENCE_HALLUCINATION;
    return { text, durationS, silent: true, segments: [{ start: 0, end: seconds(durationMs), text, noSpeechProb: 0.92, avgLogprob: -0.71 }] };
  }
  if (scripted !== undefined) {
    const seg = { start: seconds(speech[0]!.startMs), end: seconds(speech.at(-1)!.endMs), text: scripted, noSpeechProb: 0.01, avgLogprob: -0.2 };
    return { text: scripted, durationS, silent: false, segments: [seg] };
  }
  const segments = speech.map((s) => ({ start: seconds(s.startMs), end: seconds(s.endMs), text: spanWord(s), noSpeechProb: 0.01, avgLogprob: -0.2 }));
  return { text: segments.map((s) => s.text).join(' '), durationS, silent: false, segments };
}
