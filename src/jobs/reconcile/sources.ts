// The files reconciliation reads, all at its working rate (8 kHz). A cloud recording at another
// rate (Vonage's split recordings are 16 kHz) is converted once, channel by channel and chunk by
// chunk, into a temporary 8 kHz file beside it, with the same zero-lag SpeexDSP resampler the
// capture uses: sample n of the view is time n/8000 s of the original, so offsets in seconds
// found on the view hold for the original. The view is deleted when it is closed.
import fs from 'node:fs';
import path from 'node:path';
import { StreamResampler } from '../../audio/resample.js';
import { WavFileWriter } from '../../capture/wav-writer.js';
import { WavFileReader } from '../wav-file.js';

/** What the analysis and the renderer read; a WavFileReader is one. */
export type AudioReader = Pick<WavFileReader, 'format' | 'frames' | 'readChannel' | 'close'>;

export interface OpenedSource {
  reader: AudioReader;
  /** the file's own rate, for the report */
  sourceRate: number;
}

const CHUNK = 16_000;

/** Opens `file` as an 8 kHz (or `rate`) view: the file itself, or a converted temporary copy. */
export async function openAtRate(file: string, rate: number): Promise<OpenedSource> {
  const source = new WavFileReader(file);
  const sourceRate = source.format.sampleRate;
  if (sourceRate === rate) return { reader: source, sourceRate };
  const temp = path.join(path.dirname(file), `.${path.basename(file, '.wav')}.${rate}.reconcile.wav`);
  try {
    await convert(source, temp, rate);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  } finally {
    source.close();
  }
  const view = new WavFileReader(temp);
  return {
    sourceRate,
    reader: {
      format: view.format,
      frames: view.frames,
      readChannel: (channel, start, count, out) => view.readChannel(channel, start, count, out),
      close: () => {
        view.close();
        fs.rmSync(temp, { force: true });
      },
    },
  };
}

async function convert(source: WavFileReader, target: string, rate: number): Promise<void> {
  const channels = source.format.channels;
  const writer = new WavFileWriter(target, { sampleRate: rate, channels }, 1);
  const resamplers = Array.from({ length: channels }, () => new StreamResampler(source.format.sampleRate, rate, 5));
  const input = new Int16Array(CHUNK);
  let interleaved = new Int16Array(0);
  const put = (parts: Int16Array[]) => {
    // Every channel has seen the same number of samples, so each yields the same number out.
    const n = parts[0]!.length;
    if (parts.some((p) => p.length !== n)) throw new Error('resampled channels differ in length');
    if (interleaved.length < n * channels) interleaved = new Int16Array(n * channels);
    parts.forEach((p, ch) => {
      for (let i = 0; i < n; i++) interleaved[i * channels + ch] = p[i]!;
    });
    writer.write(interleaved, 0, n * channels);
  };
  try {
    for (let at = 0; at < source.frames; at += CHUNK) {
      const n = Math.min(CHUNK, source.frames - at);
      // process() returns a view its next call reuses: copy each channel's output out first.
      put(resamplers.map((r, ch) => r.process(source.readChannel(ch, at, n, input).subarray(0, n)).slice()));
    }
    put(resamplers.map((r) => r.flush().slice()));
  } finally {
    for (const r of resamplers) r.destroy();
    await writer.close();
  }
}
