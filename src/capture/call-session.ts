// One Twilio media stream being captured. It owns its writers, commits both tracks in lockstep
// on one clock (so the stereo file is aligned by media.timestamp), has an idempotent close(),
// and tells its owner through onClose. Nothing here touches the store: the registry does.
import fs from 'node:fs';
import path from 'node:path';
import type { Track } from '../twilio/messages.js';
import { SAMPLES_PER_MS, TrackRecorder, type AudioListener, type TrackStats } from './track-recorder.js';
import { WavFileWriter } from './wav-writer.js';

/** Largest media payload accepted, in mu-law bytes (Twilio sends 160; 0.5 s is generous). */
export const MAX_FRAME_SAMPLES = 4000;
/** Audio is committed in blocks of at least this many samples (60 ms) past the jitter window, so
 *  the per-call costs of resampling, writing and metering are paid ~16 times a second per
 *  track rather than 50. */
const COMMIT_BLOCK = 480;
/** Frames further ahead than this are taken as corrupt timestamps, not as a real silence. */
export const MAX_JUMP_MS = 10 * 60 * 1000;

export interface CaptureFileInfo {
  kind: 'track' | 'stereo';
  track: Track | null;
  sampleRate: number;
  channels: number;
  /** relative to the recordings directory */
  path: string;
}

export interface SessionSummary {
  reason: string;
  samples: number;
  durationS: number;
  tracks: Record<Track, TrackStats>;
}

export interface CallSessionOptions {
  recordingsDir: string;
  callSid: string;
  streamSid: string;
  jitterMs: number;
  flushMs: number;
  onAudio?: AudioListener;
}

export type MediaOutcome = 'ok' | 'implausible_jump';

const scratchFor = new Map<number, [Int16Array, Int16Array]>();
/** Commit scratch shared by every session: processing is synchronous, so one pair suffices. */
function scratch(capacity: number): [Int16Array, Int16Array] {
  let s = scratchFor.get(capacity);
  if (!s) scratchFor.set(capacity, (s = [new Int16Array(capacity), new Int16Array(capacity)]));
  return s;
}

/** RMS (0..1 of full scale) of a block from its sum of squares. */
function blockRms(squares: number, length: number): number {
  return length === 0 ? 0 : Math.sqrt(squares / length) / 32768;
}

export class CallSession {
  readonly callSid: string;
  readonly streamSid: string;
  readonly files: CaptureFileInfo[];
  /** a Twilio stream always carries both tracks (one that never sends is silence) */
  readonly tracks: readonly Track[] = ['inbound', 'outbound'];
  /** counters of dropped input, kept by the connection and recorded with the stream */
  events: Record<string, number> = {};
  private readonly recorders: Record<Track, TrackRecorder>;
  private readonly stereo: WavFileWriter;
  private readonly writers: WavFileWriter[];
  private readonly windowSamples: number;
  private readonly capacity: number;
  private readonly flushMs: number;
  /** end of the furthest frame seen on either track */
  private head = 0;
  private lastArrival = Date.now();
  private closing: Promise<SessionSummary> | null = null;
  private readonly closeListeners: Array<(s: SessionSummary) => void> = [];
  /** length of the block last committed from the rings (0 after silence only); each track's
   *  RMS over it is worked out from its sum of squares when the live view asks */
  private lastBlock = 0;

  /** Creates the call folder and the five files; throws if this stream was captured before. */
  constructor(o: CallSessionOptions) {
    this.callSid = o.callSid;
    this.streamSid = o.streamSid;
    this.windowSamples = o.jitterMs * SAMPLES_PER_MS;
    this.capacity = this.windowSamples + COMMIT_BLOCK + MAX_FRAME_SAMPLES;
    this.flushMs = o.flushMs;
    const dir = path.join(o.recordingsDir, o.callSid);
    fs.mkdirSync(dir, { recursive: true });
    const seconds = o.flushMs / 1000;
    const open = (name: string, rate: number, channels: number) => {
      const full = path.join(dir, `${o.streamSid}.${name}.wav`);
      if (fs.existsSync(full)) throw new Error(`capture ${path.basename(full)} already exists`);
      return new WavFileWriter(full, { sampleRate: rate, channels }, seconds);
    };
    const track = (t: Track) =>
      new TrackRecorder(t, { pcm8k: open(`${t}.8k`, 8000, 1), pcm16k: open(`${t}.16k`, 16000, 1) }, this.capacity, o.onAudio);
    this.recorders = { inbound: track('inbound'), outbound: track('outbound') };
    this.stereo = open('stereo.8k', 8000, 2);
    this.writers = [...Object.values(this.recorders).flatMap((r) => [r.files.pcm8k, r.files.pcm16k]), this.stereo];
    this.files = this.writers.map((w) => this.describe(w, o.recordingsDir));
  }

