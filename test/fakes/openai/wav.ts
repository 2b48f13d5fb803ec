/**
 * WAV in and out for the fake: a RIFF reader that tells a broken file (the API's 400) from a valid
 * one the fake cannot decode (PCM16 only; its 501), an encoder at any rate for tests, and the
 * fingerprint that `script()` keys on.
 */
import { createHash } from 'node:crypto';

export interface DecodedWav {
  sampleRate: number;
  /** De-interleaved, one array per channel. */
  channels: Int16Array[];
  /** The interleaved sample bytes exactly as uploaded (whole frames only). */
  data: Buffer;
  /** Oddities a lenient decoder (ffmpeg, hence the real API) would accept without a word. */
  notes: string[];
}

export type WavResult =
  | { kind: 'ok'; wav: DecodedWav }
  /** Not a WAV at all, or a broken one: the real API's "corrupted or unsupported". */
  | { kind: 'corrupt'; reason: string }
  /** A valid WAV in an encoding the fake does not decode. */
  | { kind: 'unsupported'; reason: string };

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export function looksLikeWav(b: Buffer): boolean {
  return b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WAVE';
}

interface Fmt {
  format: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

function readFmt(b: Buffer, at: number, size: number): Fmt | string {
  if (size < 16) return `fmt chunk of ${size} bytes`;
  let format = b.readUInt16LE(at);
  // WAVE_FORMAT_EXTENSIBLE carries the real format in the first two bytes of its sub-format GUID.
  if (format === WAVE_FORMAT_EXTENSIBLE) format = size >= 40 ? b.readUInt16LE(at + 24) : -1;
  return { format, channels: b.readUInt16LE(at + 2), sampleRate: b.readUInt32LE(at + 4), blockAlign: b.readUInt16LE(at + 12), bits: b.readUInt16LE(at + 14) };
}

/** Walks the RIFF chunks, checks `fmt `, and decodes PCM16 data. */
export function decodeWav(b: Buffer): WavResult {
  if (!looksLikeWav(b)) return { kind: 'corrupt', reason: 'no RIFF/WAVE header' };
  const notes: string[] = [];
  let fmt: Fmt | undefined;
  for (let at = 12; at + 8 <= b.length;) {
    const id = b.toString('latin1', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + size > b.length) return { kind: 'corrupt', reason: 'fmt chunk runs past the end of the file' };
      const f = readFmt(b, body, size);
      if (typeof f === 'string') return { kind: 'corrupt', reason: f };
      fmt = f;
    } else if (id === 'data') {
      if (!fmt) return { kind: 'corrupt', reason: 'data chunk before fmt chunk' };
      return decodeData(b, body, size, fmt, notes);
    }
    at = body + size + (size & 1); // chunks are padded to even sizes
  }
  return { kind: 'corrupt', reason: fmt ? 'no data chunk' : 'no fmt chunk' };
}

function decodeData(b: Buffer, body: number, size: number, f: Fmt, notes: string[]): WavResult {
  if (f.channels === 0 || f.sampleRate === 0) return { kind: 'corrupt', reason: `fmt says ${f.channels} channels at ${f.sampleRate} Hz` };
  if (f.format !== WAVE_FORMAT_PCM || f.bits !== 16) {
    return { kind: 'unsupported', reason: `WAV format ${f.format} with ${f.bits}-bit samples (the fake decodes PCM16 only)` };
  }
  if (f.blockAlign !== f.channels * 2) return { kind: 'corrupt', reason: `blockAlign ${f.blockAlign} for ${f.channels} PCM16 channels` };
  const present = b.length - body;
  let bytes = size;
  if (size === 0 || size === 0xffffffff) {
    // Streaming writers leave these placeholders; decoders read to the end of the file.
    notes.push(`data chunk declares ${size} bytes (an unpatched streaming header); read to end of file`);
    bytes = present;
  } else if (size > present) {
    notes.push(`data chunk declares ${size} bytes but only ${present} follow (truncated file)`);
    bytes = present;
  }
  const whole = bytes - (bytes % f.blockAlign);
  if (whole !== bytes) notes.push(`data is ${bytes} bytes, not a whole number of ${f.blockAlign}-byte frames`);
  const data = b.subarray(body, body + whole);
  return { kind: 'ok', wav: { sampleRate: f.sampleRate, channels: deinterleave(data, f.channels), data, notes } };
}

function deinterleave(data: Buffer, n: number): Int16Array[] {
  const frames = data.length / (2 * n);
  const out = Array.from({ length: n }, () => new Int16Array(frames));
  for (let f = 0, off = 0; f < frames; f++) {
    for (let c = 0; c < n; c++, off += 2) out[c]![f] = data.readInt16LE(off);
  }
  return out;
}

function interleave(channels: Int16Array[]): Buffer {
  const frames = channels[0]?.length ?? 0;
  if (channels.some((c) => c.length !== frames)) throw new Error('channels differ in length');
  const buf = Buffer.alloc(frames * channels.length * 2);
  for (let f = 0, off = 0; f < frames; f++) {
    for (const ch of channels) {
      buf.writeInt16LE(ch[f]!, off);
      off += 2;
    }
  }
  return buf;
}

/** A canonical 44-byte-header PCM16 WAV at any rate, for tests. */
export function encodeWav(sampleRate: number, channels: Int16Array[]): Buffer {
  const data = interleave(channels);
  const n = channels.length;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  h.writeUInt16LE(n, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * n * 2, 28);
  h.writeUInt16LE(n * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

function hashPcm(sampleRate: number, channelCount: number, data: Buffer): string {
  return createHash('sha256').update(`${sampleRate}/${channelCount}/`).update(data).digest('hex').slice(0, 16);
}

/**
 * Identifies audio by its samples, rate and channel count, not its header, so a test can predict
 * the fingerprint of what the gateway will send however the gateway lays out its chunks.
 */
export function pcmFingerprint(sampleRate: number, channels: Int16Array[]): string {
  return hashPcm(sampleRate, channels.length, interleave(channels));
}

/** `pcmFingerprint` of a PCM16 WAV file; throws when the fake could not decode it. */
export function audioFingerprint(wavBytes: Uint8Array): string {
  const r = decodeWav(Buffer.from(wavBytes.buffer, wavBytes.byteOffset, wavBytes.byteLength));
  if (r.kind !== 'ok') throw new Error(`not a PCM16 WAV the fake decodes: ${r.reason}`);
  return wavFingerprint(r.wav);
}

export function wavFingerprint(w: DecodedWav): string {
  return hashPcm(w.sampleRate, w.channels.length, w.data);
}
