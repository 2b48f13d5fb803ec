// Post-call transcription of one speaker's final audio: speech is found first (silence is never
// sent: Whisper invents words over it), cut at pauses into uploads under the 25 MB cap, and the
// times that come back are mapped onto the call's timeline.
import { wavHeader } from '../audio/wav.js';
import type { WavFileReader } from '../jobs/wav-file.js';
import type { Speaker, TranscriptLine } from '../store/transcripts.js';
import type { Transcriber } from './openai.js';
import { mapTime, planUploads, UtteranceSegmenter, type Upload } from './vad.js';

const RATE = 16000;
/** 10 minutes of 16 kHz PCM16 is 19.2 MB: under the 25 MB upload cap with room for the header. */
const MAX_UPLOAD_MS = 10 * 60 * 1000;
/** Silence between joined stretches: Whisper hears a pause, and times map back exactly. */
const JOIN = RATE / 2;
const CHUNK = RATE;

/** Speech stretches of a whole file, as sample positions: a streaming pass, audio not kept. */
export function speechStretches(reader: WavFileReader): Array<{ start: number; end: number }> {
  const seg = new UtteranceSegmenter({ sampleRate: RATE, maxUtteranceMs: 60_000 });
  const out: Array<{ start: number; end: number }> = [];
  const buf = new Int16Array(CHUNK);
  for (let at = 0; at < reader.frames; at += CHUNK) {
    const n = Math.min(CHUNK, reader.frames - at);
    for (const u of seg.push(reader.readChannel(0, at, n, buf).subarray(0, n))) out.push({ start: u.start, end: u.end });
  }
  for (const u of seg.flush()) out.push({ start: u.start, end: u.end });
  return out;
}

/** The upload's parts read from the file and joined by silence, as one WAV. */
function uploadWav(reader: WavFileReader, upload: Upload): Buffer {
  const total = upload.parts.reduce((n, p) => n + p.end - p.start, 0) + JOIN * (upload.parts.length - 1);
  const pcm = new Int16Array(total);
  let at = 0;
  upload.parts.forEach((p, i) => {
    if (i > 0) at += JOIN;
    reader.readChannel(0, p.start, p.end - p.start, pcm.subarray(at, at + p.end - p.start));
    at += p.end - p.start;
  });
  return Buffer.concat([wavHeader({ sampleRate: RATE, channels: 1 }, pcm.byteLength), Buffer.from(pcm.buffer)]);
}

export interface SpeakerOptions {
  speaker: Speaker;
  language?: string;
  signal?: AbortSignal;
}

/** One speaker's lines. Models that return segment times get long uploads; others one upload
 *  per utterance, so each line still has our VAD's times. */
export async function transcribeSpeaker(reader: WavFileReader, transcriber: Transcriber, o: SpeakerOptions): Promise<TranscriptLine[]> {
  if (reader.format.sampleRate !== RATE || reader.format.channels !== 1) throw new Error('post-call transcription expects 16 kHz mono audio');
  const stretches = speechStretches(reader);
  const timed = transcriber.model.startsWith('whisper');
  const uploads = timed
    ? planUploads(stretches, { sampleRate: RATE, maxUploadMs: MAX_UPLOAD_MS, joinSilenceSamples: JOIN })
    : stretches.map((s) => ({ start: s.start, end: s.end, parts: [s] }));
  const lines: TranscriptLine[] = [];
  for (const upload of uploads) {
    const r = await transcriber.transcribe(uploadWav(reader, upload), { ...(o.language ? { language: o.language } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    if (r.segments) {
      for (const s of r.segments) {
        if (s.text === '') continue;
        lines.push({ speaker: o.speaker, start: mapTime(upload, s.start, RATE, JOIN), end: mapTime(upload, s.end, RATE, JOIN), text: s.text });
      }
    } else if (r.text.trim() !== '') {
      lines.push({ speaker: o.speaker, start: upload.start / RATE, end: upload.end / RATE, text: r.text.trim() });
    }
  }
  return lines;
}

/** Both speakers on one timeline. */
export function mergeLines(...speakers: TranscriptLine[][]): TranscriptLine[] {
  return speakers.flat().sort((a, b) => a.start - b.start || a.end - b.end);
}
