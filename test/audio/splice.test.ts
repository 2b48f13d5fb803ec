import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeRuns, intersect, normalize, planSegments, silentRuns, subtract, total, verdictOf } from '../../src/audio/splice.js';

const iv = (start: number, end: number) => ({ start, end });

test('interval arithmetic', () => {
  assert.deepEqual(normalize([iv(5, 8), iv(0, 2), iv(1, 3), iv(8, 9), iv(4, 4)]), [iv(0, 3), iv(5, 9)]);
  assert.deepEqual(subtract([iv(0, 10)], [iv(2, 3), iv(5, 7), iv(9, 12)]), [iv(0, 2), iv(3, 5), iv(7, 9)]);
  assert.deepEqual(intersect([iv(0, 4), iv(6, 10)], [iv(3, 7), iv(9, 20)]), [iv(3, 4), iv(6, 7), iv(9, 10)]);
  assert.equal(total([iv(0, 4), iv(6, 10)]), 8);
});

test('local where complete, cloud in its gaps, nothing where neither has audio; seams exact', () => {
  const segs = planSegments(100, subtract([iv(0, 90)], [iv(20, 30), iv(50, 60)]), [iv(10, 55)]);
  assert.deepEqual(segs, [
    { start: 0, end: 20, source: 'local' },
    { start: 20, end: 30, source: 'cloud' },
    { start: 30, end: 50, source: 'local' },
    { start: 50, end: 55, source: 'cloud' },
    { start: 55, end: 60, source: 'none' },
    { start: 60, end: 90, source: 'local' },
    { start: 90, end: 100, source: 'none' },
  ]);
  let at = 0;
  for (const s of segs) {
    assert.equal(s.start, at, 'no overlap, no hole');
    at = s.end;
  }
  assert.equal(at, 100);
});

test('verdicts', () => {
  const all = [iv(0, 100)];
  assert.equal(verdictOf([{ segments: planSegments(100, all, all), localGaps: [] }]), 'match');
  const gap = [iv(20, 30)];
  assert.equal(verdictOf([{ segments: planSegments(100, subtract(all, gap), all), localGaps: gap }]), 'repaired');
  assert.equal(verdictOf([{ segments: planSegments(100, subtract(all, gap), [iv(0, 25)]), localGaps: gap }]), 'partial');
});

test('digital silence and activity from an envelope', () => {
  const env = Float32Array.from([0, 0, 0, 0.5, 0, 0, 0.2, 0.2, 0]);
  assert.deepEqual(silentRuns(env, 80, 2), [iv(0, 240), iv(320, 480)]);
  assert.deepEqual(activeRuns(env, 80, 0.1), [iv(240, 320), iv(480, 640)]);
});
