// Places one track's frames by timestamp. Audio stays in a ring of raw mu-law bytes for the
// jitter window, so a frame that arrives late or out of order still lands in its place; then it
// is committed, decoded to PCM16, and whatever never arrived becomes digital silence of exactly
// its length. Positions are absolute sample indexes on Twilio's clock (timestamp ms × 8).
import { MULAW_TO_PCM16 } from '../audio/mulaw.js';

export type PlaceOutcome = 'placed' | 'reordered' | 'duplicate' | 'behind';

export interface PlaceResult {
  outcome: PlaceOutcome;
  /** samples of this frame that fell before the committed point and were not placed */
  behindSamples: number;
}

export class JitterBuffer {
  private readonly data: Uint8Array;
  private readonly filled: Uint8Array;
  /** everything before this position has been committed */
  committed = 0;
  /** end of the furthest frame placed */
  highestEnd = 0;

  constructor(readonly capacity: number) {
    this.data = new Uint8Array(capacity);
    this.filled = new Uint8Array(capacity);
  }

  /** The caller commits first so that pos + bytes.length <= committed + capacity. */
  place(pos: number, bytes: Uint8Array): PlaceResult {
    const end = pos + bytes.length;
    if (end > this.committed + this.capacity) throw new RangeError('frame beyond the jitter ring: commit first');
    if (end <= this.committed) return { outcome: 'behind', behindSamples: bytes.length };
    const from = Math.max(pos, this.committed);
    let fresh = 0;
    // One modulo per frame, not per sample: the index wraps by hand.
    for (let p = from, i = from % this.capacity; p < end; p++, i = i + 1 === this.capacity ? 0 : i + 1) {
      if (this.filled[i] === 1) continue;
      this.filled[i] = 1;
      this.data[i] = bytes[p - pos]!;
      fresh++;
    }
    const behindSamples = from - pos;
    const reordered = pos < this.highestEnd;
    this.highestEnd = Math.max(this.highestEnd, end);
    if (fresh === 0) return { outcome: behindSamples > 0 ? 'behind' : 'duplicate', behindSamples };
    return { outcome: reordered ? 'reordered' : 'placed', behindSamples };
  }

  /**
   * Decodes [committed, to) into out[0 .. to-committed) and empties those slots. Runs of
   * samples that never arrived are zero in `out` and reported to onGap as [start, end).
   */
  commit(to: number, out: Int16Array, onGap: (start: number, end: number) => void): number {
    const n = to - this.committed;
    if (n <= 0) return 0;
    if (n > this.capacity || n > out.length) throw new RangeError('commit larger than the ring');
    let gapStart = -1;
    for (let k = 0, i = this.committed % this.capacity; k < n; k++, i = i + 1 === this.capacity ? 0 : i + 1) {
      if (this.filled[i] === 1) {
        out[k] = MULAW_TO_PCM16[this.data[i]!]!;
        this.filled[i] = 0;
        if (gapStart >= 0) {
          onGap(this.committed + gapStart, this.committed + k);
          gapStart = -1;
        }
      } else {
        out[k] = 0;
        if (gapStart < 0) gapStart = k;
      }
    }
    if (gapStart >= 0) onGap(this.committed + gapStart, to);
    this.committed = to;
    return n;
  }

  /** Moves the committed point over a stretch known to hold nothing (a jump in timestamps). */
  skip(to: number): void {
    if (to < this.committed) return;
    if (this.highestEnd > this.committed) throw new RangeError('skip over uncommitted audio');
    this.committed = to;
    this.highestEnd = Math.max(this.highestEnd, to);
  }
}
