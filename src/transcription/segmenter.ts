/**
 * The pieces under the VAD that make no speech decisions themselves: the noise-floor statistic,
 * the bounded audio ring the live segmenter keeps, and the offline plan that groups speech
 * stretches into uploads and maps transcript times back onto the call timeline. Pure, no I/O;
 * vad.ts builds on them and re-exports the public parts.
 */

/** Frames at or below this are digital silence: never speech, and no evidence of the line's noise. */
export const DIGITAL_SILENCE_DB = -90;
/** Histogram resolution over −90…0 dBFS. */
const BIN_DB = 0.5;
const BINS = Math.ceil(-DIGITAL_SILENCE_DB / BIN_DB);
/**
 * Five frames in 250: a stray quiet frame cannot drag the floor down, yet on a clean track
 * (speech and digital silence only) it lands on word edges rather than on speech; the 10th
 * percentile sat inside the speech there and split sentences at their pauses.
 */
const FLOOR_PERCENTILE = 0.02;

/**
 * A low percentile of the last `window` frame energies, from a histogram: O(1) memory per frame
 * and no sorting. A robust minimum statistic follows steady line noise without having to know
 * which frames are speech, and speech pauses keep it down while someone talks.
 */
export class NoiseFloor {
  readonly #counts = new Uint32Array(BINS);
  readonly #window: Uint8Array;
  #filled = 0;
  #next = 0;

  constructor(window: number) {
    this.#window = new Uint8Array(Math.max(1, window));
  }

