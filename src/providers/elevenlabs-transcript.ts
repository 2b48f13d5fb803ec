// What a post_call_transcription says about a call (protocol-facts §7): who called whom, how it
// ended, and its agent and user turns as the call's transcript. Payloads are read defensively:
// a field of the wrong type is treated as absent, never thrown on.
import type { CallDetails, CallDirection } from '../store/calls.js';
import type { TranscriptLine } from '../store/transcripts.js';
import { redact } from '../transcription/redact.js';

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const round = (x: number) => Math.round(x * 1000) / 1000;

/** Speaking rate for the length of a last turn whose end nobody states. */
const WORDS_PER_S = 2.5;
const MIN_TURN_S = 1;

export interface ElevenLabsCallFacts extends CallDetails {
  direction: CallDirection;
}

/** Direction, numbers, status and end time; each only when the payload states it. */
export function callFactsOf(data: Obj): ElevenLabsCallFacts {
  const metadata = obj(data.metadata) ?? {};
  const phone = obj(metadata.phone_call);
  const direction: CallDirection = phone?.direction === 'outbound' ? 'outbound' : 'inbound';
  const facts: ElevenLabsCallFacts = { direction };
  const agent = str(phone?.agent_number);
  const external = str(phone?.external_number);
  // the agent's number is the called one on an inbound call, the calling one on an outbound call
  if (agent || external) {
    facts.fromNumber = (direction === 'inbound' ? external : agent) ?? null;
    facts.toNumber = (direction === 'inbound' ? agent : external) ?? null;
  }
  const status = str(data.status);
  if (status) facts.status = status;
  const start = num(metadata.start_time_unix_secs);
  const duration = num(metadata.call_duration_secs);
  if (start !== undefined && duration !== undefined) facts.endedAt = new Date((start + duration) * 1000).toISOString();
  return facts;
}

/** Whether ElevenLabs holds audio of the conversation (the flags of the transcription webhook). */
export function saysHasAudio(data: Obj): boolean {
  return data.has_audio === true || data.has_user_audio === true || data.has_response_audio === true;
}

const estimateS = (text: string) => Math.max(MIN_TURN_S, text.split(/\s+/).filter(Boolean).length / WORDS_PER_S);

/** Agent and user turns with text, on the call's timeline; a line ends where the next begins. */
export function transcriptLinesOf(data: Obj, opts: { redact: boolean }): TranscriptLine[] {
  const turns = Array.isArray(data.transcript) ? data.transcript : [];
  const callEnd = num(obj(data.metadata)?.call_duration_secs);
  const kept: Array<{ speaker: TranscriptLine['speaker']; start: number; text: string }> = [];
  for (const t of turns) {
    const turn = obj(t);
    const role = turn?.role;
    const text = typeof turn?.message === 'string' ? turn.message.trim() : '';
    if ((role !== 'agent' && role !== 'user') || !text) continue;
    const start = num(turn?.time_in_call_secs) ?? kept[kept.length - 1]?.start ?? 0;
    kept.push({ speaker: role === 'agent' ? 'agent' : 'customer', start, text });
  }
  return kept.map((l, i) => {
    const next = kept[i + 1]?.start ?? (callEnd !== undefined && callEnd > l.start ? callEnd : undefined);
    // ElevenLabs gives whole seconds: two turns in one second get a length from their text
    const end = next !== undefined && next > l.start ? next : l.start + estimateS(l.text);
    return { speaker: l.speaker, start: round(l.start), end: round(end), text: opts.redact ? redact(l.text) : l.text };
  });
}
