/**
 * Media bytes the fake serves: PCM16 8 kHz WAV (Twilio's native storage format) and a fake MP3
 * that no WAV reader could mistake for audio it understands.
 */

export const SAMPLE_RATE = 8000;
export const WAV_HEADER_BYTES = 44;

/** Tone frequencies and amplitudes of the default signal; distinct per channel so a swap shows. */
export const DEFAULT_TONES = {
  left: { hz: 440, amplitude: 8000 },
  right: { hz: 1000, amplitude: 6000 },
} as const;

export function tone(hz: number, amplitude: number, samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let n = 0; n < samples; n++) out[n] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * n) / SAMPLE_RATE));
  return out;
}

/** The signal used when `addRecording` gets no audio: left 440 Hz, right 1 kHz. */
export function defaultSignal(channels: 1 | 2, durationS: number): { left: Int16Array; right?: Int16Array } {
  const samples = Math.round(durationS * SAMPLE_RATE);
  const left = tone(DEFAULT_TONES.left.hz, DEFAULT_TONES.left.amplitude, samples);
  if (channels === 1) return { left };
  return { left, right: tone(DEFAULT_TONES.right.hz, DEFAULT_TONES.right.amplitude, samples) };
}

/**
 * How the fake mixes a dual recording down to mono: the floored mean, which cannot clip.
 * Twilio's exact mixdown is not documented; tests should compare against this function.
 */
export function mixToMono(left: Int16Array, right: Int16Array): Int16Array {
  const out = new Int16Array(left.length);
  for (let i = 0; i < left.length; i++) out[i] = (left[i]! + right[i]!) >> 1;
  return out;
}

/** A canonical 44-byte PCM16 header followed by interleaved little-endian samples. */
export function encodeWav(channels: Int16Array[]): Buffer {
  const n = channels.length;
  const frames = channels[0]?.length ?? 0;
  const dataBytes = frames * n * 2;
  const buf = Buffer.alloc(WAV_HEADER_BYTES + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(n, 22);
  buf.writeUInt32LE(SAMPLE_RATE, 24);
  buf.writeUInt32LE(SAMPLE_RATE * n * 2, 28);
  buf.writeUInt16LE(n * 2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  let off = WAV_HEADER_BYTES;
  for (let f = 0; f < frames; f++) {
    for (const ch of channels) {
      buf.writeInt16LE(ch[f]!, off);
      off += 2;
    }
  }
  return buf;
}

/** The WAV Twilio would serve for the requested presentation (1 = mono, 2 = dual). */
export function mediaWav(audio: { left: Int16Array; right?: Int16Array }, presentation: 1 | 2): Buffer {
  if (presentation === 2) {
    if (!audio.right) throw new Error('dual presentation of a mono recording');
    return encodeWav([audio.left, audio.right]);
  }
  return encodeWav([audio.right ? mixToMono(audio.left, audio.right) : audio.left]);
}

/**
 * An MPEG-1 Layer III frame header (0xFFFB, 128 kbit/s, 44.1 kHz) padded with zeros: enough to look
 * like MP3 to a sniffer, and nothing a gateway that must only fetch WAV should ever keep.
 */
export function fakeMp3(durationS: number): Buffer {
  const buf = Buffer.alloc(Math.max(417, Math.round(durationS * 16000)));
  buf[0] = 0xff;
  buf[1] = 0xfb;
  buf[2] = 0x90;
  buf[3] = 0x64;
  return buf;
}
