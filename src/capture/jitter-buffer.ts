// Places one track's frames by timestamp. Audio stays in a ring for the jitter window, so a frame
// that arrives late or out of order still lands in its place; then it is committed as PCM16, and
// whatever never arrived becomes digital silence of exactly its length. Positions are absolute
// sample indexes on Twilio's clock (timestamp ms × 8).
//
// Frames are decoded from mu-law as they are placed (the ring holds PCM16), so a commit is a view
// of the ring, or one copy where the ring wraps, rather than a decode loop per sample. Slots are
// marked filled only between the committed point and `highestEnd` (everything placed lies there
// and a commit clears its range), so a frame beyond `highestEnd` — every frame of an in-order
// stream — is placed without looking at the flags one by one.
import { MULAW_TO_PCM16 } from '../audio/mulaw.js';

export type PlaceOutcome = 'placed' | 'reordered' | 'duplicate' | 'behind';

export interface PlaceResult {
  outcome: PlaceOutcome;
  /** samples of this frame that fell before the committed point and were not placed */
  behindSamples: number;
}

// The results with nothing behind are shared: a frame costs no allocation.
const PLACED: PlaceResult = Object.freeze({ outcome: 'placed', behindSamples: 0 });
const REORDERED: PlaceResult = Object.freeze({ outcome: 'reordered', behindSamples: 0 });
const DUPLICATE: PlaceResult = Object.freeze({ outcome: 'duplicate', behindSamples: 0 });

/** Decodes src[from, to) into dst at `at` (the caller keeps it inside dst). */
function decode(src: Uint8Array, from: number, to: number, dst: Int16Array, at: number): void {
  const table = MULAW_TO_PCM16;
  for (let k = from, i = at; k < to; k++, i++) dst[i] = table[src[k]!]!;
}

export class JitterBuffer {
  private readonly pcm: Int16Array;
  private readonly filled: Uint8Array;
  /** everything before this position has been committed */
  committed = 0;
  /** end of the furthest frame placed */
  highestEnd = 0;

  constructor(readonly capacity: number) {
    this.pcm = new Int16Array(capacity);
    this.filled = new Uint8Array(capacity);
  }

  /** The caller commits first so that pos + bytes.length <= committed + capacity. */
  place(pos: number, bytes: Uint8Array): PlaceResult {
    const end = pos + bytes.length;
    if (end > this.committed + this.capacity) throw new RangeError('frame beyond the jitter ring: commit first');
    if (end <= this.committed) return { outcome: 'behind', behindSamples: bytes.length };
    const from = Math.max(pos, this.committed);
    // [from, mid) may overlap frames already placed: slot by slot. [mid, end) is all free.
    const mid = Math.min(end, Math.max(from, this.highestEnd));
    let fresh = 0;
    const cap = this.capacity;
    for (let p = from, i = from % cap; p < mid; p++, i = i + 1 === cap ? 0 : i + 1) {
      if (this.filled[i] === 1) continue;
      this.filled[i] = 1;
      this.pcm[i] = MULAW_TO_PCM16[bytes[p - pos]!]!;
      fresh++;
    }
    if (mid < end) {
      const i = mid % cap;
      const first = Math.min(end - mid, cap - i);
      decode(bytes, mid - pos, mid - pos + first, this.pcm, i);
      this.filled.fill(1, i, i + first);
      if (first < end - mid) {
        decode(bytes, mid - pos + first, end - pos, this.pcm, 0);
        this.filled.fill(1, 0, end - mid - first);
      }
      fresh += end - mid;
    }
    const behindSamples = from - pos;
    const reordered = pos < this.highestEnd;
    if (end > this.highestEnd) this.highestEnd = end;
    if (fresh === 0) return behindSamples > 0 ? { outcome: 'behind', behindSamples } : DUPLICATE;
    if (behindSamples > 0) return { outcome: reordered ? 'reordered' : 'placed', behindSamples };
    return reordered ? REORDERED : PLACED;
  }

  /**
   * Commits [committed, to) and returns it as PCM16: a view of the ring, or of `scratch` (which
   * must hold to - committed samples) where the range wraps. Either is only valid until the next
   * place(). Runs of samples that never arrived are zero and reported to onGap as [start, end).
   */
  commitView(to: number, scratch: Int16Array, onGap: (start: number, end: number) => void): Int16Array {
    const n = to - this.committed;
    if (n <= 0) return scratch.subarray(0, 0);
    if (n > this.capacity || n > scratch.length) throw new RangeError('commit larger than the ring');
    const cap = this.capacity;
    const start = this.committed % cap;
    const first = Math.min(n, cap - start);
    let gapFrom = this.gaps(start, first, this.committed, -1, onGap);
    if (first < n) gapFrom = this.gaps(0, n - first, this.committed + first, gapFrom, onGap);
    if (gapFrom >= 0) onGap(gapFrom, to);
    this.committed = to;
    if (first === n) return this.pcm.subarray(start, start + n);
    scratch.set(this.pcm.subarray(start, cap), 0);
    scratch.set(this.pcm.subarray(0, n - first), first);
    return scratch.subarray(0, n);
  }

  /** Decodes [committed, to) into out[0 .. to-committed) and empties those slots; as commitView. */
  commit(to: number, out: Int16Array, onGap: (start: number, end: number) => void): number {
    const n = to - this.committed;
    if (n <= 0) return 0;
    const pcm = this.commitView(to, out, onGap);
    if (pcm.buffer !== out.buffer || pcm.byteOffset !== out.byteOffset) out.set(pcm, 0);
    return n;
  }

  /** Empties ring slots [i, i + n) (positions from `pos`), zeroing the audio of those never
   *  filled and reporting the runs; `gapFrom` carries an open run between the ring's two parts. */
  private gaps(i: number, n: number, pos: number, gapFrom: number, onGap: (start: number, end: number) => void): number {
    const filled = this.filled;
    const end = i + n;
    // Most blocks are complete: one pass that only looks, then memsets.
    let k = i;
    while (k < end && filled[k] === 1) k++;
    if (k === end) {
      if (gapFrom >= 0) onGap(gapFrom, pos);
      filled.fill(0, i, end);
      return -1;
    }
    if (gapFrom >= 0 && k > i) {
      onGap(gapFrom, pos);
      gapFrom = -1;
    }
    for (; k < end; k++) {
      if (filled[k] === 1) {
        if (gapFrom >= 0) {
          onGap(gapFrom, pos + (k - i));
          gapFrom = -1;
        }
      } else {
        this.pcm[k] = 0;
        if (gapFrom < 0) gapFrom = pos + (k - i);
      }
    }
    filled.fill(0, i, end);
    return gapFrom;
  }

  /** Moves the committed point over a stretch known to hold nothing (a jump in timestamps). */
  skip(to: number): void {
    if (to < this.committed) return;
    if (this.highestEnd > this.committed) throw new RangeError('skip over uncommitted audio');
    this.committed = to;
    this.highestEnd = Math.max(this.highestEnd, to);
  }
}
