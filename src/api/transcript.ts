// Transcripts over the API. A call's transcript is the post-call one when it exists and the live
// one otherwise (seed 000), and the answer says which; live lines also stream over SSE.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CALL_ID_PATTERN } from '../ids.js';
import type { TranscriptLine } from '../store/transcripts.js';
import type { ApiDeps, ApiRoutes } from './index.js';
import { registerSeedTranscript } from './seed-transcript.js';

const CallParams = Type.Object({ callSid: Type.String({ pattern: CALL_ID_PATTERN }) });
const Line = Type.Object({ speaker: Type.String(), start: Type.Number(), end: Type.Number(), text: Type.String() });
/** SSE comments keep proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

async function transcriptStatus(deps: ApiDeps, callSid: string): Promise<string> {
  if (!deps.transcriber) return 'not_configured';
  const jobs = await deps.store.jobs.listByKeyPrefix(`transcribe:reconcile:${callSid}:`);
  const last = jobs.sort((a, b) => a.id - b.id).at(-1);
  if (!last) return 'pending';
  return last.state === 'succeeded' ? 'complete' : last.state === 'failed' ? 'failed' : 'in_progress';
}

function registerCallTranscript(api: FastifyInstance, deps: ApiDeps): void {
  api.get<{ Params: { callSid: string } }>('/calls/:callSid/transcript', {
    schema: {
      tags: ['transcripts'],
      summary: "A call's transcript: the post-call one when it exists, else the live one",
      params: CallParams,
      response: {
        200: Type.Object({
          call_sid: Type.String(),
          source: Type.Union([Type.Literal('post_call'), Type.Literal('live'), Type.Null()]),
          status: Type.String({ description: 'post-call transcription: complete, in_progress, pending, failed or not_configured' }),
          lines: Type.Array(Line),
        }),
      },
    },
  }, async (request, reply) => {
    const { callSid } = request.params;
    if (!(await deps.store.calls.get(callSid))) return reply.code(404).send({ error: 'Call not found' });
    const t = await deps.store.transcripts.preferred(callSid);
    return { call_sid: callSid, source: t?.source ?? null, status: await transcriptStatus(deps, callSid), lines: t?.lines ?? [] };
  });

  api.get<{ Params: { callSid: string } }>('/calls/:callSid/transcript/live', {
    schema: { tags: ['transcripts'], summary: 'Server-sent events: the live transcript as it grows (the lines so far, then each new one)', params: CallParams },
  }, async (request, reply) => {
    const { callSid } = request.params;
    if (!(await deps.store.calls.get(callSid))) return reply.code(404).send({ error: 'Call not found' });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (line: TranscriptLine) => res.write(`event: line\ndata: ${JSON.stringify(line)}\n\n`);
    const buffered: TranscriptLine[] = [];
    let replayed = false;
    const unsubscribe = deps.hub.subscribe(callSid, (line) => (replayed ? send(line) : buffered.push(line)));
    // A line published while the stored ones were read is both in the store and buffered.
    const key = (l: TranscriptLine) => `${l.speaker}:${l.start}:${l.text}`;
    const stored = await deps.store.transcripts.lines(callSid, 'live');
    const seen = new Set(stored.map(key));
    for (const line of stored) send(line);
    for (const line of buffered) if (!seen.has(key(line))) send(line);
    replayed = true;
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });
}

export const registerTranscriptApi: ApiRoutes = (api, deps) => {
  registerCallTranscript(api, deps);
  registerSeedTranscript(api, deps);
};
