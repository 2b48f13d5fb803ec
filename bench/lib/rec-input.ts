// A reconciliation input of any length, built like a real call: two speakers taking turns with
// espeak-ng utterances (several sentences and voices, random gaps and levels, a line-noise floor,
// so silence is not digital zero), frames dropped from the live capture in bursts (written as
// digital silence, listed as gaps, as the capture does), and a cloud recording that starts
// `offsetS` earlier with its channels swapped. Falls back to a speech-like synthetic signal when
// espeak-ng is missing. Everything is seeded: the same arguments give the same files.
import fs from 'node:fs';
import path from 'node:path';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { wavHeader } from '../../src/audio/wav.js';
import { speak } from '../../src/cli/simulator/audio-source.js';
import type { ReconcileInput } from '../../src/jobs/reconcile/run.js';
import { prng, speechLikePcm } from './signal.js';

export const RATE = 8000;
const STREAM = 'MZ' + 'a'.repeat(32);
const RE = 'RE' + 'b'.repeat(32);
const CALL = 'CA' + 'c'.repeat(32);
const NOISE = 12; // ±12 LSB of line hiss, about −69 dBFS

const SENTENCES = [
  'Thank you for calling, this is the billing team, how can I help you today?',
  'I see the charge on your account from the fourteenth of last month.',
  'Let me check that for you, it will only take a moment.',
  'I have refunded the fee, you will see it within five working days.',
  'Hello, I was charged twice for the same order and I would like it fixed.',
  'Yes, the order number is seven four nine two, placed on a Tuesday.',
  'That is great, thank you, is there anything else I need to do?',
  'No, that is all, have a good afternoon and thanks again.',
];

export interface Conversation {
  inbound: Int16Array;
  outbound: Int16Array;
  source: string;
}

async function utterances(): Promise<{ inbound: Int16Array[]; outbound: Int16Array[]; source: string }> {
  const decode = (m: Uint8Array) => Int16Array.from(m, (x) => MULAW_TO_PCM16[x]!);
  try {
    const say = (text: string, voice: string, speed: number) => speak(text, { voice, speed }).then(decode);
    const inbound = await Promise.all(SENTENCES.slice(0, 4).map((s, i) => say(s, i % 2 ? 'en-gb' : 'en-us', 160 + 10 * i)));
    const outbound = await Promise.all(SENTENCES.slice(4).map((s, i) => say(s, i % 2 ? 'en-us+f3' : 'en-gb-x-rp+f2', 150 + 12 * i)));
    return { inbound, outbound, source: 'espeak-ng utterances (8 sentences, 4 voices)' };
  } catch {
    const clip = (seed: number) => speechLikePcm(2 + (seed % 3), seed);
    return { inbound: [1, 2, 3, 4].map(clip), outbound: [5, 6, 7, 8].map(clip), source: 'speech-like synthetic bursts (espeak-ng missing)' };
  }
}

/** `seconds` of two alternating speakers (the other track holds only hiss while one speaks). */
export async function conversation(seconds: number, seed = 7): Promise<Conversation> {
  const n = Math.round(seconds * RATE);
  const u = await utterances();
  const rand = prng(seed);
  const tracks = { inbound: new Int16Array(n), outbound: new Int16Array(n) };
  for (const t of [tracks.inbound, tracks.outbound]) for (let i = 0; i < n; i++) t[i] = Math.round((rand() * 2 - 1) * NOISE);
  let at = Math.round(0.4 * RATE);
  let who: 'inbound' | 'outbound' = 'inbound';
  while (at < n) {
    const set = u[who];
    const clip = set[Math.floor(rand() * set.length)]!;
    const gain = 0.5 + 0.5 * rand();
    const dst = tracks[who];
    for (let i = 0; i < clip.length && at + i < n; i++) dst[at + i] = Math.max(-32768, Math.min(32767, dst[at + i]! + Math.round(clip[i]! * gain)));
    at += clip.length + Math.round((0.15 + 1.2 * rand()) * RATE);
    if (rand() > 0.15) who = who === 'inbound' ? 'outbound' : 'inbound';
  }
  return { ...tracks, source: u.source };
}

