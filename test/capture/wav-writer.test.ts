import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { WavFileWriter } from '../../src/capture/wav-writer.js';
import { tempDir } from '../helpers/gateway.js';
import { readWav as readSamples } from '../helpers/wav.js';

test('valid at every moment: empty, mid-call after a flush, and after close', async () => {
  const file = path.join(tempDir(), 'a.wav');
  const w = new WavFileWriter(file, { sampleRate: 8000, channels: 1 }, 0.5);
  assert.equal(readSamples(file).samples.length, 0, 'a fresh file is a valid empty WAV');
  const block = Int16Array.from({ length: 3000 }, (_, i) => i - 1500);
  w.write(block);
  w.write(block);
  assert.equal(readSamples(file).samples.length, 4000, 'the buffer filled at 0.5 s and was flushed with its header');
  w.flush();
  const mid = readSamples(file);
  assert.equal(mid.samples.length, 6000);
  assert.deepEqual([...mid.samples.subarray(3000, 3010)], [...block.subarray(0, 10)]);
  w.writeSilence(100);
  await w.close();
  await w.close();
  const done = readSamples(file);
  assert.equal(done.samples.length, 6100);
  assert.ok(done.samples.subarray(6000).every((s) => s === 0));
  assert.equal(w.frames, 6100);
});

test('stereo interleaves left and right frame by frame', async () => {
  const file = path.join(tempDir(), 's.wav');
  const w = new WavFileWriter(file, { sampleRate: 8000, channels: 2 }, 0.01);
  const left = Int16Array.from({ length: 1000 }, (_, i) => i);
  const right = Int16Array.from({ length: 1000 }, (_, i) => -i - 1);
  w.writeStereo(left, right, 1000);
  await w.close();
  const { channels, samples } = readSamples(file);
  assert.equal(channels, 2);
  for (let i = 0; i < 1000; i++) {
    assert.equal(samples[2 * i], i);
    assert.equal(samples[2 * i + 1], -i - 1);
  }
});

test('flushIfOlder writes a quiet stream after its age limit only', () => {
  const file = path.join(tempDir(), 'q.wav');
  const w = new WavFileWriter(file, { sampleRate: 16000, channels: 1 }, 0.5);
  w.flush(1000);
  w.write(new Int16Array(10).fill(7));
  w.flushIfOlder(500, 1200);
  assert.equal(readSamples(file).samples.length, 0);
  w.flushIfOlder(500, 1500);
  assert.equal(readSamples(file).samples.length, 10);
});
