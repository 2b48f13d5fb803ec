// One leg of a call delivered as raw 16-bit little-endian PCM (Vonage's WebSocket): one track,
// written to the same contract files as a Twilio stream. Such frames carry no timestamps and TCP
// loses nothing, so audio is placed by bytes received: sample n of the 8 kHz file is n/8 ms after
// the first audio byte. The received rate's file is the audio bit for bit; the other rate is
// derived with the same SpeexDSP resampler at zero lag (2:1 down for 16 kHz input, 1:2 up for
// 8 kHz input), so both files line up sample for sample with what was sent.
//
// The stereo file keeps the contract's layout (left = inbound, right = outbound): the leg's own
// track is on its side and the side of the track this stream does not carry is digital silence.
// That keeps every reader of `<StreamId>.stereo.8k.wav` working without knowing about legs.
import fs from 'node:fs';
import path from 'node:path';
import { LevelMeter } from '../audio/levels.js';
import { StreamResampler } from '../audio/resample.js';
import type { Track } from '../twilio/messages.js';
import type { CaptureFileInfo, SessionSummary } from './call-session.js';
import { absentTrackStats, type CaptureSession } from './capture-session.js';
import type { AudioListener, TrackStats } from './track-recorder.js';
import { WavFileWriter } from './wav-writer.js';

export type PcmRate = 8000 | 16000;
/** Largest binary frame taken, in bytes: 0.5 s at 16 kHz (Vonage sends 20 ms, 640 bytes). */
export const MAX_PCM_FRAME_BYTES = 16000;
/** Input is resampled and written in blocks of 60 ms, so per-call costs are paid ~16 times a
 *  second rather than 50 (the same cadence as the Twilio path). */
const BLOCK_MS = 60;

export interface PcmSessionOptions {
  recordingsDir: string;
  callSid: string;
  streamSid: string;
  track: Track;
  inputRate: PcmRate;
  flushMs: number;
  onAudio?: AudioListener;
}

export type PcmTrackStats = TrackStats & { input_rate: number; bytes: number; trailing_byte: boolean };

function blockRms(pcm: Int16Array): number {
  if (pcm.length === 0) return 0;
  let sum = 0;
  for (const x of pcm) sum += x * x;
  return Math.sqrt(sum / pcm.length) / 32768;
}

export class PcmSession implements CaptureSession {
  readonly callSid: string;
  readonly streamSid: string;
  readonly track: Track;
  readonly inputRate: PcmRate;
  readonly files: CaptureFileInfo[];
  readonly tracks: readonly Track[];
  events: Record<string, number> = {};
  private readonly pcm8k: WavFileWriter;
  private readonly pcm16k: WavFileWriter;
  private readonly stereo: WavFileWriter;
  private readonly writers: WavFileWriter[];
  /** derives the rate that was not received */
  private readonly resampler: StreamResampler;
  private readonly flushMs: number;
  private readonly listener: AudioListener | undefined;
  private readonly block: number;
  /** input samples waiting for the next block, as Int16 and as the bytes they are made of */
  private readonly pending: Int16Array;
  private readonly pendingBytes: Uint8Array;
  private pendingN = 0;
  /** the first byte of a sample split across two frames, or -1 */
  private carry = -1;
  /** the silent side of the stereo file, long enough for any block */
  private readonly silence: Int16Array;
  private readonly level = new LevelMeter();
  private lastRms = 0;
  private frames = 0;
  private bytes = 0;
  private minOffset = Infinity;
  private maxOffset = -Infinity;
  private closing: Promise<SessionSummary> | null = null;
  private readonly closeListeners: Array<(s: SessionSummary) => void> = [];

