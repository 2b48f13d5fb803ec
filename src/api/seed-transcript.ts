// POST /api/twilio/transcript/, exactly as seed 004: a whole recording's transcript from a
// recording_sid or an audio_url. audio_url is fetched only from the Twilio API base or from this
// gateway's own signed media URLs (no SSRF). Results are cached per recording.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { StreamResampler } from '../audio/resample.js';
import { WavFileWriter } from '../capture/wav-writer.js';
import { JobError } from '../jobs/errors.js';
import { WavFileReader } from '../jobs/wav-file.js';
import { recordingPath, type RecordingResource } from '../twilio/rest.js';
import { transcribeSpeaker } from '../transcription/post-call.js';
import type { ApiDeps } from './index.js';
import { isServable } from './media.js';
import { isoFromTwilio } from './recordings-view.js';

const Body = Type.Object({
  recording_sid: Type.Optional(Type.String()),
  audio_url: Type.Optional(Type.String()),
}, { additionalProperties: false });

type Source = { kind: 'twilio'; path: string; sid: string } | { kind: 'local'; callSid: string; file: string; sid: string | null };

/** Where audio_url may point: the Twilio API base (a recording path), or our own signed media. */
function sourceOf(url: string, deps: ApiDeps): Source | { error: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { error: 'audio_url is not a URL' };
  }
  if (u.origin === new URL(deps.config.twilio.apiBaseUrl).origin) {
    try {
      const p = recordingPath(u.pathname);
      return { kind: 'twilio', path: p, sid: p.slice(-34) };
    } catch {
      return { error: 'audio_url is not a Twilio recording URL' };
    }
  }
  const m = /^\/media\/([^/]+)\/([^/]+)$/.exec(u.pathname);
  if (u.origin === new URL(deps.config.publicUrl).origin && m && isServable(m[1]!, m[2]!)
    && deps.signer.verify(m[1]!, m[2]!, u.searchParams.get('exp') ?? undefined, u.searchParams.get('sig') ?? undefined) === 'ok') {
    return { kind: 'local', callSid: m[1]!, file: m[2]!, sid: /^cloud\.(RE[0-9a-f]{32})\.wav$/i.exec(m[2]!)?.[1] ?? null };
  }
  return { error: "audio_url must be a Twilio recording URL or a signed media URL of this gateway" };
}

/** Any PCM16 WAV to a 16 kHz mono file (channels mixed), streamed. */
async function to16kMono(src: string, dest: string): Promise<void> {
  const r = new WavFileReader(src);
  const w = new WavFileWriter(dest, { sampleRate: 16000, channels: 1 }, 0.5);
  const rs = new StreamResampler(r.format.sampleRate, 16000, 5);
  try {
    const chunk = r.format.sampleRate;
    const mix = new Int16Array(chunk);
    for (let at = 0; at < r.frames; at += chunk) {
      const n = Math.min(chunk, r.frames - at);
      mix.fill(0);
      for (let ch = 0; ch < r.format.channels; ch++) {
        const c = r.readChannel(ch, at, n);
        for (let i = 0; i < n; i++) mix[i] = mix[i]! + Math.round(c[i]! / r.format.channels);
      }
      w.write(rs.process(mix.subarray(0, n)));
    }
    w.write(rs.flush());
  } finally {
    rs.destroy();
    r.close();
    await w.close();
  }
}

async function transcribeFile(deps: ApiDeps, file: string): Promise<string> {
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'cv-seed-'));
  try {
    const mono = path.join(tmp, 'audio.16k.wav');
    await to16kMono(file, mono);
    const reader = new WavFileReader(mono);
    try {
      const lines = await transcribeSpeaker(reader, deps.transcriber!, { speaker: 'customer', ...(deps.config.transcription.language ? { language: deps.config.transcription.language } : {}) });
      return lines.map((l) => l.text).join(' ');
    } finally {
      reader.close();
    }
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

/** Our verified copy if we hold one, else Twilio's media (downloaded to a temporary file). */
async function audioFor(deps: ApiDeps, source: Source, tmp: string): Promise<string> {
  if (source.kind === 'local') return deps.files.localCopy(source.callSid, source.file, tmp);
  const held = await deps.store.recordings.get(source.sid);
  if (held?.state === 'ready' && held.filePath) return deps.files.localCopy(held.callSid, path.basename(held.filePath), tmp);
  const file = path.join(tmp, 'twilio.wav');
  await deps.twilio!.downloadMedia(source.path, false, file);
  return file;
}

export function registerSeedTranscript(api: FastifyInstance, deps: ApiDeps): void {
  api.post<{ Body: { recording_sid?: string; audio_url?: string } }>('/twilio/transcript', {
    schema: { tags: ['transcripts'], summary: "A Twilio recording's transcript (seed API), from recording_sid or audio_url", body: Body },
  }, async (request, reply) => {
    const { recording_sid: sid, audio_url: url } = request.body ?? {};
    if (!sid && !url) return reply.code(400).send({ error: 'Either recording_sid or audio_url is required' });
    if (!deps.transcriber) return reply.code(503).send({ error: 'Transcription is not configured: set OPENAI_API_KEY' });
    let source: Source;
    let details: RecordingResource | null = null;
    if (sid) {
      if (!/^RE[0-9a-f]{32}$/i.test(sid)) return reply.code(404).send({ error: 'Failed to fetch recording details: Recording not found' });
      if (!deps.twilio || !deps.config.twilio.accountSid) return reply.code(503).send({ error: 'Twilio credentials are not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN' });
      source = { kind: 'twilio', path: `/2010-04-01/Accounts/${deps.config.twilio.accountSid}/Recordings/${sid}`, sid };
    } else {
      const s = sourceOf(url!, deps);
      if ('error' in s) return reply.code(400).send({ error: s.error });
      if (s.kind === 'twilio' && !deps.twilio) return reply.code(503).send({ error: 'Twilio credentials are not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN' });
      source = s;
    }
    try {
      if (source.kind === 'twilio') {
        details = await deps.twilio!.fetchRecording(source.path);
        if (details.status !== 'completed') {
          return reply.code(500).send({ error: 'Unexpected error occurred', details: `Transcription failed: Recording not completed (status=${details.status})` });
        }
      }
    } catch (err) {
      if (err instanceof JobError && err.code === 'not_found') return reply.code(404).send({ error: 'Failed to fetch recording details: Recording not found' });
      throw err;
    }
    const cacheKey = source.sid ?? null;
    let text = cacheKey ? (await deps.store.transcripts.getRecording(cacheKey))?.text : undefined;
    if (text === undefined) {
      const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'cv-dl-'));
      try {
        text = await transcribeFile(deps, await audioFor(deps, source, tmp));
      } catch (err) {
        request.log.warn({ err }, 'seed transcript failed');
        return reply.code(500).send({ error: 'Unexpected error occurred', details: `Transcription failed: ${err instanceof JobError ? err.message : 'internal error'}` });
      } finally {
        await fs.promises.rm(tmp, { recursive: true, force: true });
      }
      if (cacheKey) await deps.store.transcripts.saveRecording(cacheKey, deps.transcriber.model, text);
    }
    return {
      recording_sid: source.sid,
      audio_url: url ?? (source.kind === 'twilio' ? deps.twilio!.mediaUrl(source.path) : null),
      transcript: text,
      ...(details && sid ? { recording_details: { status: details.status, duration: Number(details.duration), date_created: isoFromTwilio(details.date_created ?? null), call_sid: details.call_sid } } : {}),
      status: 'completed',
      timestamp: new Date().toISOString(),
    };
  });
}
