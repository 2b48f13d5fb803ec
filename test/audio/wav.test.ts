import { test } from 'node:test';
import assert from 'node:assert/strict';
import wavefile from 'wavefile';
import {
  WAV_HEADER_BYTES, WavError, interleave, parseWav, pcm16Samples, wavHeader,
} from '../../src/audio/wav.js';
import type { WavErrorCode } from '../../src/audio/wav.js';
import { bytesOf } from './helpers.js';

const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234, -4321, 7]);

function wavFile(sampleRate: number, channels: number, pcm: Int16Array): Buffer {
  return Buffer.concat([wavHeader({ sampleRate, channels }, pcm.byteLength), bytesOf(pcm)]);
}

function assertWavError(buf: Buffer, code: WavErrorCode): void {
  assert.throws(() => parseWav(buf), (err: unknown) => {
    assert.ok(err instanceof WavError, `expected WavError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, new RegExp(code));
    return true;
  });
}

/** A RIFF/WAVE file built chunk by chunk, for the cases wavHeader never writes. */
function riff(chunks: [string, Buffer][]): Buffer {
  const body = chunks.map(([id, data]) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(data.length, 4);
    return Buffer.concat([head, data, Buffer.alloc(data.length & 1)]);
  });
  const head = Buffer.from('RIFF\0\0\0\0WAVE', 'latin1');
  const out = Buffer.concat([head, ...body]);
  out.writeUInt32LE(out.length - 8, 4);
  return out;
}

function fmt(tag: number, channels: number, rate: number, bits: number): Buffer {
  const b = Buffer.alloc(16);
  const align = (channels * bits) / 8;
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE(rate * align, 8);
  b.writeUInt16LE(align, 12);
  b.writeUInt16LE(bits, 14);
  return b;
}

test('wavHeader writes the canonical 44-byte PCM16 header', () => {
  const h = wavHeader({ sampleRate: 16000, channels: 2 }, 6400);
  assert.equal(h.length, WAV_HEADER_BYTES);
  assert.equal(h.toString('latin1', 0, 4), 'RIFF');
  assert.equal(h.readUInt32LE(4), 36 + 6400);
  assert.equal(h.toString('latin1', 8, 16), 'WAVEfmt ');
  assert.deepEqual([h.readUInt32LE(16), h.readUInt16LE(20), h.readUInt16LE(22)], [16, 1, 2]);
  assert.deepEqual([h.readUInt32LE(24), h.readUInt32LE(28), h.readUInt16LE(32), h.readUInt16LE(34)],
    [16000, 64000, 4, 16]);
  assert.equal(h.toString('latin1', 36, 40), 'data');
  assert.equal(h.readUInt32LE(40), 6400);
});

test('header round trip: parseWav reads back what wavHeader wrote, samples included', () => {
  for (const [rate, channels] of [[8000, 1], [16000, 1], [8000, 2]] as const) {
    const file = wavFile(rate, channels, samples);
    const parsed = parseWav(file);
    assert.deepEqual(parsed, {
      format: { sampleRate: rate, channels }, dataOffset: 44, dataBytes: 16, truncated: false,
    });
    assert.deepEqual(pcm16Samples(file, parsed.dataOffset, parsed.dataBytes), samples);
  }
});

test('wavefile reads what wavHeader writes', () => {
  const file = wavFile(8000, 2, samples);
  const wav = new wavefile.WaveFile(file);
  const f = wav.fmt as Record<string, unknown>;
  assert.deepEqual(
    [f.audioFormat, f.numChannels, f.sampleRate, f.byteRate, f.blockAlign, f.bitsPerSample],
    [1, 2, 8000, 32000, 4, 16],
  );
  assert.equal(wav.bitDepth, '16');
  assert.deepEqual(Array.from(wav.getSamples(true)), Array.from(samples));
});

test('crash case: zero sizes with data after the header give the data actually present', () => {
  const file = wavFile(8000, 1, samples);
  file.writeUInt32LE(0, 4);
  file.writeUInt32LE(0, 40);
  const parsed = parseWav(file);
  assert.equal(parsed.truncated, true);
  assert.equal(parsed.dataBytes, samples.byteLength);
  assert.deepEqual(pcm16Samples(file, parsed.dataOffset, parsed.dataBytes), samples);
});

test('crash case: a data size past the end is clamped to whole frames present', () => {
  const stereo = wavFile(8000, 2, samples);
  stereo.writeUInt32LE(0xffffffff, 40);
  const cut = stereo.subarray(0, stereo.length - 3); // last frame only partly written
  const parsed = parseWav(cut);
  assert.equal(parsed.truncated, true);
  assert.equal(parsed.dataBytes, samples.byteLength - 4);
});

test('an odd trailing byte is ignored', () => {
  const file = Buffer.concat([wavFile(8000, 1, samples), Buffer.from([0x55])]);
  file.writeUInt32LE(0, 40);
  const parsed = parseWav(file);
  assert.equal(parsed.dataBytes, samples.byteLength);
  assert.equal(parsed.truncated, true);
  assert.deepEqual(pcm16Samples(file, parsed.dataOffset, parsed.dataBytes + 1), samples);
});

test('a complete file with an empty data chunk is not reported as truncated', () => {
  const parsed = parseWav(wavHeader({ sampleRate: 8000, channels: 1 }, 0));
  assert.deepEqual([parsed.dataBytes, parsed.truncated], [0, false]);
});

test('chunks before data (LIST, odd-sized, extensible fmt) are walked over', () => {
  const ext = Buffer.alloc(40);
  fmt(0xfffe, 1, 8000, 16).copy(ext);
  ext.writeUInt16LE(22, 16);
  ext.writeUInt16LE(1, 40 - 16); // sub-format GUID starts with the PCM tag
  const file = riff([['LIST', Buffer.from('INFOx')], ['fmt ', ext], ['fact', Buffer.alloc(4)],
    ['data', bytesOf(samples)]]);
  const parsed = parseWav(file);
  assert.deepEqual(parsed.format, { sampleRate: 8000, channels: 1 });
  assert.equal(parsed.truncated, false);
  // LIST has an odd size: a walk that forgot the pad byte would miss every later chunk.
  assert.deepEqual(pcm16Samples(file, parsed.dataOffset, parsed.dataBytes), samples);
});

test('pcm16Samples copies when the data is not 2-byte aligned', () => {
  const file = Buffer.concat([Buffer.alloc(1), wavFile(8000, 1, samples)]).subarray(1);
  assert.equal(file.byteOffset % 2, 1);
  const parsed = parseWav(file);
  assert.deepEqual(pcm16Samples(file, parsed.dataOffset, parsed.dataBytes), samples);
  assert.throws(() => pcm16Samples(file, 40, 100), RangeError);
});

test('rejects what is not 16-bit PCM WAV with a WavError code', () => {
  const pcm = bytesOf(samples);
  assertWavError(Buffer.from('RIFF'), 'too_short');
  assertWavError(Buffer.concat([Buffer.from('RIFX'), wavFile(8000, 1, samples).subarray(4)]), 'not_riff');
  assertWavError(Buffer.from('RIFF\0\0\0\0AVI LIST\0\0\0\0', 'latin1'), 'not_wave');
  assertWavError(riff([['fmt ', fmt(3, 1, 8000, 32)], ['data', pcm]]), 'not_pcm');
  assertWavError(riff([['fmt ', fmt(1, 1, 8000, 8)], ['data', pcm]]), 'unsupported_bits');
  assertWavError(riff([['fmt ', fmt(1, 1, 8000, 24)], ['data', pcm]]), 'unsupported_bits');
  assertWavError(riff([['data', pcm], ['fmt ', fmt(1, 1, 8000, 16)]]), 'no_fmt');
  assertWavError(riff([['fmt ', fmt(1, 1, 8000, 16)]]), 'no_data');
  assertWavError(riff([['fmt ', Buffer.alloc(12)], ['data', pcm]]), 'bad_fmt');
});

test('wavHeader rejects impossible formats and sizes', () => {
  assert.throws(() => wavHeader({ sampleRate: 0, channels: 1 }, 0), RangeError);
  assert.throws(() => wavHeader({ sampleRate: 8000, channels: 0 }, 0), RangeError);
  assert.throws(() => wavHeader({ sampleRate: 8000, channels: 2 }, 6), RangeError);
  assert.throws(() => wavHeader({ sampleRate: 8000, channels: 1 }, 2 ** 32), RangeError);
});

test('interleave puts left then right in each frame, padding the shorter track', () => {
  const l = Int16Array.from([1, 2, 3]);
  const r = Int16Array.from([-1, -2]);
  assert.deepEqual(Array.from(interleave(l, r)), [1, -1, 2, -2, 3, 0]);
  const reused = new Int16Array(10).fill(9);
  const view = interleave(r, l, reused);
  assert.deepEqual(Array.from(view), [-1, 1, -2, 2, 0, 3]);
  assert.equal(view.buffer, reused.buffer);
  assert.deepEqual(Array.from(reused.subarray(6)), [9, 9, 9, 9]);
  assert.throws(() => interleave(l, r, new Int16Array(5)), RangeError);
});
