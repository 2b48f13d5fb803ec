// Reads WAV files with wavefile, an independent reader, so tests do not check our writer with
// our own parser.
import fs from 'node:fs';
import wavefile from 'wavefile';

export interface WavContent {
  rate: number;
  channels: number;
  /** interleaved PCM16 */
  samples: Int16Array;
}

export function readWav(file: string): WavContent {
  const wav = new wavefile.WaveFile(fs.readFileSync(file));
  const fmt = wav.fmt as { sampleRate: number; numChannels: number; bitsPerSample: number; audioFormat: number };
  if (fmt.audioFormat !== 1 || fmt.bitsPerSample !== 16) throw new Error(`${file} is not PCM16`);
  const data = (wav.data as { samples: Uint8Array }).samples;
  const copy = new Uint8Array(data);
  return { rate: fmt.sampleRate, channels: fmt.numChannels, samples: new Int16Array(copy.buffer, 0, copy.length >> 1) };
}

/** One channel of an interleaved file. */
export function channel(c: WavContent, index: number): Int16Array {
  const out = new Int16Array(c.samples.length / c.channels);
  for (let i = 0; i < out.length; i++) out[i] = c.samples[i * c.channels + index]!;
  return out;
}
