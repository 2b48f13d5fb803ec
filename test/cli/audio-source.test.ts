import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import alawmulaw from 'alawmulaw';
import wavefile from 'wavefile';
import {
  conversation, decodeWav, loadWav, MULAW_SILENCE, mixToMono, silence, speak, wavToMulaw,
} from '../../src/cli/simulator/audio-source.js';
import { SimulatorError } from '../../src/cli/simulator/errors.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'cv-audio-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

function sox(name: string, ...args: string[]): string {
  const out = join(dir, name);
  execFileSync('sox', ['-n', ...args.slice(0, -1), out, ...(args.at(-1) ?? '').split(' ')]);
  return out;
}

function decode(mulaw: Uint8Array): Int16Array {
  return alawmulaw.mulaw.decode(mulaw);
}

/** Zero crossings per second, a frequency estimate that needs no FFT. */
function estimateHz(pcm: Int16Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < pcm.length; i++) if (((pcm[i - 1] ?? 0) < 0) !== ((pcm[i] ?? 0) < 0)) crossings++;
  return crossings / 2 / (pcm.length / rate);
}

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

describe('audio source', () => {
  it('resamples a 22050 Hz stereo WAV to 8 kHz mono with the expected length', async () => {
    const file = sox('stereo.wav', '-r', '22050', '-c', '2', '-b', '16', 'synth 1.5 sine 1000 sine 1000');
    const mulaw = await loadWav(file);
    const expected = Math.round((1.5 * 22050 * 8000) / 22050);
    assert.ok(Math.abs(mulaw.length - expected) <= 1, `${mulaw.length} vs ${expected}`);
    const hz = estimateHz(decode(mulaw).subarray(400, -400), 8000);
    assert.ok(Math.abs(hz - 1000) < 5, `estimated ${hz} Hz`);
  });

  it('keeps a 1 kHz tone at 1 kHz', async () => {
    const file = sox('tone.wav', '-r', '44100', '-c', '1', '-b', '16', 'synth 1 sine 1000 vol 0.5');
    const pcm = decode(await loadWav(file));
    // Skip the resampler's settling at both ends.
    const hz = estimateHz(pcm.subarray(400, -400), 8000);
    assert.ok(Math.abs(hz - 1000) < 5, `estimated ${hz} Hz`);
    assert.ok(rms(pcm.subarray(400, -400)) > 8000);
  });

  it('reads 8-bit, 24-bit, float and mu-law WAVs', async () => {
    for (const [name, args] of [
      ['u8.wav', ['-r', '16000', '-b', '8', '-e', 'unsigned-integer']],
      ['s24.wav', ['-r', '48000', '-b', '24']],
      ['f32.wav', ['-r', '8000', '-b', '32', '-e', 'floating-point']],
      ['ulaw.wav', ['-r', '8000', '-e', 'mu-law']],
    ] as const) {
      const pcm = decode(await loadWav(sox(name, '-c', '1', ...args, 'synth 0.5 sine 440 vol 0.5')));
      assert.ok(Math.abs(pcm.length - 4000) <= 1, `${name}: ${pcm.length}`);
      assert.ok(Math.abs(estimateHz(pcm.subarray(200, -200), 8000) - 440) < 5, name);
      assert.ok(rms(pcm.subarray(200, -200)) > 8000, `${name} is too quiet`);
    }
  });

  it('passes 8 kHz mono through without resampling', async () => {
    const wav = new wavefile.WaveFile();
    const pcm = Int16Array.from({ length: 800 }, (_, i) => Math.round(8000 * Math.sin(i / 3)));
    wav.fromScratch(1, 8000, '16', pcm);
    assert.deepEqual(await wavToMulaw(wav.toBuffer()), alawmulaw.mulaw.encode(pcm));
  });

  it('mixes channels by averaging', () => {
    assert.deepEqual(mixToMono(Int16Array.from([100, 300, -32768, -32768, 1, 2]), 2), Int16Array.from([200, -32768, 2]));
    const stereo = new wavefile.WaveFile();
    stereo.fromScratch(2, 8000, '16', [Int16Array.from([1000, 3000]), Int16Array.from([-1000, 1000])]);
    assert.deepEqual(decodeWav(stereo.toBuffer()), { pcm: Int16Array.from([0, 2000]), sampleRate: 8000 });
  });

  it('rejects a file that is not a WAV', async () => {
    const bad = join(dir, 'bad.wav');
    writeFileSync(bad, 'not a wav');
    await assert.rejects(loadWav(bad), (e) => e instanceof SimulatorError && e.code === 'bad_audio');
    await assert.rejects(loadWav(join(dir, 'missing.wav')), (e) => e instanceof SimulatorError && e.code === 'bad_audio');
  });

  it('speak() produces non-silent speech', async () => {
    const mulaw = await speak('Hello, this is a recorded call.', { voice: 'en-us', speed: 170 });
    assert.ok(mulaw.length > 8000, `only ${mulaw.length} samples`);
    assert.ok(rms(decode(mulaw)) > 500);
  });

  it('speak() names espeak-ng when it is missing', async () => {
    await assert.rejects(speak('hi', { command: 'espeak-ng-not-installed' }),
      (e) => e instanceof SimulatorError && e.code === 'espeak_missing' && /espeak-ng/.test(e.message));
  });

  it('conversation() keeps each track silent while the other speaks', () => {
    const a = new Uint8Array(80).fill(0x10);
    const b = new Uint8Array(40).fill(0x20);
    const { inbound, outbound } = conversation([
      { track: 'inbound', audio: a },
      { track: 'outbound', audio: b, gapMs: 5 },
      { track: 'inbound', audio: a, gapMs: 0 },
    ]);
    assert.equal(inbound.length, 80 + 40 + 40 + 80);
    assert.equal(outbound.length, inbound.length);
    const expectIn = new Uint8Array(240).fill(MULAW_SILENCE);
    expectIn.fill(0x10, 0, 80).fill(0x10, 160, 240);
    const expectOut = new Uint8Array(240).fill(MULAW_SILENCE).fill(0x20, 120, 160);
    assert.deepEqual(inbound, expectIn);
    assert.deepEqual(outbound, expectOut);
    assert.deepEqual(silence(20), new Uint8Array(160).fill(0xff));
  });
});
