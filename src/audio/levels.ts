/**
 * Running signal level of a PCM16 track: RMS (linear, 1.0 = full scale) and a clip count.
 *
 * Squares of int16 samples are integers below 2^30, so a float64 sum of up to 2^23 of them is
 * exact. Each add() sums exact blocks of that size and folds them into the total with Neumaier
 * compensation, which keeps the running total accurate to ~1e-16 relative even for calls many
 * hours long (a plain float sum would pass 2^53 after ~2.3 hours at 8 kHz full scale).
 */

const FULL_SCALE = 32768;
/** 2^23 squares of at most 2^30 each: the largest block whose float64 sum stays exact. */
const EXACT_BLOCK = 1 << 23;

export class LevelMeter {
  #samples = 0;
  #sum = 0;
  #compensation = 0;
  #clipped = 0;

  /** Number of samples added so far. */
  get samples(): number {
    return this.#samples;
  }

  /** Samples at or beyond full scale (|x| >= 32767), where the source likely clipped. */
  get clipped(): number {
    return this.#clipped;
  }

  /** Adds `samples[offset, offset + length)`; by default everything from `offset` on. Returns the
   *  sum of their squares (exact up to 2^23 samples), so a caller needing the block's own level
   *  does not loop over it again. */
  add(samples: Int16Array, offset = 0, length = samples.length - offset): number {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0
      || offset + length > samples.length) {
      throw new RangeError(
        `LevelMeter.add: range [${offset}, ${offset + length}) outside ${samples.length} samples`,
      );
    }
    let squares = 0;
    for (let start = offset; start < offset + length; start += EXACT_BLOCK) {
      squares += this.#addBlock(samples, start, Math.min(start + EXACT_BLOCK, offset + length));
    }
    this.#samples += length;
    return squares;
  }

  /** Adds `count` samples of digital silence: the same state as add() of that many zeros, whose
   *  blocks leave the sum and its compensation exactly as they are. */
  addZeros(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`LevelMeter.addZeros: bad count ${count}`);
    this.#samples += count;
  }

  /** Root mean square as a fraction of full scale (0..1); 0 before any sample. */
  rms(): number {
    if (this.#samples === 0) return 0;
    return Math.sqrt((this.#sum + this.#compensation) / this.#samples) / FULL_SCALE;
  }

  #addBlock(samples: Int16Array, start: number, end: number): number {
    let block = 0;
    let clipped = 0;
    for (let i = start; i < end; i++) {
      const x = samples[i]!;
      block += x * x;
      if (x >= 32767 || x <= -32767) clipped++;
    }
    this.#clipped += clipped;
    // Neumaier's variant of Kahan summation: also right when the block outweighs the total.
    const total = this.#sum + block;
    if (Math.abs(this.#sum) >= Math.abs(block)) this.#compensation += this.#sum - total + block;
    else this.#compensation += block - total + this.#sum;
    this.#sum = total;
    return block;
  }
}
