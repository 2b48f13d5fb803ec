// The post-call transcription job: each speaker's final audio (the reconciliation output, which
// is the live capture alone when no cloud copy exists) becomes one merged, timed transcript,
// stored and written to transcript.json. Without an OpenAI key it reports "not configured".
import fs from 'node:fs';
import path from 'node:path';
import { FINAL_FILES } from './reconcile/render.js';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import type { TranscriptLine } from '../store/transcripts.js';
import type { Transcriber } from '../transcription/openai.js';
import { mergeLines, transcribeSpeaker } from '../transcription/post-call.js';
import { redact } from '../transcription/redact.js';
import { permanent } from './errors.js';
import type { JobHandler } from './queue.js';
import { WavFileReader } from './wav-file.js';

export const TRANSCRIBE_JOB = 'transcribe';

export interface TranscribeDeps {
  store: Store;
  files: CallFiles;
  /** null when OPENAI_API_KEY is not set */
  transcriber: Transcriber | null;
  language: string | undefined;
  redact: boolean;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function transcribeHandler(deps: TranscribeDeps): JobHandler {
  return async ({ payload, signal, log }) => {
    const { callSid } = payload as { callSid: string };
    if (!deps.transcriber) return { status: 'not_configured', reason: 'OPENAI_API_KEY is not set' };
    const speakers = [['agent', FINAL_FILES.agent], ['customer', FINAL_FILES.customer]] as const;
    for (const [, file] of speakers) {
      if ((await deps.files.store.size(`${callSid}/${file}`)) === null) throw permanent('no_final_audio', `${file} is missing: the call has not been reconciled`);
    }
    const work = await deps.files.checkout(callSid, speakers.map(([, f]) => f), signal);
    let lines: TranscriptLine[];
    try {
      const perSpeaker: TranscriptLine[][] = [];
      for (const [speaker, file] of speakers) {
        const reader = new WavFileReader(path.join(work.dir, file));
        try {
          perSpeaker.push(await transcribeSpeaker(reader, deps.transcriber, { speaker, ...(deps.language ? { language: deps.language } : {}), signal }));
        } finally {
          reader.close();
        }
      }
      lines = mergeLines(...perSpeaker).map((l) => ({ ...l, start: round(l.start), end: round(l.end), text: deps.redact ? redact(l.text) : l.text }));
      const doc = { call_sid: callSid, source: 'post_call', model: deps.transcriber.model, redacted: deps.redact, lines };
      await fs.promises.writeFile(path.join(work.dir, 'transcript.json'), `${JSON.stringify(doc, null, 2)}\n`);
      await work.commit(['transcript.json'], signal);
    } finally {
      await work.release();
    }
    await deps.store.transcripts.replace(callSid, 'post_call', lines);
    log.info({ callSid, lines: lines.length }, 'call transcribed');
    return { status: 'complete', lines: lines.length };
  };
}