  /** Adds a frame's energy (dBFS, above digital silence) and returns the floor, dBFS. */
  add(db: number): number {
    const bin = Math.min(BINS - 1, Math.floor((db - DIGITAL_SILENCE_DB) / BIN_DB));
    if (this.#filled === this.#window.length) this.#counts[this.#window[this.#next]!]!--;
    else this.#filled++;
    this.#window[this.#next] = bin;
    this.#counts[bin]!++;
    this.#next = (this.#next + 1) % this.#window.length;
    return this.#percentile();
  }

  /** Upper edge of the bin holding the percentile, so a steady level sits just below its floor. */
  #percentile(): number {
    let rank = Math.max(1, Math.ceil(FLOOR_PERCENTILE * this.#filled));
    for (let b = 0; b < BINS; b++) {
      rank -= this.#counts[b]!;
      if (rank <= 0) return DIGITAL_SILENCE_DB + (b + 1) * BIN_DB;
    }
    return 0;
  }
}

/**
 * Speech frames of a steady sound (a tone, a step in line hiss) spread by under 1 dB (standard
 * deviation); on the test call speech spreads 5–9 dB, and still 4 dB under −35 dBFS hiss.
 */
const STEADY_DB = 2;

/**
 * Spread of the speech-frame energies of an utterance. The floor needs seconds to follow a new
 * noise level or a tone (ringback: 2 s on, 4 s off), and what it lets through then is steady,
 * while speech never is; the segmenter drops utterances that are too steady to be speech.
 */
export class EnergySpread {
  n = 0;
  sum = 0;
  squares = 0;

  add(db: number): void {
    this.n++;
    this.sum += db;
    this.squares += db * db;
  }

  merge(o: EnergySpread): void {
    this.n += o.n;
    this.sum += o.sum;
    this.squares += o.squares;
  }

  reset(): void {
    this.n = this.sum = this.squares = 0;
  }

  /** True when at least `minFrames` frames spread by less than STEADY_DB. */
  steady(minFrames: number): boolean {
    if (this.n < minFrames) return false;
    const mean = this.sum / this.n;
    return Math.sqrt(Math.max(0, this.squares / this.n - mean * mean)) < STEADY_DB;
  }
}

/**
 * The most recent samples of a stream, addressed by absolute position (sample i lives at
 * i mod size). It starts at `base` samples and grows by doubling up to `capacity` only while an
 * utterance needs it, so idle tracks stay small.
 */
export class AudioRing {
  #buf: Int16Array;
  #end = 0;

  constructor(readonly capacity: number, readonly base: number) {
    if (!(base >= 1 && base <= capacity)) throw new RangeError(`AudioRing: need 1 <= base <= capacity, got ${base}, ${capacity}`);
    this.#buf = new Int16Array(base);
  }

  /** Samples allocated now. */
  get size(): number {
    return this.#buf.length;
  }

  /** Makes room to hold the last `span` samples once the next write is done. */
  reserve(span: number): void {
    if (span <= this.#buf.length) return;
    if (span > this.capacity) throw new RangeError(`AudioRing: ${span} samples needed, capacity ${this.capacity}`);
    this.#resize(Math.min(this.capacity, Math.max(span, 2 * this.#buf.length)));
  }

  /** Returns to the base size when only the last `span` samples are still needed. */
  shrink(span: number): void {
    if (this.#buf.length > this.base && span <= this.base) this.#resize(this.base);
  }

  write(x: Int16Array): void {
    if (x.length > this.#buf.length) throw new RangeError('AudioRing: write larger than the ring');
    this.#place(x, this.#end);
    this.#end += x.length;
  }

  /** A copy of samples [start, end); throws if any of them has already been overwritten. */
  read(start: number, end: number): Int16Array {
    if (start < this.#end - this.#buf.length || end > this.#end || start > end) {
      throw new RangeError(`AudioRing: [${start}, ${end}) is not held (have [${Math.max(0, this.#end - this.#buf.length)}, ${this.#end}))`);
    }
    const out = new Int16Array(end - start);
    const size = this.#buf.length;
    const from = start % size;
    const first = Math.min(out.length, size - from);
    out.set(this.#buf.subarray(from, from + first));
    out.set(this.#buf.subarray(0, out.length - first), first);
    return out;
  }

  #resize(size: number): void {
    const keep = this.read(Math.max(0, this.#end - Math.min(size, this.#buf.length)), this.#end);
    this.#buf = new Int16Array(size);
    this.#place(keep, this.#end - keep.length);
  }

  #place(x: Int16Array, at: number): void {
    const size = this.#buf.length;
    const from = at % size;
    const first = Math.min(x.length, size - from);
    this.#buf.set(x.subarray(0, first), from);
    this.#buf.set(x.subarray(first), 0);
  }
}

export interface UploadPart {
  start: number;
  end: number;
}

export interface Upload {
  /** First sample of the first part on the call timeline. */
  start: number;
  /** One past the last sample of the last part. */
  end: number;
  /** Call-timeline stretches, in order, that the caller concatenates into one request. */
  parts: UploadPart[];
}

export interface UploadPlanOptions {
  sampleRate: number;
  /** Most audio per upload: the parts plus the join silences between them. */
  maxUploadMs: number;
  /**
   * Gaps up to this long stay inside one part instead of being cut out (default 0: every gap
   * is removed). Short pauses are harmless to Whisper, and fewer joins keep its context natural.
   */
  maxGapMs?: number;
  /** Silence the caller puts between parts; counted against maxUploadMs (default 0). Not in the brief. */
  joinSilenceSamples?: number;
}

/**
 * Groups consecutive speech stretches (sorted, non-overlapping, sample positions) into uploads
 * of at most maxUploadMs each, cutting only between stretches, so each upload is one request.
 */
export function planUploads(utterances: ReadonlyArray<UploadPart>, o: UploadPlanOptions): Upload[] {
  const max = Math.floor((o.maxUploadMs * o.sampleRate) / 1000);
  const maxGap = Math.round(((o.maxGapMs ?? 0) * o.sampleRate) / 1000);
  const join = o.joinSilenceSamples ?? 0;
  const uploads: Upload[] = [];
  let current: Upload | undefined;
  let used = 0;
  let prevEnd = -Infinity;
  for (const u of utterances) {
    if (!(u.end > u.start) || u.start < prevEnd) throw new RangeError(`planUploads: stretch [${u.start}, ${u.end}) is empty, unsorted or overlapping`);
    if (u.end - u.start > max) throw new RangeError(`planUploads: stretch [${u.start}, ${u.end}) is longer than maxUploadMs`);
    prevEnd = u.end;
    const last = current?.parts[current.parts.length - 1];
    if (current && last && u.start - last.end <= maxGap && used + u.end - last.end <= max) {
      used += u.end - last.end; // a short gap: the part grows to take the gap and the stretch
      last.end = u.end;
    } else if (current && used + join + u.end - u.start <= max) {
      used += join + u.end - u.start;
      current.parts.push({ start: u.start, end: u.end });
    } else {
      current = { start: u.start, end: u.end, parts: [{ start: u.start, end: u.end }] };
      uploads.push(current);
      used = u.end - u.start;
    }
    current.end = u.end;
  }
  return uploads;
}

/**
 * Maps a time in the concatenated upload (parts joined by `joinSilenceSamples` of silence) back
 * to the call timeline, in seconds. Times inside a join silence or past the end map to the end
 * of the part before (the transcript has nothing there); times before 0 to the first start.
 */
export function mapTime(upload: Upload, tInUploadSeconds: number, sampleRate: number, joinSilenceSamples: number): number {
  const u = tInUploadSeconds * sampleRate;
  if (u < 0) return upload.start / sampleRate;
  let at = 0;
  for (const part of upload.parts) {
    const length = part.end - part.start;
    if (u <= at + length) return (part.start + u - at) / sampleRate;
    at += length + joinSilenceSamples;
    // Float noise in t · rate must not push the first instant of a part into the join before it.
    if (u < at - 1e-6) return part.end / sampleRate;
  }
  return upload.end / sampleRate;
}
