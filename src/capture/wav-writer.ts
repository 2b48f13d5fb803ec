// A streaming PCM16 WAV file that is valid at every moment that matters: the header is written
// first and its sizes are patched on every flush, so a copy taken while the call runs, or the
// file left behind by SIGKILL, reads as a WAV holding everything flushed so far.
//
// Writes are synchronous and batched: measured (performance-facts §3), one writeSync per ~0.5 s
// of audio costs less than async fs.write and keeps ordering trivial.
import fs from 'node:fs';
import os from 'node:os';
import { WAV_HEADER_BYTES, wavHeader, type WavFormat } from '../audio/wav.js';

if (os.endianness() !== 'LE') throw new Error('callvault writes Int16Array memory as little-endian PCM');

const MAX_DATA_BYTES = 0xffffffff - WAV_HEADER_BYTES;

export class WavFileWriter {
  private fd: number | null;
  private readonly pending: Buffer;
  private pendingBytes = 0;
  private dataBytes = 0;
  private readonly bytesPerFrame: number;
  private flushedAt = 0;

  /** Opens (truncating) the file and writes an empty-but-valid header at once. */
  constructor(readonly path: string, readonly format: WavFormat, bufferSeconds: number) {
    this.bytesPerFrame = 2 * format.channels;
    const frames = Math.max(1, Math.round(format.sampleRate * bufferSeconds));
    this.pending = Buffer.allocUnsafe(frames * this.bytesPerFrame);
    this.fd = fs.openSync(path, 'w', 0o640);
    fs.writeSync(this.fd, wavHeader(format, 0), 0, WAV_HEADER_BYTES, 0);
  }

  /** Sample frames written or pending. */
  get frames(): number {
    return (this.dataBytes + this.pendingBytes) / this.bytesPerFrame;
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  /** Appends interleaved samples (length must be a multiple of the channel count). */
  write(samples: Int16Array, start = 0, end = samples.length): void {
    const bytes = Buffer.from(samples.buffer, samples.byteOffset + start * 2, (end - start) * 2);
    let offset = 0;
    while (offset < bytes.length) {
      const n = Math.min(bytes.length - offset, this.pending.length - this.pendingBytes);
      bytes.copy(this.pending, this.pendingBytes, offset, offset + n);
      this.pendingBytes += n;
      offset += n;
      if (this.pendingBytes === this.pending.length) this.flush();
    }
  }

  /** Appends `frames` sample frames of digital silence without allocating. */
  writeSilence(frames: number): void {
    let bytes = frames * this.bytesPerFrame;
    while (bytes > 0) {
      const n = Math.min(bytes, this.pending.length - this.pendingBytes);
      this.pending.fill(0, this.pendingBytes, this.pendingBytes + n);
      this.pendingBytes += n;
      bytes -= n;
      if (this.pendingBytes === this.pending.length) this.flush();
    }
  }

  /** Interleaves two mono blocks of equal length straight into the pending buffer. */
  writeStereo(left: Int16Array, right: Int16Array, length: number): void {
    const view = new Int16Array(this.pending.buffer, this.pending.byteOffset, this.pending.length / 2);
    let i = 0;
    while (i < length) {
      const at = this.pendingBytes / 2;
      const n = Math.min(length - i, (view.length - at) / 2);
      for (let k = 0; k < n; k++) {
        view[at + 2 * k] = left[i + k]!;
        view[at + 2 * k + 1] = right[i + k]!;
      }
      this.pendingBytes += n * 4;
      i += n;
      if (this.pendingBytes === this.pending.length) this.flush();
    }
  }

  /** Writes pending audio, then patches the header so the file is valid up to here. */
  flush(now = Date.now()): void {
    if (this.fd === null) return;
    this.flushedAt = now;
    if (this.pendingBytes === 0) return;
    if (this.dataBytes + this.pendingBytes > MAX_DATA_BYTES) {
      throw new Error(`WAV file ${this.path} would exceed the 4 GiB RIFF limit`);
    }
    fs.writeSync(this.fd, this.pending, 0, this.pendingBytes, WAV_HEADER_BYTES + this.dataBytes);
    this.dataBytes += this.pendingBytes;
    this.pendingBytes = 0;
    fs.writeSync(this.fd, wavHeader(this.format, this.dataBytes), 0, WAV_HEADER_BYTES, 0);
  }

  /** Flushes if the last flush is older than `maxAgeMs`; for streams that go quiet. */
  flushIfOlder(maxAgeMs: number, now = Date.now()): void {
    if (now - this.flushedAt >= maxAgeMs) this.flush(now);
  }

  /** Final flush, then the descriptor is closed off the event loop. Idempotent. */
  async close(): Promise<void> {
    const fd = this.fd;
    if (fd === null) return;
    this.flush();
    this.fd = null;
    await new Promise<void>((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
  }
}
