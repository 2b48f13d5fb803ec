// Test audio and Twilio wire messages for the benchmarks: speech-like mu-law (a sine sweep with
// harmonics, a syllable envelope and noise, encoded with alawmulaw, the reference encoder), and
// `media` messages in Twilio's own field order (~372 bytes with a 160-byte payload).
import alawmulaw from 'alawmulaw';
import { mulberry32 } from '../../src/cli/simulator/impairments.js';

export const FRAME_BYTES = 160;
export const FRAME_MS = 20;
export const FRAMES_PER_S = 1000 / FRAME_MS;

/** Deterministic PRNG (the simulator's mulberry32), so every run feeds the same bytes. */
export const prng = mulberry32;

/** 8 kHz PCM16: a 150 Hz–3.4 kHz sweep (3 s period) with two harmonics, gated by ~4 Hz
 *  syllables with pauses, plus a -50 dBFS noise floor. Peak about half of full scale. */
export function speechLikePcm(seconds: number, seed = 1): Int16Array {
  const n = Math.round(seconds * 8000);
  const out = new Int16Array(n);
  const rand = prng(seed);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / 8000;
    const sweep = (t % 3) / 3;
    const f = 150 * Math.pow(3400 / 150, sweep);
    phase += (2 * Math.PI * f) / 8000;
    const syllable = Math.max(0, Math.sin(2 * Math.PI * 4 * t + seed));
    const env = Math.pow(syllable, 1.5) * (Math.sin(2 * Math.PI * 0.3 * t) > -0.6 ? 1 : 0);
    const tone = Math.sin(phase) + 0.4 * Math.sin(2 * phase) + 0.2 * Math.sin(3 * phase);
    const noise = (rand() * 2 - 1) * 0.003;
    out[i] = Math.round(32767 * (0.3 * env * tone + noise));
  }
  return out;
}

export function speechLikeMulaw(seconds: number, seed = 1): Uint8Array {
  return alawmulaw.mulaw.encode(speechLikePcm(seconds, seed));
}

/** The i-th 160-byte frame of a looped signal. */
export function frameOf(mulaw: Uint8Array, i: number): Uint8Array {
  const count = Math.floor(mulaw.length / FRAME_BYTES);
  const k = i % count;
  return mulaw.subarray(k * FRAME_BYTES, (k + 1) * FRAME_BYTES);
}

/** Base64 payloads of every frame of a signal, for building messages cheaply. */
export function base64Frames(mulaw: Uint8Array): string[] {
  const out: string[] = [];
  for (let k = 0; k + FRAME_BYTES <= mulaw.length; k += FRAME_BYTES) {
    out.push(Buffer.from(mulaw.buffer, mulaw.byteOffset + k, FRAME_BYTES).toString('base64'));
  }
  return out;
}

/** A Twilio SID: prefix and 32 hex digits, deterministic from n and a salt. */
export function sid(prefix: 'CA' | 'MZ' | 'AC', n: number, salt = 0): string {
  return prefix + salt.toString(16).padStart(8, '0') + n.toString(16).padStart(24, '0');
}

export type TrackName = 'inbound' | 'outbound';

/** A `media` message exactly as Twilio writes it: every value a string, this field order. */
export function mediaJson(streamSid: string, track: TrackName, seq: number, chunk: number, timestampMs: number, b64: string): string {
  return `{"event":"media","sequenceNumber":"${seq}","media":{"track":"${track}","chunk":"${chunk}",` +
    `"timestamp":"${timestampMs}","payload":"${b64}"},"streamSid":"${streamSid}"}`;
}

export interface Interleaved {
  messages: string[];
  streamSids: string[];
  callSids: string[];
  meanBytes: number;
}

/** `calls` calls of `seconds` each, both tracks, interleaved frame by frame across calls the
 *  way one process sees concurrent streams. Each call has its own signal. */
export function interleavedCalls(calls: number, seconds: number): Interleaved {
  const streamSids = Array.from({ length: calls }, (_, c) => sid('MZ', c + 1, 0xbe));
  const callSids = Array.from({ length: calls }, (_, c) => sid('CA', c + 1, 0xbe));
  const payloads = Array.from({ length: calls * 2 }, (_, k) => base64Frames(speechLikeMulaw(10, k + 1)));
  const frames = seconds * FRAMES_PER_S;
  const messages: string[] = [];
  let bytes = 0;
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < calls; c++) {
      for (const [t, track] of (['inbound', 'outbound'] as const).entries()) {
        const p = payloads[c * 2 + t]!;
        const m = mediaJson(streamSids[c]!, track, 2 + 2 * f + t, 1 + f, f * FRAME_MS, p[f % p.length]!);
        bytes += m.length;
        messages.push(m);
      }
    }
  }
  return { messages, streamSids, callSids, meanBytes: bytes / messages.length };
}
