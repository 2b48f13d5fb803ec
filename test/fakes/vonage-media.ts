// What the fake Vonage serves as a recording: a 16 kHz PCM16 stereo WAV (split:'conversation'),
// left = the first leg's voice (440 Hz), right = what it hears (1 kHz), so a swap shows.
import { randomUUID } from 'node:crypto';
import { wavHeader } from '../../src/audio/wav.js';

export const VONAGE_RATE = 16000;

export function tone(hz: number, amplitude: number, samples: number, rate = VONAGE_RATE): Int16Array {
  const out = new Int16Array(samples);
  for (let n = 0; n < samples; n++) out[n] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * n) / rate));
  return out;
}

/** Interleaved PCM16 behind a canonical 44-byte header, one or two channels. */
export function encodeVonageWav(channels: Int16Array[], rate = VONAGE_RATE): Buffer {
  const frames = channels[0]?.length ?? 0;
  const data = Buffer.alloc(frames * channels.length * 2);
  let off = 0;
  for (let f = 0; f < frames; f++) for (const ch of channels) off = data.writeInt16LE(ch[f]!, off);
  return Buffer.concat([wavHeader({ sampleRate: rate, channels: channels.length }, data.length), data]);
}

export interface StoredVonageRecording {
  /** the file id in recording_url (not the recording_uuid) */
  fileId: string;
  recordingUuid: string;
  conversationUuid: string;
  startTime: string;
  endTime: string;
  left: Int16Array;
  right: Int16Array;
  wav: Buffer;
}

export interface AddVonageRecording {
  conversationUuid?: string;
  durationS?: number;
  /** when the recording ended; default now */
  endTime?: Date;
}

/** Times as Vonage sends them: ISO 8601, whole seconds, UTC. */
const iso = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

export function makeRecording(r: AddVonageRecording = {}): StoredVonageRecording {
  const durationS = r.durationS ?? 3;
  const samples = Math.round(durationS * VONAGE_RATE);
  const left = tone(440, 8000, samples);
  const right = tone(1000, 6000, samples);
  const end = r.endTime ?? new Date();
  end.setMilliseconds(0);
  return {
    fileId: randomUUID(), recordingUuid: randomUUID(), conversationUuid: r.conversationUuid ?? `CON-${randomUUID()}`,
    startTime: iso(new Date(end.getTime() - durationS * 1000)), endTime: iso(end), left, right, wav: encodeVonageWav([left, right]),
  };
}
