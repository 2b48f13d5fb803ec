import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { JitterBuffer } from '../../src/capture/jitter-buffer.js';

const frame = (value: number, n = 160) => new Uint8Array(n).fill(value);

function commitAll(jb: JitterBuffer, to: number) {
  const out = new Int16Array(jb.capacity);
  const gaps: Array<[number, number]> = [];
  const n = jb.commit(to, out, (s, e) => gaps.push([s, e]));
  return { pcm: out.subarray(0, n), gaps };
}

test('frames land by position whatever the arrival order', () => {
  const jb = new JitterBuffer(2000);
  assert.equal(jb.place(160, frame(0x20)).outcome, 'placed');
  assert.equal(jb.place(0, frame(0x10)).outcome, 'reordered');
  const { pcm, gaps } = commitAll(jb, 320);
  assert.deepEqual(gaps, []);
  assert.equal(pcm[0], MULAW_TO_PCM16[0x10]);
  assert.equal(pcm[159], MULAW_TO_PCM16[0x10]);
  assert.equal(pcm[160], MULAW_TO_PCM16[0x20]);
});

test('a missing frame is a gap of exactly its length, as digital silence', () => {
  const jb = new JitterBuffer(2000);
  jb.place(0, frame(0x10));
  jb.place(320, frame(0x10, 100));
  const { pcm, gaps } = commitAll(jb, 480);
  assert.deepEqual(gaps, [[160, 320], [420, 480]]);
  assert.ok(pcm.subarray(160, 320).every((s) => s === 0));
  assert.ok(pcm.subarray(320, 420).every((s) => s === MULAW_TO_PCM16[0x10]));
});

test('duplicates are dropped and never overwrite the first copy', () => {
  const jb = new JitterBuffer(2000);
  jb.place(0, frame(0x10));
  assert.equal(jb.place(0, frame(0x55)).outcome, 'duplicate');
  const { pcm } = commitAll(jb, 160);
  assert.ok(pcm.every((s) => s === MULAW_TO_PCM16[0x10]));
});

test('a frame behind the committed point is reported, not written', () => {
  const jb = new JitterBuffer(2000);
  jb.place(160, frame(0x10));
  commitAll(jb, 320);
  const r = jb.place(0, frame(0x20));
  assert.deepEqual(r, { outcome: 'behind', behindSamples: 160 });
  const straddle = jb.place(240, frame(0x30));
  assert.equal(straddle.behindSamples, 80, 'the head of a straddling frame is behind');
  const { pcm } = commitAll(jb, 400);
  assert.ok(pcm.every((s) => s === MULAW_TO_PCM16[0x30]), 'its tail is placed');
});

test('the ring wraps: positions far into a call map correctly', () => {
  const jb = new JitterBuffer(500);
  let pos = 0;
  for (let i = 0; i < 50; i++) {
    jb.place(pos, frame(i));
    const { pcm } = commitAll(jb, pos + 160);
    assert.ok(pcm.every((s) => s === MULAW_TO_PCM16[i]), `frame ${i}`);
    pos += 160;
  }
  assert.throws(() => jb.place(pos + 400, frame(1)), /commit first/);
});
