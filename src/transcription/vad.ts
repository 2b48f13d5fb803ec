/**
 * Voice activity detection for transcription. Whisper invents words over silence, so only speech
 * is ever uploaded, and gpt-4o transcribe models return no segment times, so utterance times on
 * the call timeline come from here (DESIGN: "Transcription default").
 *
 * Pure streaming DSP, no I/O: `SpeechDetector` decides frame by frame from energy against an
 * adaptive noise floor; `UtteranceSegmenter` turns those decisions into padded utterances with
 * their audio, holding only a bounded ring of recent samples. Upload planning for the offline
 * pass lives in segmenter.ts and is re-exported here, so callers import one module.
 */
import { AudioRing, DIGITAL_SILENCE_DB, EnergySpread, NoiseFloor } from './segmenter.js';

/** The floor is a low percentile of the last five seconds of non-silent frames (see NoiseFloor). */
const FLOOR_WINDOW_MS = 5000;

export { mapTime, planUploads, type Upload, type UploadPart } from './segmenter.js';

export interface VadOptions {
  sampleRate: number;
  /** Decision frame (default 20, Twilio's frame); sampleRate · frameMs / 1000 must be whole. */
  frameMs?: number;
  /** Speech frames a burst needs before it counts (default 200); shorter bursts are clicks. */
  minSpeechMs?: number;
  /** Dips up to this long stay inside one burst (default 300). */
  hangoverMs?: number;
  /** Silence that ends an utterance (default 600); also the emission delay. */
  minPauseMs?: number;
  /** Longest utterance, padding included (default 30 000); longer speech is cut at a quiet frame. */
  maxUtteranceMs?: number;
  /** Audio kept before and after speech so word edges are not clipped (default 150). */
  padMs?: number;
  /** Absolute floor: quieter frames are never speech (default −50 dBFS). Not in the brief. */
  thresholdDbfs?: number;
  /**
   * How far above the noise floor speech must be (default 6 dB; steady hiss frames stay within
   * ~1 dB of their mean, and on the test call 6 dB loses no speech frame up to −35 dBFS hiss).
   * Not in the brief.
   */
  marginDb?: number;
}

/** Options in samples, validated once. */
interface VadConfig {
  rate: number; frame: number; minSpeech: number; hangover: number; minPause: number;
  maxLen: number; pad: number; thresholdDb: number; marginDb: number;
}

function resolveVadOptions(o: VadOptions): VadConfig {
  const rate = o.sampleRate;
  if (!Number.isInteger(rate) || rate <= 0) throw new RangeError(`VAD: sampleRate must be a positive integer, got ${rate}`);
  const samples = (name: string, ms: number): number => {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`VAD: ${name} must be >= 0 ms, got ${ms}`);
    return Math.round((ms * rate) / 1000);
  };
  const frame = (rate * (o.frameMs ?? 20)) / 1000;
  if (!Number.isInteger(frame) || frame < 1) throw new RangeError(`VAD: frameMs must give whole frames at ${rate} Hz`);
  const c: VadConfig = {
    rate, frame,
    minSpeech: samples('minSpeechMs', o.minSpeechMs ?? 200),
    hangover: samples('hangoverMs', o.hangoverMs ?? 300),
    minPause: samples('minPauseMs', o.minPauseMs ?? 600),
    maxLen: samples('maxUtteranceMs', o.maxUtteranceMs ?? 30_000),
    pad: samples('padMs', o.padMs ?? 150),
    thresholdDb: o.thresholdDbfs ?? -50,
    marginDb: o.marginDb ?? 6,
  };
  // The end padding must be decided when the utterance is emitted, and a dip the hangover
  // bridges must not already count as the pause that ends the utterance.
  if (c.pad > c.minPause || c.hangover >= c.minPause) throw new RangeError('VAD: padMs <= minPauseMs and hangoverMs < minPauseMs required');
  // An opening utterance reaches back at most a quarter of the cap (so the ring stays within it,
  // and a forced cut, which searches the last quarter, always leaves speech before it); the
  // padding and a burst that is still proving itself must fit in that quarter.
  if (c.maxLen < 4 * (c.pad + c.minSpeech + c.hangover + 2 * frame)) {
    throw new RangeError('VAD: maxUtteranceMs must be at least 4 × (padMs + minSpeechMs + hangoverMs + 2 frames)');
  }
  return c;
}

/** Mean power of a frame in dBFS; −Infinity for all zeros. */
export function frameDbfs(frame: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  return 10 * Math.log10(sum / (frame.length * 32768 * 32768));
}

