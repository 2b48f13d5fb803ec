// One track of one stream: frames in by timestamp, PCM out to the 8 kHz and 16 kHz files,
// with the statistics that tell loss on Twilio's side (timestamps that never came) from lag on
// ours (frames that came too late to place).
import { LevelMeter } from '../audio/levels.js';
import { StreamResampler } from '../audio/resample.js';
import type { Track } from '../twilio/messages.js';
import { JitterBuffer } from './jitter-buffer.js';
import type { WavFileWriter } from './wav-writer.js';

export const SAMPLES_PER_MS = 8;
/** Zeros fed through the resampler before the rest of a long gap is written directly: after
 *  this many, its filter history is all zeros, so its state equals that after the whole gap. */
const RESAMPLER_SETTLE = 1024;
const ZEROS = new Int16Array(RESAMPLER_SETTLE);
/** Gap intervals kept per track for the report; totals stay exact beyond it. */
const MAX_GAPS = 10_000;

export interface TrackStats {
  frames: number;
  duplicates: number;
  reordered: number;
  late_dropped: number;
  late_dropped_ms: number;
  /** ms whose timestamps never arrived: loss on Twilio's side (or before the first frame) */
  lost_ms: number;
  /** largest arrival lag against the track's own timestamps, ms */
  max_lag_ms: number;
  rms: number;
  clipped: number;
  samples: number;
  duration_s: number;
  gaps: Array<[number, number]>;
  gaps_truncated: boolean;
}

export interface TrackFiles {
  pcm8k: WavFileWriter;
  pcm16k: WavFileWriter;
}

/** Receives each track's 16 kHz audio as it is written (live transcription listens here). */
export type AudioListener = (track: Track, samples16k: Int16Array) => void;
const ZEROS_16K = new Int16Array(16000);

export class TrackRecorder {
  readonly buffer: JitterBuffer;
  private readonly resampler = new StreamResampler(8000, 16000, 5);
  private readonly level = new LevelMeter();
  private readonly gaps: Array<[number, number]> = [];
  private gapSamples = 0;
  private lateGapSamples = 0;
  private minOffset = Infinity;
  private maxOffset = -Infinity;
  private readonly counts = { frames: 0, duplicates: 0, reordered: 0, late_dropped: 0 };
  private finished = false;
  /** positions of the last late frames, so a duplicate of a late frame is not counted twice */
  private readonly recentLate: number[] = new Array<number>(16).fill(-1);
  private recentLateNext = 0;
  private readonly onGap = (start: number, end: number): void => this.addGap(start, end);
  /** sum of squares of the block last committed (its RMS is the live level) */
  lastSquares = 0;

  constructor(readonly track: Track, readonly files: TrackFiles, capacity: number, private readonly listener?: AudioListener) {
    this.buffer = new JitterBuffer(capacity);
  }

  /** `pos` is in samples; the session has committed enough that the frame fits the ring. */
  place(pos: number, bytes: Uint8Array, timestampMs: number, arrivalMs: number): void {
    this.counts.frames++;
    const offset = arrivalMs - timestampMs;
    if (offset < this.minOffset) this.minOffset = offset;
    if (offset > this.maxOffset) this.maxOffset = offset;
    const r = this.buffer.place(pos, bytes);
    if (r.outcome === 'reordered') this.counts.reordered++;
    if (r.outcome === 'duplicate') this.counts.duplicates++;
    if (r.behindSamples > 0) this.behind(pos, pos + r.behindSamples, r.outcome === 'behind');
  }

  /** A frame (or its head) arrived after its place was committed: it is never written over
   *  audio. Over a gap it was late; over audio it was a duplicate of what is already on disk. */
  private behind(start: number, end: number, whole: boolean): void {
    const overlap = this.gapOverlap(start, end);
    if (overlap > 0 && !this.recentLate.includes(start)) {
      this.recentLate[this.recentLateNext++ % this.recentLate.length] = start;
      this.lateGapSamples += overlap;
      if (whole) this.counts.late_dropped++;
    } else if (whole) {
      this.counts.duplicates++;
    }
  }

  private gapOverlap(start: number, end: number): number {
    let total = 0;
    for (let i = this.gaps.length - 1; i >= 0; i--) {
      const [gs, ge] = this.gaps[i]!;
      if (ge <= start) break;
      total += Math.max(0, Math.min(end, ge) - Math.max(start, gs));
    }
    return total;
  }

  /** Commits [committed, to) from the ring, writes both rates, returns the PCM: a view of the
   *  ring or of `scratch`, valid until the next place(). */
  commit(to: number, scratch: Int16Array): Int16Array {
    const pcm = this.buffer.commitView(to, scratch, this.onGap);
    this.files.pcm8k.write(pcm);
    this.write16k(this.resampler.process(pcm));
    this.lastSquares = this.level.add(pcm);
    return pcm;
  }

  /** A stretch with no audio at all: written as silence without running DSP over all of it. */
  silence(to: number): void {
    const n = to - this.buffer.committed;
    if (n <= 0) return;
    this.addGap(this.buffer.committed, to);
    this.buffer.skip(to);
    this.files.pcm8k.writeSilence(n);
    const settle = Math.min(n, RESAMPLER_SETTLE);
    this.write16k(this.resampler.process(ZEROS.subarray(0, settle)));
    this.files.pcm16k.writeSilence(2 * (n - settle));
    for (let left = 2 * (n - settle); this.listener && left > 0; left -= ZEROS_16K.length) {
      this.listener(this.track, ZEROS_16K.subarray(0, Math.min(left, ZEROS_16K.length)));
    }
    this.level.addZeros(n);
  }

  private write16k(samples: Int16Array): void {
    this.files.pcm16k.write(samples);
    this.listener?.(this.track, samples);
  }

  private addGap(start: number, end: number): void {
    this.gapSamples += end - start;
    const last = this.gaps[this.gaps.length - 1];
    if (last && last[1] === start) last[1] = end;
    else if (this.gaps.length < MAX_GAPS) this.gaps.push([start, end]);
  }

  /** Drains the resampler's delay line so the 16 kHz file is exactly twice the 8 kHz one. */
  finish(): TrackStats {
    if (!this.finished) {
      this.finished = true;
      this.write16k(this.resampler.flush());
      this.resampler.destroy();
    }
    return this.stats();
  }

  stats(): TrackStats {
    const samples = this.buffer.committed;
    return {
      ...this.counts,
      late_dropped_ms: this.lateGapSamples / SAMPLES_PER_MS,
      lost_ms: (this.gapSamples - this.lateGapSamples) / SAMPLES_PER_MS,
      max_lag_ms: this.counts.frames > 0 ? this.maxOffset - this.minOffset : 0,
      rms: this.level.rms(),
      clipped: this.level.clipped,
      samples,
      duration_s: samples / 8000,
      gaps: this.gaps.map(([s, e]) => [s / 8000, e / 8000]),
      gaps_truncated: this.gaps.length >= MAX_GAPS,
    };
  }
}
