import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32, planSends, type Impairments } from '../../src/cli/simulator/impairments.js';

const N = 10_000;
const counts = { inbound: N, outbound: N };

describe('impairments', () => {
  it('mulberry32 is deterministic and uniform enough', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    assert.notEqual(mulberry32(43)(), mulberry32(42)());
  });

  it('without impairments interleaves both tracks per tick, inbound first', () => {
    const plan = planSends({ inbound: 3, outbound: 3 }, 20);
    assert.deepEqual(plan.lost, []);
    assert.deepEqual(plan.sends.map((s) => [s.track, s.index, s.sendAtMs, s.duplicate]), [
      ['inbound', 0, 0, false], ['outbound', 0, 0, false],
      ['inbound', 1, 20, false], ['outbound', 1, 20, false],
      ['inbound', 2, 40, false], ['outbound', 2, 40, false],
    ]);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const imp: Impairments = { lossRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05, jitterMs: 30, lateRate: 0.02, seed: 7 };
    assert.deepEqual(planSends(counts, 20, imp), planSends(counts, 20, imp));
    assert.notDeepEqual(planSends(counts, 20, imp), planSends(counts, 20, { ...imp, seed: 8 }));
  });

  it('keeps the lost frames the same when other impairments change', () => {
    const lost = planSends(counts, 20, { lossRate: 0.02, seed: 3 }).lost;
    assert.deepEqual(planSends(counts, 20, { lossRate: 0.02, jitterMs: 40, lateRate: 0.1, duplicateRate: 0.1, seed: 3 }).lost, lost);
  });

  it('loses, duplicates, reorders and delays at about the configured rates', () => {
    const imp = { lossRate: 0.02, duplicateRate: 0.01, reorderRate: 0.03, lateRate: 0.01, lateMs: 500, seed: 11 };
    const plan = planSends(counts, 20, imp);
    const total = 2 * N;
    const near = (got: number, rate: number, of: number, what: string) => {
      // 5 standard deviations of a binomial: fails by chance about once in 3 million runs.
      const sd = Math.sqrt(of * rate * (1 - rate));
      assert.ok(Math.abs(got - of * rate) < 5 * sd + 1, `${what}: ${got} vs ${of * rate}`);
    };
    near(plan.lost.length, imp.lossRate, total, 'lost');
    const kept = total - plan.lost.length;
    near(plan.sends.filter((s) => s.duplicate).length, imp.duplicateRate, kept, 'duplicated');
    const originals = plan.sends.filter((s) => !s.duplicate);
    assert.equal(originals.length, kept);
    near(originals.filter((s) => s.sendAtMs >= s.index * 20 + 500).length, imp.lateRate, kept, 'late');
    // Measured without loss so every swap partner is the adjacent index.
    const reordered = planSends(counts, 20, { reorderRate: imp.reorderRate, seed: 11 });
    // A swapped pair: frame i is sent in frame i+1's slot and vice versa.
    const swapped = reordered.sends.filter((s) => s.sendAtMs === (s.index + 1) * 20).length;
    // Each swap consumes two frames but only one draw, hence rate / (1 + rate) per frame.
    near(swapped, imp.reorderRate / (1 + imp.reorderRate), total, 'reordered');
  });

  it('puts a duplicate right behind its original', () => {
    const plan = planSends({ inbound: 500, outbound: 500 }, 20, { duplicateRate: 0.2, seed: 5 });
    plan.sends.forEach((s, i) => {
      if (!s.duplicate) return;
      const prev = plan.sends[i - 1];
      assert.deepEqual(prev && { ...prev, duplicate: true }, s);
    });
  });

  it('swaps a reordered frame with the next frame of the same track only', () => {
    const plan = planSends({ inbound: 2000, outbound: 2000 }, 20, { reorderRate: 0.1, seed: 9 });
    for (const track of ['inbound', 'outbound'] as const) {
      const order = plan.sends.filter((s) => s.track === track).map((s) => s.index);
      assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 2000 }, (_, i) => i));
      order.forEach((idx, pos) => assert.ok(Math.abs(idx - pos) <= 1, `${track} frame ${idx} at ${pos}`));
    }
  });

  it('jitter delays every send by 0..jitterMs and keeps the plan sorted', () => {
    const plan = planSends(counts, 20, { jitterMs: 40, seed: 2 });
    const delays = plan.sends.map((s) => s.sendAtMs - s.index * 20);
    assert.ok(delays.every((d) => d >= 0 && d < 40));
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    assert.ok(Math.abs(mean - 20) < 1, `mean jitter ${mean}`);
    for (let i = 1; i < plan.sends.length; i++) {
      assert.ok((plan.sends[i]?.sendAtMs ?? 0) >= (plan.sends[i - 1]?.sendAtMs ?? 0));
    }
  });
});