/**
 * Frame-level speech decisions: speech is above the absolute floor and marginDb above the noise
 * floor, so steady line hiss never is. Only non-silent frames feed the floor, so a clean track's
 * floor survives long digitally silent stretches (the other party talking) instead of restarting
 * blind at every turn.
 */
export class SpeechDetector {
  readonly #c: VadConfig;
  readonly #floor: NoiseFloor;
  #floorDb = -Infinity;
  #energyDb = -Infinity;

  constructor(o: VadOptions) {
    this.#c = resolveVadOptions(o);
    this.#floor = new NoiseFloor(Math.round((FLOOR_WINDOW_MS * this.#c.rate) / (1000 * this.#c.frame)));
  }

  /** Energy of the last frame pushed, dBFS. */
  get energyDb(): number {
    return this.#energyDb;
  }

  /** Noise floor used for the last decision, dBFS (−Infinity before any non-silent frame). */
  get floorDb(): number {
    return this.#floorDb;
  }

  /** True when `frame` (normally one frame; any non-empty length works) is speech. */
  push(frame: Int16Array): boolean {
    const db = frameDbfs(frame);
    this.#energyDb = db;
    if (!(db > DIGITAL_SILENCE_DB)) return false;
    // The current frame joins the statistic before the decision, so the first frame of steady
    // hiss after digital silence already sets the floor at its own level.
    this.#floorDb = this.#floor.add(db);
    return db >= this.#c.thresholdDb && db >= this.#floorDb + this.#c.marginDb;
  }
}

export interface Utterance {
  /** First sample, counted from the start of the stream; padding included. */
  start: number;
  /** One past the last sample. */
  end: number;
  /** Exactly samples [start, end) of the stream. */
  audio: Int16Array;
}

/**
 * Cuts a stream into utterances at pauses, each emitted as soon as `minPauseMs` of silence has
 * followed it. Frames are formed from the stream itself, so results do not depend on how the
 * caller chunks it. Memory is one ring of at most `maxUtteranceMs` of samples, grown on demand
 * (a silent track holds about a second) and shrunk again after each utterance.
 */
export class UtteranceSegmenter {
  readonly #c: VadConfig;
  readonly #detector: SpeechDetector;
  readonly #ring: AudioRing;
  /** Energies of the frames a forced cut may choose from, indexed by frame number. */
  readonly #quiet: Float32Array;
  /** Farthest an utterance may reach back when it opens; keeps the ring within its cap. */
  readonly #history: number;
  readonly #partial: Int16Array;
  #partialLen = 0;
  #pos = 0;
  #finished = false;
  // The current burst: speech frames joined across dips up to hangoverMs.
  #runStart = 0;
  #runEnd = -1;
  #runSpeech = 0;
  readonly #runSpread = new EnergySpread();
  readonly #uttSpread = new EnergySpread();
  // The open utterance, if any, and where the last one ended (utterances never overlap).
  #open = false;
  #uttStart = 0;
  #speechEnd = 0;
  #prevEnd = 0;

  constructor(o: VadOptions) {
    this.#c = resolveVadOptions(o);
    this.#detector = new SpeechDetector(o);
    const { frame, maxLen, rate } = this.#c;
    this.#ring = new AudioRing(maxLen, Math.min(maxLen, rate));
    this.#history = Math.floor(maxLen / 4);
    this.#quiet = new Float32Array(Math.ceil(Math.min(this.#history, 5 * rate) / frame));
    this.#partial = new Int16Array(frame);
  }

  /** Samples the ring holds right now (never more than maxUtteranceMs' worth). */
  get bufferedSamples(): number {
    return this.#ring.size;
  }

