// The prototype's streaming pipeline (performance-facts §3, "streaming, writeSync batched 1 s"),
// built from callvault's own parts: JSON.parse, base64 into a Buffer, the lookup-table decode into
// a reused Int16Array, speex q5, and an 8 kHz and a 16 kHz WavFileWriter batching 1 s. No jitter
// placement, no stereo file, no level meter, no validation. It shows, in the same run, what the
// capture's extra duties cost on this machine, against the design the targets were measured on.
import path from 'node:path';
import { decodeMulawInto } from '../../src/audio/mulaw.js';
import { StreamResampler } from '../../src/audio/resample.js';
import { WavFileWriter } from '../../src/capture/wav-writer.js';
import type { TrackName } from './signal.js';

class MinimalTrack {
  private readonly resampler = new StreamResampler(8000, 16000, 5);
  private readonly pcm = new Int16Array(160);
  private readonly w8: WavFileWriter;
  private readonly w16: WavFileWriter;

  constructor(base: string) {
    this.w8 = new WavFileWriter(`${base}.8k.wav`, { sampleRate: 8000, channels: 1 }, 1);
    this.w16 = new WavFileWriter(`${base}.16k.wav`, { sampleRate: 16000, channels: 1 }, 1);
  }

  add(payload: Uint8Array): void {
    const pcm = payload.length === this.pcm.length ? this.pcm : new Int16Array(payload.length);
    decodeMulawInto(payload, pcm);
    this.w8.write(pcm);
    this.w16.write(this.resampler.process(pcm));
  }

  async close(): Promise<void> {
    this.w16.write(this.resampler.flush());
    this.resampler.destroy();
    await Promise.all([this.w8.close(), this.w16.close()]);
  }
}

export class MinimalCall {
  readonly tracks: Record<TrackName, MinimalTrack>;

  constructor(dir: string, streamSid: string) {
    this.tracks = {
      inbound: new MinimalTrack(path.join(dir, `${streamSid}.inbound`)),
      outbound: new MinimalTrack(path.join(dir, `${streamSid}.outbound`)),
    };
  }

  close(): Promise<void> {
    return Promise.all([this.tracks.inbound.close(), this.tracks.outbound.close()]).then(() => undefined);
  }
}

interface WireMedia {
  event?: string;
  streamSid?: string;
  media?: { track?: string; payload?: string };
}

/** One message, prototype style: JSON.parse and Buffer.from(base64), no validation. */
export function minimalMessage(text: string, calls: Map<string, MinimalCall>): void {
  const m = JSON.parse(text) as WireMedia;
  if (m.event !== 'media' || !m.media || m.streamSid === undefined || typeof m.media.payload !== 'string') return;
  calls.get(m.streamSid)?.tracks[m.media.track === 'outbound' ? 'outbound' : 'inbound'].add(Buffer.from(m.media.payload, 'base64'));
}
