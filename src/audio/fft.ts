// In-place radix-2 FFT for cross-correlation (audio/correlate.ts): plans are cached per size.

interface FftPlan { cos: Float64Array; sin: Float64Array; rev: Uint32Array }
const plans = new Map<number, FftPlan>();

function planFor(n: number): FftPlan {
  let plan = plans.get(n);
  if (!plan) {
    const bits = Math.log2(n);
    plan = { cos: new Float64Array(n / 2), sin: new Float64Array(n / 2), rev: new Uint32Array(n) };
    for (let k = 0; k < n / 2; k++) {
      plan.cos[k] = Math.cos((2 * Math.PI * k) / n);
      plan.sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let bit = 0; bit < bits; bit++) r |= ((i >> bit) & 1) << (bits - 1 - bit);
      plan.rev[i] = r;
    }
    plans.set(n, plan);
  }
  return plan;
}

/** In-place iterative radix-2 forward DFT (e^−iωt), n a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  const { cos, sin, rev } = planFor(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i]!;
    if (j > i) {
      const tr = re[i]!, ti = im[i]!;
      re[i] = re[j]!; im[i] = im[j]!;
      re[j] = tr; im[j] = ti;
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let j = 0; j < half; j++) {
        const wr = cos[j * step]!, wi = -sin[j * step]!;
        const p = start + j, q = p + half;
        const tr = re[q]! * wr - im[q]! * wi;
        const ti = re[q]! * wi + im[q]! * wr;
        re[q] = re[p]! - tr; im[q] = im[p]! - ti;
        re[p]! += tr; im[p]! += ti;
      }
    }
  }
}

/** Inverse DFT through the forward one: conj(FFT(conj(X))) / n. */
export function inverseFft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 0; i < n; i++) im[i] = -im[i]!;
  fft(re, im);
  for (let i = 0; i < n; i++) {
    re[i] = re[i]! / n;
    im[i] = -im[i]! / n;
  }
}
