import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LevelMeter } from '../../src/audio/levels.js';

test('a new meter reads zero', () => {
  const m = new LevelMeter();
  assert.deepEqual([m.samples, m.rms(), m.clipped], [0, 0, 0]);
});

test('a full-scale square wave has rms ~1 and every sample counts as clipped', () => {
  const square = Int16Array.from({ length: 8000 }, (_, i) => (Math.floor(i / 20) % 2 ? -32768 : 32767));
  const m = new LevelMeter();
  m.add(square);
  assert.equal(m.samples, 8000);
  assert.ok(Math.abs(m.rms() - 1) < 1e-4, `rms ${m.rms()}`);
  assert.equal(m.clipped, 8000);
});

test('a sine of amplitude A has rms A/sqrt(2) of full scale', () => {
  const amplitude = 0.25 * 32768;
  const sine = Int16Array.from({ length: 8000 }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * 1001 * i) / 8000)));
  const m = new LevelMeter();
  m.add(sine);
  assert.ok(Math.abs(m.rms() - 0.25 * Math.SQRT1_2) < 1e-5, `rms ${m.rms()}`);
  assert.equal(m.clipped, 0);
});

test('add() honours offset and length, and counts only |x| >= 32767 as clipped', () => {
  const m = new LevelMeter();
  const x = Int16Array.from([32767, -32768, -32767, 32766, -32766, 100, 200]);
  m.add(x, 5); // only 100, 200
  assert.equal(m.samples, 2);
  assert.ok(Math.abs(m.rms() - Math.sqrt((100 ** 2 + 200 ** 2) / 2) / 32768) < 1e-12);
  m.add(x, 0, 5);
  assert.equal(m.samples, 7);
  assert.equal(m.clipped, 3);
  assert.throws(() => m.add(x, 6, 2), RangeError);
  assert.throws(() => m.add(x, -1), RangeError);
});

test('the running sum stays exact over two hours added frame by frame', () => {
  // Past 2^53 a plain float64 total rounds every add; odd-sized quiet frames make that error
  // show up. The expected value is computed exactly with BigInt.
  const loud = Int16Array.from({ length: 160 }, (_, i) => (i % 2 ? -32767 : 32767));
  const quiet = Int16Array.from({ length: 159 }, (_, i) => (i % 2 ? -3 : 3));
  const m = new LevelMeter();
  let exact = 0n;
  let count = 0;
  for (let f = 0; count < 8000 * 7200; f++) {
    const frame = f % 2 ? loud : quiet;
    m.add(frame);
    exact += f % 2 ? 160n * 32767n ** 2n : 159n * 9n;
    count += frame.length;
  }
  const expected = Math.sqrt(Number(exact) / count) / 32768;
  assert.equal(m.samples, count);
  assert.ok(Math.abs(m.rms() - expected) / expected < 1e-15, `rms ${m.rms()} vs ${expected}`);
});
