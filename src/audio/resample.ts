/**
 * Streaming sample-rate conversion over the SpeexDSP resampler (wasm build, one module shared by
 * every stream). Chosen in performance-facts.md §2: at quality 5 it is flat to 3.4 kHz, rejects
 * images by > 100 dB, and chunked output equals whole-buffer output to the last bit.
 *
 * Timing contract: output sample m sits at time m / outRate, exactly like input sample n sits at
 * n / inRate (zero lag: `skip_zeros` at start removes the filter delay, `flush()` feeds the delay's
 * worth of zeros back). A stream of N input samples yields exactly ceil(N * outRate / inRate)
 * output samples: every output instant inside the input's duration, i.e. exactly 2N for 8k -> 16k.
 */
import SpeexResamplerInit from '@echogarden/speex-resampler-wasm/simd';
import type { SpeexResamplerModule } from '@echogarden/speex-resampler-wasm/simd';

/** Input samples copied into wasm per `process_int` call; bounds the per-instance scratch. */
const IN_CHUNK = 512;
/** A JS output buffer larger than this is handed to the caller and not kept (caps idle memory). */
const RETAIN_MAX_SAMPLES = 8192;
/** Bytes before the sample scratch: in-length and out-length, both uint32 in/out parameters. */
const LEN_BYTES = 8;

const SPEEX_ERRORS = ['success', 'allocation failed', 'bad state', 'invalid argument',
  'input and output buffers overlap', 'overflow'];

let wasm: SpeexResamplerModule | undefined;
let loading: Promise<void> | undefined;

/** Loads the wasm module once; concurrent and repeated calls share the same promise. */
export function initResampler(): Promise<void> {
  loading ??= SpeexResamplerInit().then(
    (module) => {
      wasm = module;
    },
    (err: unknown) => {
      loading = undefined; // let a later call retry instead of caching the failure forever
      throw new Error('initResampler: could not load the SpeexDSP wasm module', { cause: err });
    },
  );
  return loading;
}

function loadedModule(): SpeexResamplerModule {
  if (!wasm) {
    throw new Error('StreamResampler: the wasm module is not loaded; await initResampler() first');
  }
  return wasm;
}

function speexError(op: string, code: number): Error {
  return new Error(`StreamResampler: ${op} failed: ${SPEEX_ERRORS[code] ?? `error ${code}`}`);
}

/** ceil(n * outRate / inRate) in exact integer arithmetic (safe far beyond a day of audio). */
function outputLength(n: number, inRate: number, outRate: number): number {
  return Math.floor((n * outRate + inRate - 1) / inRate);
}

function checkArgs(inRate: number, outRate: number, quality: number): void {
  for (const [name, rate] of [['inRate', inRate], ['outRate', outRate]] as const) {
    if (!Number.isInteger(rate) || rate <= 0 || rate > 1_000_000) {
      throw new RangeError(`StreamResampler: ${name} must be a positive integer Hz, got ${rate}`);
    }
  }
  if (!Number.isInteger(quality) || quality < 0 || quality > 10) {
    throw new RangeError(`StreamResampler: quality must be an integer 0..10, got ${quality}`);
  }
}

interface WasmHandles {
  state: number;
  block: number;
}

// Safety net only: a StreamResampler that is garbage-collected without destroy() would otherwise
// leak its wasm state for the life of the process, and the shared wasm heap never shrinks.
const leakGuard = new FinalizationRegistry<WasmHandles>((h) => {
  wasm?._speex_resampler_destroy(h.state);
  wasm?._free(h.block);
});

/** One resampler per track. Single channel, Int16 in and out. */
export class StreamResampler {
  readonly inRate: number;
  readonly outRate: number;
  readonly quality: number;
  readonly #module: SpeexResamplerModule;
  readonly #handles: WasmHandles;
  readonly #outCapacity: number;
  readonly #latency: number;
  #out: Int16Array;
  #inTotal = 0;
  #outTotal = 0;
  #flushed = false;
  #destroyed = false;