/** Writes a PCM16 WAV from channels without building the whole interleaved file in memory. */
export function writeWav(file: string, channels: Int16Array[]): void {
  const frames = channels[0]!.length;
  const ch = channels.length;
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, wavHeader({ sampleRate: RATE, channels: ch }, frames * ch * 2));
    const chunk = RATE * 60;
    const buf = new Int16Array(chunk * ch);
    for (let at = 0; at < frames; at += chunk) {
      const k = Math.min(chunk, frames - at);
      for (let i = 0; i < k; i++) for (let c = 0; c < ch; c++) buf[i * ch + c] = channels[c]![at + i]!;
      fs.writeSync(fd, new Uint8Array(buf.buffer, 0, k * ch * 2));
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface BuiltInput {
  input: ReconcileInput;
  /** what the final files must hold: the conversation itself, agent = inbound */
  call: Conversation;
  droppedFrames: Record<'inbound' | 'outbound', number>;
  offsetS: number;
}

/** Drops `bursts` runs of 1–10 frames (20 ms) from a copy of the track: zeros, and their gaps. */
function dropFrames(pcm: Int16Array, bursts: number, rand: () => number) {
  const out = pcm.slice();
  const frames = Math.floor(pcm.length / 160);
  const gaps: Array<[number, number]> = [];
  let dropped = 0;
  const starts = Array.from({ length: bursts }, () => Math.floor(rand() * (frames - 20))).sort((a, b) => a - b);
  let end = -1;
  for (const s of starts) {
    if (s <= end) continue;
    const len = 1 + Math.floor(rand() * 10);
    out.fill(0, s * 160, (s + len) * 160);
    gaps.push([s * 0.02, (s + len) * 0.02]);
    dropped += len;
    end = s + len;
  }
  return { pcm: out, gaps, dropped };
}

/** Writes the live capture (two mono 8 kHz tracks) and the cloud recording into `dir`. */
export function writeInput(dir: string, call: Conversation, offsetS = 1.3, bursts = 60, seed = 11): BuiltInput {
  const rand = prng(seed);
  const files = { inbound: `${STREAM}.inbound.8k.wav`, outbound: `${STREAM}.outbound.8k.wav` };
  const gaps = { inbound: [] as Array<[number, number]>, outbound: [] as Array<[number, number]> };
  const droppedFrames = { inbound: 0, outbound: 0 };
  for (const t of ['inbound', 'outbound'] as const) {
    const d = dropFrames(call[t], bursts, rand);
    writeWav(path.join(dir, files[t]), [d.pcm]);
    gaps[t] = d.gaps;
    droppedFrames[t] = d.dropped;
  }
  // Twilio's recording starts while the call is set up: hiss before media.timestamp 0.
  const lead = Math.round(offsetS * RATE);
  const cloud = [call.outbound, call.inbound].map((src) => {
    const c = new Int16Array(lead + src.length);
    for (let i = 0; i < lead; i++) c[i] = Math.round((rand() * 2 - 1) * NOISE);
    c.set(src, lead);
    return c;
  });
  writeWav(path.join(dir, `cloud.${RE}.wav`), cloud);
  const input: ReconcileInput = {
    callDir: dir, callSid: CALL, agentTrack: 'inbound',
    local: { streamSid: STREAM, files, gaps }, cloud: { recordingSid: RE, file: `cloud.${RE}.wav` }, absent: {},
  };
  return { input, call, droppedFrames, offsetS };
}

/** Samples of final.stereo.wav that differ from the conversation (agent left = inbound). */
export function finalMismatches(dir: string, call: Conversation): { mismatched: number; frames: number } {
  const fd = fs.openSync(path.join(dir, 'final.stereo.wav'), 'r');
  try {
    const frames = (fs.fstatSync(fd).size - 44) / 4;
    const chunk = RATE * 60;
    const buf = Buffer.alloc(chunk * 4);
    let mismatched = Math.abs(frames - call.inbound.length) * 2;
    for (let at = 0; at < Math.min(frames, call.inbound.length); at += chunk) {
      const k = Math.min(chunk, frames - at, call.inbound.length - at);
      fs.readSync(fd, buf, 0, k * 4, 44 + at * 4);
      for (let i = 0; i < k; i++) {
        if (buf.readInt16LE(i * 4) !== call.inbound[at + i]) mismatched++;
        if (buf.readInt16LE(i * 4 + 2) !== call.outbound[at + i]) mismatched++;
      }
    }
    return { mismatched, frames };
  } finally {
    fs.closeSync(fd);
  }
}
