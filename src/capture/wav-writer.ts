// A streaming PCM16 WAV file that is valid at every moment that matters: the header is written
// first and its sizes are patched on every flush (by the session's timer, at least every
// CAPTURE_FLUSH_MS; a buffer that fills in between is written without a header patch unless the
// last one is that old), so a copy taken while the call runs, or the file left behind by
// SIGKILL, reads as a WAV holding everything flushed so far.
//
// Writes are synchronous and batched: measured (performance-facts §3), one writeSync per ~0.5 s
// of audio costs less than async fs.write and keeps ordering trivial.
import fs from 'node:fs';
import os from 'node:os';
import { WAV_HEADER_BYTES, wavHeader, type WavFormat } from '../audio/wav.js';

if (os.endianness() !== 'LE') throw new Error('callvault writes Int16Array memory as little-endian PCM');

const MAX_DATA_BYTES = 0xffffffff - WAV_HEADER_BYTES;
// The typed-array views below write samples in the machine's byte order; WAV is little-endian.
if (os.endianness() !== 'LE') throw new Error('callvault writes WAV through typed arrays and needs a little-endian machine');

export class WavFileWriter {
  private fd: number | null;
  private readonly pending: Buffer;
  /** the same memory as samples (whole frames: pendingBytes stays a multiple of 2 or 4) */
  private readonly pending16: Int16Array;
  private readonly pending32: Int32Array;
  private pendingBytes = 0;
  private dataBytes = 0;
  private readonly bytesPerFrame: number;
  /** when the file was last made valid up to everything written (data and header) */
  private flushedAt = 0;
  /** data was written since the header was last patched */
  private headerStale = false;
  /** how much audio the buffer holds, ms */
  private readonly spanMs: number;

  /** Opens (truncating) the file and writes an empty-but-valid header at once. */
  constructor(readonly path: string, readonly format: WavFormat, bufferSeconds: number) {
    this.bytesPerFrame = 2 * format.channels;
    const frames = Math.max(1, Math.round(format.sampleRate * bufferSeconds));
    this.spanMs = (1000 * frames) / format.sampleRate;
    // Its own ArrayBuffer (not a pool slice), so the 16- and 32-bit views are aligned.
    this.pending = Buffer.from(new ArrayBuffer(frames * this.bytesPerFrame));
    this.pending16 = new Int16Array(this.pending.buffer, 0, this.pending.length >> 1);
    this.pending32 = new Int32Array(this.pending.buffer, 0, this.pending.length >> 2);
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
    while (start < end) {
      const at = this.pendingBytes >> 1;
      const n = Math.min(end - start, this.pending16.length - at);
      this.pending16.set(start === 0 && n === samples.length ? samples : samples.subarray(start, start + n), at);
      this.pendingBytes += n * 2;
      start += n;
      if (this.pendingBytes === this.pending.length) this.spill();
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
      if (this.pendingBytes === this.pending.length) this.spill();
    }
  }

  /** Interleaves two mono blocks of equal length straight into the pending buffer. */
  writeStereo(left: Int16Array, right: Int16Array, length: number): void {
    const view = this.pending32;
    let i = 0;
    while (i < length) {
      const at = this.pendingBytes >> 2;
      const n = Math.min(length - i, view.length - at);
      // one little-endian frame per 32-bit store: left in the low half, right in the high half
      for (let k = 0; k < n; k++) view[at + k] = (left[i + k]! & 0xffff) | (right[i + k]! << 16);
      this.pendingBytes += n * 4;
      i += n;
      if (this.pendingBytes === this.pending.length) this.spill();
    }
  }

  /** Writes pending audio, then patches the header so the file is valid up to here. */
  flush(now = Date.now()): void {
    if (this.fd === null) return;
    this.flushedAt = now;
    this.writePending();
    if (this.headerStale) this.patchHeader();
  }

  /** Flushes if the last flush is older than `maxAgeMs`; for streams that go quiet. */
  flushIfOlder(maxAgeMs: number, now = Date.now()): void {
    if (now - this.flushedAt >= maxAgeMs) this.flush(now);
  }

  /** The buffer is full: its audio goes to disk now, but the header is patched (a complete
   *  flush) only when the last complete flush is older than the buffer's span, else by the
   *  session's timer through flushIfOlder — so a stream running faster than real time (a
   *  backlog, a benchmark) does not pay a 44-byte write per buffer, while the file is still
   *  valid up to at most the same age as before. */
  private spill(): void {
    this.writePending();
    const now = Date.now();
    if (now - this.flushedAt >= this.spanMs) {
      this.flushedAt = now;
      this.patchHeader();
    }
  }

  private writePending(): void {
    if (this.fd === null || this.pendingBytes === 0) return;
    if (this.dataBytes + this.pendingBytes > MAX_DATA_BYTES) {
      throw new Error(`WAV file ${this.path} would exceed the 4 GiB RIFF limit`);
    }
    fs.writeSync(this.fd, this.pending, 0, this.pendingBytes, WAV_HEADER_BYTES + this.dataBytes);
    this.dataBytes += this.pendingBytes;
    this.pendingBytes = 0;
    this.headerStale = true;
  }

  private patchHeader(): void {
    if (this.fd === null) return;
    fs.writeSync(this.fd, wavHeader(this.format, this.dataBytes), 0, WAV_HEADER_BYTES, 0);
    this.headerStale = false;
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
