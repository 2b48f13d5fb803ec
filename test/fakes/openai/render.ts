/**
 * Response bodies per `response_format`, shaped like the real API's: JSON for json/verbose_json,
 * text/plain for text/srt/vtt (the SDK returns those as strings, going by Content-Type).
 */
import { jsonReply, type Reply } from './errors.js';
import type { Segment, Transcript } from './speech.js';

export type ResponseFormat = 'json' | 'text' | 'srt' | 'verbose_json' | 'vtt';

export interface RenderOptions {
  model: string;
  usage: 'duration' | 'tokens';
  /** Whisper's language name (`english`), reported in verbose_json. */
  languageName: string;
  temperature: number;
  granularities: ReadonlySet<'segment' | 'word'>;
  prompt?: string;
}

/** Billing: whole seconds for whisper-1 (observed), tokens for the gpt-4o family (rates approximate). */
function usage(t: Transcript, o: RenderOptions): unknown {
  if (o.usage === 'duration') return { type: 'duration', seconds: Math.ceil(t.durationS) };
  const audio = Math.ceil(t.durationS * 10);
  const text = o.prompt ? Math.ceil(o.prompt.length / 4) : 0;
  const output = Math.max(1, Math.ceil(t.text.length / 4));
  return {
    type: 'tokens', input_tokens: audio + text, input_token_details: { text_tokens: text, audio_tokens: audio },
    output_tokens: output, total_tokens: audio + text + output,
  };
}

function verboseSegment(s: Segment, id: number, temperature: number): unknown {
  return {
    id,
    // Whisper decodes in 30 s windows; seek is the window's offset in 10 ms mel frames.
    seek: Math.floor(s.start / 30) * 3000,
    start: s.start, end: s.end, text: ` ${s.text}`, tokens: [], temperature,
    avg_logprob: s.avgLogprob, compression_ratio: 0.8, no_speech_prob: s.noSpeechProb,
  };
}

function verbose(t: Transcript, o: RenderOptions): unknown {
  const body: Record<string, unknown> = { task: 'transcribe', language: o.languageName, duration: t.durationS, text: t.text };
  if (o.granularities.has('word')) {
    body.words = t.segments.flatMap((s) => {
      const words = s.text.split(' ');
      const step = (s.end - s.start) / words.length;
      const at = (i: number): number => Math.round((s.start + i * step) * 1000) / 1000;
      return words.map((word, i) => ({ word, start: at(i), end: at(i + 1) }));
    });
  }
  if (o.granularities.has('segment')) body.segments = t.segments.map((s, i) => verboseSegment(s, i, o.temperature));
  body.usage = usage(t, o);
  return body;
}

function clock(s: number, sep: ',' | '.'): string {
  const ms = Math.round(s * 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${sep}${pad(ms % 1000, 3)}`;
}

const srt = (t: Transcript): string =>
  t.segments.map((s, i) => `${i + 1}\n${clock(s.start, ',')} --> ${clock(s.end, ',')}\n${s.text}\n`).join('\n') + '\n';

const vtt = (t: Transcript): string =>
  'WEBVTT\n\n' + t.segments.map((s) => `${clock(s.start, '.')} --> ${clock(s.end, '.')}\n${s.text}\n`).join('\n') + '\n';

const plain = (s: string): Reply => ({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from(s) });

export function render(t: Transcript, format: ResponseFormat, o: RenderOptions): Reply {
  switch (format) {
    case 'json':
      return jsonReply(200, { text: t.text, usage: usage(t, o) });
    case 'verbose_json':
      return jsonReply(200, verbose(t, o));
    case 'text':
      return plain(`${t.text}\n`);
    case 'srt':
      return plain(srt(t));
    case 'vtt':
      return plain(vtt(t));
  }
}