  /** Feeds the next samples of the stream; returns the utterances that ended. */
  push(samples: Int16Array): Utterance[] {
    if (this.#finished) throw new Error('UtteranceSegmenter: push() after flush()');
    const out: Utterance[] = [];
    const { frame } = this.#c;
    let i = 0;
    if (this.#partialLen > 0) {
      i = Math.min(frame - this.#partialLen, samples.length);
      this.#partial.set(samples.subarray(0, i), this.#partialLen);
      this.#partialLen += i;
      if (this.#partialLen < frame) return out;
      this.#partialLen = 0;
      this.#onFrame(this.#partial, out);
    }
    for (; i + frame <= samples.length; i += frame) this.#onFrame(samples.subarray(i, i + frame), out);
    this.#partial.set(samples.subarray(i));
    this.#partialLen = samples.length - i;
    return out;
  }

  /** Ends the stream: a trailing partial frame is judged on its own, and an open utterance is emitted. */
  flush(): Utterance[] {
    if (this.#finished) return [];
    const out: Utterance[] = [];
    if (this.#partialLen > 0) this.#onFrame(this.#partial.subarray(0, this.#partialLen), out);
    if (this.#open) this.#emit(this.#uttStart, Math.min(this.#speechEnd + this.#c.pad, this.#pos), out);
    this.#open = false;
    this.#finished = true;
    return out;
  }

  #onFrame(frame: Int16Array, out: Utterance[]): void {
    const p = this.#pos;
    this.#ring.reserve(p + frame.length - this.#keepFrom(p));
    this.#ring.write(frame);
    const speech = this.#detector.push(frame);
    this.#quiet[Math.floor(p / this.#c.frame) % this.#quiet.length] = this.#detector.energyDb;
    this.#pos += frame.length;
    if (speech) this.#onSpeech(p);
    if (!this.#open) return;
    if (this.#pos - this.#speechEnd >= this.#c.minPause) {
      this.#emit(this.#uttStart, this.#speechEnd + this.#c.pad, out);
      this.#open = false;
      this.#ring.shrink(this.#pos - this.#keepFrom(this.#pos));
    } else if (this.#pos - this.#uttStart + this.#c.frame > this.#c.maxLen) {
      this.#forceCut(out);
    }
  }

  /** Oldest sample a future utterance may still need, before the frame starting at `p`. */
  #keepFrom(p: number): number {
    if (this.#open) return this.#uttStart;
    const runAlive = this.#runEnd >= 0 && p - this.#runEnd <= this.#c.hangover;
    return Math.max(this.#prevEnd, (runAlive ? this.#runStart : p) - this.#c.pad, p - this.#history, 0);
  }

  /** A speech frame [p, pos): extends or starts a burst, and a long enough burst is speech. */
  #onSpeech(p: number): void {
    if (this.#runEnd < 0 || p - this.#runEnd > this.#c.hangover) {
      this.#runStart = p;
      this.#runSpeech = 0;
      this.#runSpread.reset();
    }
    const proven = this.#runSpeech >= this.#c.minSpeech;
    this.#runEnd = this.#pos;
    // Counting speech frames, not the burst's span, keeps sparse clicks from adding up to speech.
    this.#runSpeech += this.#pos - p;
    if (this.#runSpeech < this.#c.minSpeech) {
      this.#runSpread.add(this.#detector.energyDb);
      return;
    }
    if (!this.#open) {
      this.#open = true;
      this.#uttStart = Math.max(this.#runStart - this.#c.pad, this.#prevEnd, p - this.#history, 0);
    }
    if (!proven) this.#uttSpread.merge(this.#runSpread);
    this.#uttSpread.add(this.#detector.energyDb);
    this.#speechEnd = this.#pos;
  }

  /**
   * The utterance would outgrow maxUtteranceMs: end it at the quietest recent frame and carry on
   * from there with no audio lost. A frame is as loud as the loudest of its ±2 neighbours, so a
   * lone quiet frame inside a word (a stop closure) loses to a real pause; of equals the latest
   * wins, which keeps the cut near the limit.
   */
  #forceCut(out: Utterance[]): void {
    const { frame } = this.#c;
    const last = Math.ceil(this.#pos / frame) - 1;
    const first = Math.max(last - this.#quiet.length + 1, Math.ceil(this.#uttStart / frame) + 1);
    const loudness = (k: number): number => {
      let db = -Infinity;
      for (let j = Math.max(first, k - 2); j <= Math.min(last, k + 2); j++) db = Math.max(db, this.#quiet[j % this.#quiet.length]!);
      return db;
    };
    let best = last;
    let bestDb = loudness(last);
    for (let k = last - 1; k >= first; k--) {
      const db = loudness(k);
      if (db < bestDb) [best, bestDb] = [k, db];
    }
    const cut = best * frame;
    if (this.#speechEnd > cut) {
      this.#emit(this.#uttStart, cut, out);
      this.#uttStart = cut;
    } else {
      this.#emit(this.#uttStart, Math.min(cut, this.#speechEnd + this.#c.pad), out);
      this.#open = false;
    }
  }

  /** Emits [start, end) unless its speech was too steady to be speech (see EnergySpread). */
  #emit(start: number, end: number, out: Utterance[]): void {
    if (!this.#uttSpread.steady(this.#c.minSpeech / this.#c.frame)) out.push({ start, end, audio: this.#ring.read(start, end) });
    this.#uttSpread.reset();
    this.#prevEnd = end;
  }
}
