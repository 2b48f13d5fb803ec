import { test } from 'node:test';
import assert from 'node:assert/strict';
import alawmulaw from 'alawmulaw';
import { MULAW_TO_PCM16, decodeMulawInto, encodeMulaw } from '../../src/audio/mulaw.js';
import { SOX_S16, int16FromLE, runSox } from './helpers.js';

const { mulaw } = alawmulaw;
const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);

test('decode table has 256 entries and matches alawmulaw for every code', () => {
  assert.equal(MULAW_TO_PCM16.length, 256);
  const reference = mulaw.decode(ALL_CODES);
  for (let code = 0; code < 256; code++) {
    assert.equal(MULAW_TO_PCM16[code], reference[code], `code 0x${code.toString(16)}`);
  }
});

test('decode table matches sox decoding for every code', () => {
  const decoded = int16FromLE(runSox(ALL_CODES, ['-t', 'ul', '-r', '8000', '-c', '1'], SOX_S16));
  assert.equal(decoded.length, 256);
  for (let code = 0; code < 256; code++) {
    assert.equal(MULAW_TO_PCM16[code], decoded[code], `code 0x${code.toString(16)}`);
  }
});

test('decode table has the G.711 landmarks', () => {
  assert.equal(MULAW_TO_PCM16[0xff], 0);
  assert.equal(MULAW_TO_PCM16[0x7f], 0);
  assert.equal(MULAW_TO_PCM16[0x80], 32124);
  assert.equal(MULAW_TO_PCM16[0x00], -32124);
  // Magnitudes grow monotonically from 0xFF down to 0x80 (positive half).
  for (let code = 0xff; code > 0x80; code--) {
    assert.ok(MULAW_TO_PCM16[code - 1]! > MULAW_TO_PCM16[code]!, `code 0x${code.toString(16)}`);
  }
});

test('decodeMulawInto writes at the offset and leaves every other sample alone', () => {
  const src = Uint8Array.from([0x00, 0x80, 0xff, 0x7f, 0x10, 0xe3]);
  const dst = new Int16Array(20).fill(12345);
  const reference = mulaw.decode(ALL_CODES); // Int16Array: its 0x7F is 0, not decodeSample's -0
  decodeMulawInto(src, dst, 7);
  for (let i = 0; i < dst.length; i++) {
    const inside = i >= 7 && i < 7 + src.length;
    const expected = inside ? reference[src[i - 7]!] : 12345;
    assert.equal(dst[i], expected, `sample ${i}`);
  }
});

test('decodeMulawInto defaults to offset 0 and accepts an exact fit', () => {
  const src = Uint8Array.from([0x00, 0x80]);
  const dst = new Int16Array(2);
  decodeMulawInto(src, dst);
  assert.deepEqual(Array.from(dst), [-32124, 32124]);
});

test('decodeMulawInto refuses to write past the end of dst', () => {
  const dst = new Int16Array(4);
  assert.throws(() => decodeMulawInto(new Uint8Array(3), dst, 2), RangeError);
  assert.throws(() => decodeMulawInto(new Uint8Array(1), dst, -1), RangeError);
  assert.deepEqual(Array.from(dst), [0, 0, 0, 0]);
});

test('encodeMulaw matches alawmulaw for all 65536 int16 inputs', () => {
  const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
  const ours = encodeMulaw(all);
  const reference = mulaw.encode(all);
  assert.equal(ours.length, 65536);
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < all.length; i++) {
    if (ours[i] !== reference[i]) {
      mismatches++;
      if (first < 0) first = i;
    }
  }
  assert.equal(mismatches, 0, `first mismatch at input ${first < 0 ? '-' : all[first]}`);
});

test('encode(decode(code)) round-trips every code (0x7F, negative zero, becomes 0xFF)', () => {
  const roundTrip = encodeMulaw(MULAW_TO_PCM16);
  for (let code = 0; code < 256; code++) {
    assert.equal(roundTrip[code], code === 0x7f ? 0xff : code, `code 0x${code.toString(16)}`);
  }
});
