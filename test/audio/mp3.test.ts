// The MP3 frame parser against real files from lame: frame counts, durations (to the sample when
// a LAME tag states the encoder's delay and padding, else within one frame of what lame's own
// decoder outputs), channels and rates of MPEG-1, 2 and 2.5, ID3 tags, any chunking, and clear
// refusals of what is not an MP3.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Mp3FormatError, Mp3Scanner, parseFrameHeader, scanMp3 } from '../../src/audio/mp3.js';
import { lameMp3 } from '../fakes/elevenlabs.js';
import { encodeWav } from '../fakes/twilio-api.js';

/** How long lame's own decoder says the file is (samples per channel / rate). */
function lameDecodedSeconds(mp3: Buffer): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-mp3d-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.mp3'), mp3);
    execFileSync('lame', ['--quiet', '--decode', path.join(dir, 'a.mp3'), path.join(dir, 'a.wav')], { stdio: 'pipe' });
    return Number(execFileSync('soxi', ['-D', path.join(dir, 'a.wav')]).toString().trim());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const frameS = (rate: number) => (rate >= 32000 ? 1152 : 576) / rate;

test('frame headers: bitrate, sample rate, padding and length from the tables', () => {
  // MPEG-1 Layer III, 128 kbps, 44.1 kHz, no padding, joint stereo
  assert.deepEqual(parseFrameHeader(Buffer.from([0xff, 0xfb, 0x90, 0x44])), {
    version: '1', bitrateKbps: 128, sampleRate: 44100, padding: false, channelMode: 'joint_stereo', frameBytes: 417, samplesPerFrame: 1152,
  });
  // padded: one byte more
  assert.equal(parseFrameHeader(Buffer.from([0xff, 0xfb, 0x92, 0x44]))?.frameBytes, 418);
  // MPEG-2, 32 kbps, 16 kHz, mono: 72000 * 32 / 16000 = 144
  assert.deepEqual(parseFrameHeader(Buffer.from([0xff, 0xf3, 0x48, 0xc4])), {
    version: '2', bitrateKbps: 32, sampleRate: 16000, padding: false, channelMode: 'mono', frameBytes: 144, samplesPerFrame: 576,
  });
  // MPEG-2.5, 8 kHz, 16 kbps: 72000 * 16 / 8000 = 144
  assert.equal(parseFrameHeader(Buffer.from([0xff, 0xe3, 0x28, 0xc4]))?.sampleRate, 8000);
  // Layer II, free format, bad bitrate, reserved rate and version, no sync: none is a Layer III frame
  for (const h of [[0xff, 0xfd, 0x90, 0x44], [0xff, 0xfb, 0x00, 0x44], [0xff, 0xfb, 0xf0, 0x44], [0xff, 0xfb, 0x9c, 0x44], [0xff, 0xeb, 0x90, 0x44], [0xfe, 0xfb, 0x90, 0x44]]) {
    assert.equal(parseFrameHeader(Buffer.from(h)), null, h.map((b) => b.toString(16)).join(' '));
  }
});

test('MPEG-1 stereo with a LAME tag: the duration is exact, the Info frame is not audio', () => {
  const f = lameMp3({ seconds: 5.5, rate: 44100, channels: 2, kbps: 128 });
  const info = scanMp3(f.mp3);
  assert.equal(info.version, '1');
  assert.equal(info.sampleRate, 44100);
  assert.equal(info.channels, 2);
  assert.ok(info.gapless, 'lame writes its tag in a 417-byte frame');
  assert.equal(info.gapless.delay, 576);
  assert.equal(Math.round(info.durationS * 44100), f.samples);
  assert.equal(info.frames, Math.ceil((f.samples + info.gapless.delay + info.gapless.padding) / 1152));
  assert.equal(info.junkBytes, 0);
  assert.ok(Math.abs(info.durationS - lameDecodedSeconds(f.mp3)) <= frameS(44100));
});

test('MPEG-2 and 2.5 mono without a tag: within one frame of what lame decodes', () => {
  for (const [rate, kbps, version] of [[16000, 32, '2'], [22050, 64, '2'], [8000, 16, '2.5'], [11025, 24, '2.5']] as const) {
    const f = lameMp3({ seconds: 3.21, rate, channels: 1, kbps });
    const info = scanMp3(f.mp3);
    assert.equal(info.version, version);
    assert.equal(info.sampleRate, rate);
    assert.equal(info.channels, 1);
    assert.equal(info.channelMode, 'mono');
    const decoded = lameDecodedSeconds(f.mp3);
    assert.ok(Math.abs(info.durationS - decoded) <= frameS(rate), `${rate} Hz: ${info.durationS} s vs lame's ${decoded} s`);
    // and the stream is at least as long as what was encoded
    assert.ok(info.durationS >= f.samples / rate);
  }
});

test('an ID3v2 tag is skipped, and pushing in any chunk sizes gives the same answer', () => {
  const f = lameMp3({ seconds: 2, rate: 24000, channels: 2, kbps: 48, noise: true, extra: ['--add-id3v2', '--tt', 'A call', '--ta', 'callvault'] });
  const whole = scanMp3(f.mp3);
  assert.ok(whole.id3Bytes > 10);
  assert.equal(f.mp3.subarray(0, 3).toString(), 'ID3');
  for (const size of [1, 3, 7, 64, 417, 4096]) {
    const s = new Mp3Scanner();
    for (let i = 0; i < f.mp3.length; i += size) s.push(f.mp3.subarray(i, i + size));
    assert.deepEqual(s.end(), whole, `chunks of ${size}`);
  }
});

test('a cut-off last frame and an ID3v1 tag are tolerated and reported', () => {
  const f = lameMp3({ seconds: 2, rate: 16000, channels: 1, kbps: 32 });
  const full = scanMp3(f.mp3);
  const cut = scanMp3(f.mp3.subarray(0, f.mp3.length - 50));
  assert.equal(cut.frames, full.frames - 1);
  assert.equal(cut.truncatedBytes, 144 - 50);
  const tagged = scanMp3(Buffer.concat([f.mp3, Buffer.from('TAG'), Buffer.alloc(125)]));
  assert.equal(tagged.frames, full.frames);
  assert.equal(tagged.junkBytes, 128);
});

test('what is not an MP3 is refused with a clear, permanent error', () => {
  const refused = (bytes: Buffer, code: string) =>
    assert.throws(() => scanMp3(bytes), (err: unknown) => err instanceof Mp3FormatError && err.code === code && /MP3|MPEG/.test(err.message));
  refused(Buffer.alloc(0), 'not_mp3');
  refused(Buffer.from('{"detail":"not audio"}'), 'not_mp3');
  const wav = encodeWav([new Int16Array(8000).map((_, i) => Math.round(8000 * Math.sin(i / 5)))]);
  assert.throws(() => scanMp3(wav), Mp3FormatError);
  let seed = 7;
  const noise = Buffer.alloc(256 * 1024).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  assert.throws(() => scanMp3(noise), Mp3FormatError);
  // a real MP3 with a long stretch of garbage in the middle is not "an MP3 with stray bytes"
  const f = lameMp3({ seconds: 2, rate: 16000, channels: 1, kbps: 32 });
  const half = 144 * 6;
  refused(Buffer.concat([f.mp3.subarray(0, half), Buffer.alloc(f.mp3.length, 0x20), f.mp3.subarray(half)]), 'mp3_inconsistent');
  // one frame alone (confirmed by the end of the file) is still an MP3
  assert.equal(scanMp3(f.mp3.subarray(0, 144)).frames, 1);
});
