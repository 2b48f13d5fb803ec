// Writes the final audio chunk by chunk from each speaker's segment plan: final.stereo.wav
// (8 kHz, agent left) and final.<speaker>.16k.wav. Files are written as .part and renamed when
// complete, so a reader never sees a half-written final file.
import fs from 'node:fs';
import path from 'node:path';
import { StreamResampler } from '../../audio/resample.js';
import type { Segment } from '../../audio/splice.js';
import { WavFileWriter } from '../../capture/wav-writer.js';
import type { AudioReader } from './sources.js';

export type Speaker = 'agent' | 'customer';
export const SPEAKERS: readonly Speaker[] = ['agent', 'customer'];
const CHUNK = 8000;

export interface SpeakerSource {
  segments: readonly Segment[];
  local: AudioReader | null;
  localChannel: number;
  cloud: AudioReader | null;
  cloudChannel: number;
  /** cloud sample index for timeline sample t */
  cloudAt: (t: number) => number;
  /** applied to cloud audio so spliced stretches match the local level */
  cloudGain: number;
}

export const FINAL_FILES = {
  stereo: 'final.stereo.wav',
  agent: 'final.agent.16k.wav',
  customer: 'final.customer.16k.wav',
} as const;

/** Fills out[0..n) with timeline samples [from, from + n) of one speaker. */
function fill(src: SpeakerSource, from: number, n: number, out: Int16Array, scratch: Int16Array): void {
  out.fill(0, 0, n);
  for (const seg of src.segments) {
    const start = Math.max(seg.start, from);
    const end = Math.min(seg.end, from + n);
    if (end <= start || seg.source === 'none') continue;
    const len = end - start;
    if (seg.source === 'local' && src.local) {
      out.set(src.local.readChannel(src.localChannel, start, len, scratch).subarray(0, len), start - from);
    } else if (seg.source === 'cloud' && src.cloud) {
      // Drift within one chunk is far below a sample: one rounded offset per stretch.
      const at = Math.round(src.cloudAt(start));
      const samples = src.cloud.readChannel(src.cloudChannel, at, len, scratch);
      for (let i = 0; i < len; i++) {
        const v = Math.round(samples[i]! * src.cloudGain);
        out[start - from + i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
    }
  }
}

export async function renderFinal(dir: string, length: number, sources: Record<Speaker, SpeakerSource>): Promise<typeof FINAL_FILES> {
  const part = (name: string) => path.join(dir, `${name}.part`);
  const stereo = new WavFileWriter(part(FINAL_FILES.stereo), { sampleRate: 8000, channels: 2 }, 0.5);
  const hi = {
    agent: new WavFileWriter(part(FINAL_FILES.agent), { sampleRate: 16000, channels: 1 }, 0.5),
    customer: new WavFileWriter(part(FINAL_FILES.customer), { sampleRate: 16000, channels: 1 }, 0.5),
  };
  const resamplers = { agent: new StreamResampler(8000, 16000, 5), customer: new StreamResampler(8000, 16000, 5) };
  const pcm = { agent: new Int16Array(CHUNK), customer: new Int16Array(CHUNK) };
  const scratch = new Int16Array(CHUNK);
  try {
    for (let at = 0; at < length; at += CHUNK) {
      const n = Math.min(CHUNK, length - at);
      for (const s of SPEAKERS) {
        fill(sources[s], at, n, pcm[s], scratch);
        hi[s].write(resamplers[s].process(pcm[s].subarray(0, n)));
      }
      stereo.writeStereo(pcm.agent, pcm.customer, n);
    }
    for (const s of SPEAKERS) hi[s].write(resamplers[s].flush());
    await Promise.all([stereo.close(), hi.agent.close(), hi.customer.close()]);
    for (const name of Object.values(FINAL_FILES)) await fs.promises.rename(part(name), path.join(dir, name));
  } finally {
    for (const s of SPEAKERS) resamplers[s].destroy();
    await Promise.all([stereo.close(), hi.agent.close(), hi.customer.close()]);
    for (const name of Object.values(FINAL_FILES)) await fs.promises.rm(part(name), { force: true });
  }
  return FINAL_FILES;
}
