// Reads PCM16 WAV files by position, so post-call work on an hour-long recording holds a window
// of it at a time, never the whole file.
import fs from 'node:fs';
import { parseWav, type WavFormat } from '../audio/wav.js';
import { retryable } from './errors.js';

export interface WavHeaderInfo {
  format: WavFormat;
  dataOffset: number;
  /** the data size the header claims */
  claimedBytes: number;
  /** the bytes actually present after the header */
  availableBytes: number;
}

/** Parses the header region only: the file may be an hour of audio. */
export function readWavHeader(file: string): WavHeaderInfo {
  const fd = fs.openSync(file, 'r');
  try {
    return headerOf(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

function headerOf(fd: number, name: string): WavHeaderInfo {
  const size = fs.fstatSync(fd).size;
  const head = Buffer.alloc(Math.min(64 * 1024, size));
  fs.readSync(fd, head, 0, head.length, 0);
  try {
    const info = parseWav(head);
    return { format: info.format, dataOffset: info.dataOffset, claimedBytes: head.readUInt32LE(info.dataOffset - 4), availableBytes: size - info.dataOffset };
  } catch (err) {
    throw retryable('invalid_wav', `${name} is not a valid PCM16 WAV: ${(err as Error).message}`, err);
  }
}

export class WavFileReader {
  readonly format: WavFormat;
  /** sample frames present (the smaller of what the header claims and what the file holds) */
  readonly frames: number;
  private readonly dataOffset: number;
  private fd: number | null;
  private raw = Buffer.alloc(0);

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
    try {
      const h = headerOf(this.fd, path);
      this.format = h.format;
      this.dataOffset = h.dataOffset;
      const bytes = h.claimedBytes > 0 ? Math.min(h.claimedBytes, h.availableBytes) : h.availableBytes;
      this.frames = Math.floor(bytes / (2 * h.format.channels));
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Frames [start, start + count) of one channel; positions outside the file read as silence. */
  readChannel(channel: number, start: number, count: number, out: Int16Array = new Int16Array(count)): Int16Array {
    out.fill(0, 0, count);
    const from = Math.max(0, start);
    const to = Math.min(this.frames, start + count);
    if (to <= from || this.fd === null) return out;
    const ch = this.format.channels;
    const bytes = (to - from) * ch * 2;
    if (this.raw.length < bytes) this.raw = Buffer.alloc(bytes);
    fs.readSync(this.fd, this.raw, 0, bytes, this.dataOffset + from * ch * 2);
    const samples = new Int16Array(this.raw.buffer, this.raw.byteOffset, bytes / 2);
    for (let i = 0, o = from - start; i < to - from; i++, o++) out[o] = samples[i * ch + channel]!;
    return out;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