  /** Creates the call folder and the three files; throws if this stream was captured before. */
  constructor(o: PcmSessionOptions) {
    this.callSid = o.callSid;
    this.streamSid = o.streamSid;
    this.track = o.track;
    this.tracks = [o.track];
    this.inputRate = o.inputRate;
    this.flushMs = o.flushMs;
    this.listener = o.onAudio;
    this.block = (BLOCK_MS * o.inputRate) / 1000;
    // One block plus the largest frame (and a carried byte) fits without a second copy.
    this.pending = new Int16Array(this.block + MAX_PCM_FRAME_BYTES / 2 + 1);
    this.pendingBytes = new Uint8Array(this.pending.buffer);
    this.silence = new Int16Array(this.pending.length + 64);
    const dir = path.join(o.recordingsDir, o.callSid);
    fs.mkdirSync(dir, { recursive: true });
    const open = (name: string, rate: number, channels: number) => {
      const full = path.join(dir, `${o.streamSid}.${name}.wav`);
      if (fs.existsSync(full)) throw new Error(`capture ${path.basename(full)} already exists`);
      return new WavFileWriter(full, { sampleRate: rate, channels }, o.flushMs / 1000);
    };
    this.pcm8k = open(`${o.track}.8k`, 8000, 1);
    this.pcm16k = open(`${o.track}.16k`, 16000, 1);
    this.stereo = open('stereo.8k', 8000, 2);
    this.writers = [this.pcm8k, this.pcm16k, this.stereo];
    this.resampler = o.inputRate === 16000 ? new StreamResampler(16000, 8000, 5) : new StreamResampler(8000, 16000, 5);
    const info = (w: WavFileWriter, kind: 'track' | 'stereo'): CaptureFileInfo => ({
      kind, track: kind === 'track' ? o.track : null, sampleRate: w.format.sampleRate, channels: w.format.channels,
      path: path.relative(o.recordingsDir, w.path),
    });
    this.files = [info(this.pcm8k, 'track'), info(this.pcm16k, 'track'), info(this.stereo, 'stereo')];
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** One binary frame of PCM16LE, any length up to MAX_PCM_FRAME_BYTES; an odd byte is kept for
   *  the next frame. Synchronous: `bytes` is only read during this call. */
  audio(bytes: Uint8Array, arrivalMs: number): void {
    if (this.closing || bytes.length === 0) return;
    if (bytes.length > MAX_PCM_FRAME_BYTES) throw new RangeError('PCM frame larger than MAX_PCM_FRAME_BYTES');
    // Arrival against the byte clock: how far the network let this leg lag behind itself.
    const offset = arrivalMs - (this.bytes / 2 / this.inputRate) * 1000;
    if (offset < this.minOffset) this.minOffset = offset;
    if (offset > this.maxOffset) this.maxOffset = offset;
    this.frames++;
    this.bytes += bytes.length;
    let at = this.pendingN * 2;
    let from = 0;
    if (this.carry >= 0) {
      this.pendingBytes[at++] = this.carry;
      this.pendingBytes[at++] = bytes[0]!;
      this.carry = -1;
      from = 1;
    }
    const whole = (bytes.length - from) & ~1;
    this.pendingBytes.set(bytes.subarray(from, from + whole), at);
    at += whole;
    if (from + whole < bytes.length) this.carry = bytes[bytes.length - 1]!;
    this.pendingN = at / 2;
    if (this.pendingN >= this.block) this.commit();
  }

  /** Resamples and writes what is pending: the received rate as is, the other one derived. */
  private commit(): void {
    if (this.pendingN === 0) return;
    const input = this.pending.subarray(0, this.pendingN);
    if (this.inputRate === 16000) {
      this.write16k(input);
      this.write8k(this.resampler.process(input));
    } else {
      this.write8k(input);
      this.write16k(this.resampler.process(input));
    }
    this.pendingN = 0;
  }

  private write8k(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    this.pcm8k.write(pcm);
    if (this.track === 'inbound') this.stereo.writeStereo(pcm, this.silence, pcm.length);
    else this.stereo.writeStereo(this.silence, pcm, pcm.length);
    this.level.add(pcm);
    this.lastRms = blockRms(pcm);
  }

  private write16k(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    this.pcm16k.write(pcm);
    this.listener?.(this.track, pcm);
  }

  /** Called periodically: writes what is pending and flushes old buffers, so a stream that
   *  goes quiet (or a crash) leaves at most flushMs of audio unwritten. */
  tick(now = Date.now()): void {
    if (this.closing) return;
    this.commit();
    for (const w of this.writers) w.flushIfOlder(this.flushMs, now);
  }

  levels(): { rms: Record<Track, number>; durationS: number } {
    const rms = { inbound: 0, outbound: 0 };
    rms[this.track] = this.lastRms;
    return { rms, durationS: this.pcm8k.frames / 8000 };
  }

  trackStats(): PcmTrackStats {
    const samples = this.pcm8k.frames;
    return {
      ...absentTrackStats(),
      frames: this.frames,
      max_lag_ms: this.frames > 0 ? Math.round(this.maxOffset - this.minOffset) : 0,
      rms: this.level.rms(),
      clipped: this.level.clipped,
      samples,
      duration_s: samples / 8000,
      input_rate: this.inputRate,
      bytes: this.bytes,
      trailing_byte: this.carry >= 0,
    };
  }

  stats(): { tracks: Record<Track, TrackStats>; bytesWritten: number } {
    const tracks = { inbound: absentTrackStats(), outbound: absentTrackStats() };
    tracks[this.track] = this.trackStats();
    const bytesWritten = this.writers.reduce((n, w) => n + w.frames * 2 * w.format.channels, 0);
    return { tracks, bytesWritten };
  }

  onClose(listener: (s: SessionSummary) => void): void {
    this.closeListeners.push(listener);
  }

  /** Writes what is pending, drains the resampler and closes the files. Idempotent. */
  close(reason: string): Promise<SessionSummary> {
    if (!this.closing) this.closing = this.finalize(reason);
    return this.closing;
  }

  private async finalize(reason: string): Promise<SessionSummary> {
    this.commit();
    const tail = this.resampler.flush();
    if (this.inputRate === 16000) this.write8k(tail);
    else this.write16k(tail);
    this.resampler.destroy();
    // An odd count of 16 kHz samples gets one zero so the 16 kHz file is exactly twice the
    // 8 kHz one, as for every other capture.
    const pad = 2 * this.pcm8k.frames - this.pcm16k.frames;
    if (pad > 0) this.pcm16k.writeSilence(pad);
    const { tracks } = this.stats();
    await Promise.all(this.writers.map((w) => w.close()));
    const samples = this.pcm8k.frames;
    const summary: SessionSummary = { reason, samples, durationS: samples / 8000, tracks };
    for (const l of this.closeListeners) l(summary);
    return summary;
  }
}