  private describe(w: WavFileWriter, root: string): CaptureFileInfo {
    const rec = Object.values(this.recorders).find((r) => r.files.pcm8k === w || r.files.pcm16k === w);
    return {
      kind: rec ? 'track' : 'stereo',
      track: rec ? rec.track : null,
      sampleRate: w.format.sampleRate,
      channels: w.format.channels,
      path: path.relative(root, w.path),
    };
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** One media frame. Synchronous: the payload view is only valid during this call. */
  media(track: Track, timestampMs: number, payload: Uint8Array, arrivalMs: number): MediaOutcome {
    if (this.closing) return 'ok';
    this.lastArrival = arrivalMs;
    const pos = timestampMs * SAMPLES_PER_MS;
    const end = pos + payload.length;
    if (end - this.head > MAX_JUMP_MS * SAMPLES_PER_MS) return 'implausible_jump';
    if (end > this.head) this.head = end;
    if (this.head - this.committed > this.windowSamples + COMMIT_BLOCK) this.commitTo(this.head - this.windowSamples);
    this.recorders[track].place(pos, payload, timestampMs, arrivalMs);
    return 'ok';
  }

  private get committed(): number {
    return this.recorders.inbound.buffer.committed;
  }

  /** Commits both tracks to `to`: the part that may hold audio through the rings, the rest
   *  (a jump in timestamps) as silence, so a long gap costs no DSP. */
  private commitTo(to: number): void {
    const [left, right] = scratch(this.capacity);
    const dataEnd = Math.max(this.recorders.inbound.buffer.highestEnd, this.recorders.outbound.buffer.highestEnd);
    const ringEnd = Math.min(to, Math.max(dataEnd, this.committed));
    if (ringEnd > this.committed) {
      const a = this.recorders.inbound.commit(ringEnd, left);
      const b = this.recorders.outbound.commit(ringEnd, right);
      this.stereo.writeStereo(a, b, a.length);
      this.lastBlock = a.length;
    } else if (to > this.committed) {
      this.lastBlock = 0;
    }
    if (to > this.committed) {
      const n = to - this.committed;
      this.recorders.inbound.silence(to);
      this.recorders.outbound.silence(to);
      this.stereo.writeSilence(n);
    }
  }

  /** Called periodically: commits audio of a stream that went quiet and flushes old buffers,
   *  so what is on disk is never more than flushMs + jitter window behind. */
  tick(now = Date.now()): void {
    if (this.closing) return;
    if (now - this.lastArrival > this.windowSamples / SAMPLES_PER_MS && this.head > this.committed) {
      this.commitTo(this.head);
    }
    for (const w of this.writers) w.flushIfOlder(this.flushMs, now);
  }

  /** Each track's current level and how much of the call is committed, for the live view. */
  levels(): { rms: Record<Track, number>; durationS: number } {
    const rms = (t: Track) => blockRms(this.recorders[t].lastSquares, this.lastBlock);
    return { rms: { inbound: rms('inbound'), outbound: rms('outbound') }, durationS: this.committed / (SAMPLES_PER_MS * 1000) };
  }

  /** Each track's counters so far and the audio bytes in the files (written or buffered), for
   *  metrics at scrape time: nothing is counted on the frame path beyond the tracks' own stats. */
  stats(): { tracks: Record<Track, TrackStats>; bytesWritten: number } {
    const bytesWritten = this.writers.reduce((n, w) => n + w.frames * 2 * w.format.channels, 0);
    return { tracks: { inbound: this.recorders.inbound.stats(), outbound: this.recorders.outbound.stats() }, bytesWritten };
  }

  onClose(listener: (s: SessionSummary) => void): void {
    this.closeListeners.push(listener);
  }

  /** Commits what the window still holds, drains the resamplers and closes the files.
   *  Work is bounded by the window and buffer sizes, not by the call's length. Idempotent. */
  close(reason: string): Promise<SessionSummary> {
    if (!this.closing) this.closing = this.finalize(reason);
    return this.closing;
  }

  private async finalize(reason: string): Promise<SessionSummary> {
    this.commitTo(this.head);
    const tracks = { inbound: this.recorders.inbound.finish(), outbound: this.recorders.outbound.finish() };
    await Promise.all(this.writers.map((w) => w.close()));
    const samples = this.committed;
    const summary: SessionSummary = { reason, samples, durationS: samples / 8000, tracks };
    for (const l of this.closeListeners) l(summary);
    return summary;
  }
}