  constructor(inRate: number, outRate: number, quality = 5) {
    checkArgs(inRate, outRate, quality);
    const m = loadedModule();
    this.inRate = inRate;
    this.outRate = outRate;
    this.quality = quality;
    this.#module = m;
    this.#outCapacity = outputLength(IN_CHUNK, inRate, outRate) + 8;
    const block = m._malloc(LEN_BYTES + 2 * (IN_CHUNK + this.#outCapacity));
    if (block === 0) throw speexError('scratch allocation', 1);
    const state = m._speex_resampler_init(1, inRate, outRate, quality, block);
    const err = m.HEAP32[block >> 2] ?? 0;
    if (state === 0 || err !== 0) {
      m._free(block);
      throw speexError('init', err || 1);
    }
    m._speex_resampler_skip_zeros(state);
    this.#latency = m._speex_resampler_get_input_latency(state);
    this.#handles = { state, block };
    this.#out = new Int16Array(this.#outCapacity);
    leakGuard.register(this, this.#handles, this);
  }

  /**
   * Resamples the next piece of the stream. The result is a view into a buffer reused by the next
   * process()/flush() call: copy it (or write it out) before calling again.
   */
  process(input: Int16Array): Int16Array {
    this.#assertUsable('process');
    if (this.#flushed) throw new Error('StreamResampler: process() after flush() ended the stream');
    this.#inTotal += input.length;
    this.#reserve(outputLength(input.length, this.inRate, this.outRate) + 2);
    const produced = this.#pump(input, input.length, 0);
    this.#outTotal += produced;
    return this.#hand(produced);
  }

  /**
   * Ends the stream: drains the filter delay with zeros and trims or pads so that the total
   * output is exactly ceil(N * outRate / inRate). Later calls return an empty array.
   */
  flush(): Int16Array {
    this.#assertUsable('flush');
    if (this.#flushed) return new Int16Array(0);
    this.#flushed = true;
    const missing = outputLength(this.#inTotal, this.inRate, this.outRate) - this.#outTotal;
    if (missing <= 0) return new Int16Array(0);
    this.#reserve(missing + outputLength(this.#latency, this.inRate, this.outRate) + 2);
    let produced = this.#pump(null, this.#latency, 0);
    // The delay's worth of zeros drains everything for every ratio measured; the extra rounds
    // only guard rate pairs where speex holds back one more sample.
    for (let round = 0; produced < missing && round < 4; round++) {
      produced += this.#pump(null, IN_CHUNK, produced);
    }
    if (produced < missing) this.#out.fill(0, produced, missing);
    this.#outTotal += missing;
    return this.#hand(missing);
  }

  /** Frees the wasm state and scratch. Safe to call more than once. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    leakGuard.unregister(this);
    this.#module._speex_resampler_destroy(this.#handles.state);
    this.#module._free(this.#handles.block);
    this.#out = new Int16Array(0);
  }

  #assertUsable(op: string): void {
    if (this.#destroyed) throw new Error(`StreamResampler: ${op}() after destroy()`);
  }

  /** Makes sure the JS output buffer holds `samples` without growing inside the loop. */
  #reserve(samples: number): void {
    if (this.#out.length < samples) this.#out = new Int16Array(samples);
  }

  /** Returns the first `n` output samples; a large buffer goes to the caller and is not kept. */
  #hand(n: number): Int16Array {
    const view = this.#out.subarray(0, n);
    if (this.#out.length > RETAIN_MAX_SAMPLES) this.#out = new Int16Array(this.#outCapacity);
    return view;
  }

  /**
   * Feeds `length` samples of `input` (zeros when null) through the wasm scratch in IN_CHUNK
   * pieces, appending output to this.#out at `outOffset`. Returns the number of samples written.
   */
  #pump(input: Int16Array | null, length: number, outOffset: number): number {
    const m = this.#module;
    const { state, block } = this.#handles;
    const inPtr = block + LEN_BYTES;
    const outPtr = inPtr + 2 * IN_CHUNK;
    // process_int never allocates, so the heap cannot grow (and replace the views) inside the loop.
    const heap16 = m.HEAP16;
    const heapU32 = m.HEAPU32;
    let consumed = 0;
    let written = 0;
    while (consumed < length) {
      const chunk = Math.min(IN_CHUNK, length - consumed);
      if (input) heap16.set(input.subarray(consumed, consumed + chunk), inPtr >> 1);
      else heap16.fill(0, inPtr >> 1, (inPtr >> 1) + chunk);
      heapU32[block >> 2] = chunk;
      heapU32[(block >> 2) + 1] = this.#outCapacity;
      const err = m._speex_resampler_process_int(state, 0, inPtr, block, outPtr, block + 4);
      if (err !== 0) throw speexError('process', err);
      const used = heapU32[block >> 2] ?? 0;
      const made = heapU32[(block >> 2) + 1] ?? 0;
      if (used === 0 && made === 0) throw speexError('process (no progress)', 2);
      this.#ensure(outOffset + written + made);
      this.#out.set(heap16.subarray(outPtr >> 1, (outPtr >> 1) + made), outOffset + written);
      written += made;
      consumed += used;
    }
    return written;
  }

  /** Grows the output buffer keeping its contents; only reached if an estimate was short. */
  #ensure(samples: number): void {
    if (this.#out.length >= samples) return;
    const bigger = new Int16Array(Math.max(samples, 2 * this.#out.length));
    bigger.set(this.#out);
    this.#out = bigger;
  }
}

/** Whole-buffer conversion with the same timing contract as a StreamResampler stream. */
export function resampleAll(
  input: Int16Array, inRate: number, outRate: number, quality = 5,
): Int16Array {
  const resampler = new StreamResampler(inRate, outRate, quality);
  try {
    const result = new Int16Array(outputLength(input.length, inRate, outRate));
    const body = resampler.process(input);
    result.set(body); // copy before flush() reuses the buffer
    result.set(resampler.flush(), body.length);
    return result;
  } finally {
    resampler.destroy();
  }
}
