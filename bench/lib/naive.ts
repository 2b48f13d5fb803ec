// The naive capture, as Twilio's public samples do it (performance-facts §3): decode each frame
// with alawmulaw into a new array, push the samples into a JS Array, and at `stop` build the WAV
// with wavefile, resample with its toSampleRate (default: cubic with LPF) and writeFileSync twice.
import fs from 'node:fs';
import path from 'node:path';
import alawmulaw from 'alawmulaw';
import wavefile from 'wavefile';
import type { TrackName } from './signal.js';

export class NaiveTrack {
  samples: number[] = [];

  add(payload: Uint8Array): void {
    const pcm = alawmulaw.mulaw.decode(payload);
    for (let i = 0; i < pcm.length; i++) this.samples.push(pcm[i]!);
  }

  /** Writes `<base>.8k.wav` and `<base>.16k.wav`. */
  stop(base: string): void {
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, 8000, '16', this.samples);
    fs.writeFileSync(`${base}.8k.wav`, wav.toBuffer());
    wav.toSampleRate(16000);
    fs.writeFileSync(`${base}.16k.wav`, wav.toBuffer());
    this.samples = [];
  }
}

export class NaiveCall {
  readonly tracks: Record<TrackName, NaiveTrack> = { inbound: new NaiveTrack(), outbound: new NaiveTrack() };

  constructor(readonly dir: string, readonly streamSid: string) {}

  stop(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    for (const t of ['inbound', 'outbound'] as const) this.tracks[t].stop(path.join(this.dir, `${this.streamSid}.${t}`));
  }
}

interface NaiveMedia {
  event?: string;
  streamSid?: string;
  media?: { track?: string; payload?: string };
}

/** One wire message the naive way: JSON.parse, Buffer.from(base64), decode, push. */
export function naiveMessage(text: string, calls: Map<string, NaiveCall>): void {
  const m = JSON.parse(text) as NaiveMedia;
  if (m.event !== 'media' || !m.media || m.streamSid === undefined) return;
  const call = calls.get(m.streamSid);
  const track = m.media.track === 'outbound' ? 'outbound' : 'inbound';
  if (call && typeof m.media.payload === 'string') call.tracks[track].add(Buffer.from(m.media.payload, 'base64'));
}
