import type { Knex } from 'knex';
import { nowIso } from './time.js';

export type TranscriptSource = 'post_call' | 'live';
export type Speaker = 'agent' | 'customer';

export interface TranscriptLine {
  speaker: Speaker;
  /** float seconds on the call timeline */
  start: number;
  end: number;
  text: string;
}

export interface TranscriptsRepo {
  /** Appends lines as a live transcript grows. */
  append(callSid: string, source: TranscriptSource, lines: readonly TranscriptLine[]): Promise<void>;
  /** Replaces a source's lines at once: a post-call transcript is written whole or not at all. */
  replace(callSid: string, source: TranscriptSource, lines: readonly TranscriptLine[]): Promise<void>;
  /** Lines ordered on the timeline. */
  lines(callSid: string, source: TranscriptSource): Promise<TranscriptLine[]>;
  /** The call's transcript: the post-call one when it exists, else the live one (seed 000). */
  preferred(callSid: string): Promise<{ source: TranscriptSource; lines: TranscriptLine[] } | null>;
  /** The seed API's cache of whole-recording transcripts. */
  getRecording(recordingSid: string): Promise<{ model: string; text: string; createdAt: string } | undefined>;
  saveRecording(recordingSid: string, model: string, text: string): Promise<void>;
}

interface DbLine { speaker: string; start_s: number; end_s: number; text: string }

export function createTranscriptsRepo(knex: Knex): TranscriptsRepo {
  const rows = (callSid: string, source: TranscriptSource, lines: readonly TranscriptLine[]) => {
    const at = nowIso();
    return lines.map((l) => ({ call_sid: callSid, source, speaker: l.speaker, start_s: l.start, end_s: l.end, text: l.text, created_at: at }));
  };
  const linesOf = async (callSid: string, source: TranscriptSource): Promise<TranscriptLine[]> => {
    const found: DbLine[] = await knex('transcript_lines').where({ call_sid: callSid, source }).orderBy('start_s').orderBy('id');
    return found.map((r) => ({ speaker: r.speaker as Speaker, start: Number(r.start_s), end: Number(r.end_s), text: r.text }));
  };
  return {
    async append(callSid, source, lines) {
      if (lines.length > 0) await knex('transcript_lines').insert(rows(callSid, source, lines));
    },
    async replace(callSid, source, lines) {
      await knex.transaction(async (trx) => {
        await trx('transcript_lines').where({ call_sid: callSid, source }).delete();
        // Chunked: SQLite limits the number of bound variables per statement.
        const all = rows(callSid, source, lines);
        for (let i = 0; i < all.length; i += 100) await trx('transcript_lines').insert(all.slice(i, i + 100));
      });
    },
    lines: linesOf,
    async preferred(callSid) {
      const post = await linesOf(callSid, 'post_call');
      if (post.length > 0) return { source: 'post_call', lines: post };
      const live = await linesOf(callSid, 'live');
      return live.length > 0 ? { source: 'live', lines: live } : null;
    },
    async getRecording(recordingSid) {
      const r = await knex('recording_transcripts').where({ recording_sid: recordingSid }).first() as { model: string; text: string; created_at: string } | undefined;
      return r ? { model: r.model, text: r.text, createdAt: r.created_at } : undefined;
    },
    async saveRecording(recordingSid, model, text) {
      await knex('recording_transcripts')
        .insert({ recording_sid: recordingSid, model, text, created_at: nowIso() })
        .onConflict('recording_sid')
        .merge(['model', 'text', 'created_at']);
    },
  };
}
