// Audio and reports served through short-lived signed URLs, so a browser <audio> element can play
// them with no API key in the page; HTTP Range for seeking. Only names of the recordings
// contract are served, from the call's folder or from object storage.
import { createHmac, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CALL_ID, SERVABLE_FILE } from '../ids.js';
import type { CallFiles } from '../storage/call-files.js';

/** Only names of the contract in DESIGN.md (ids.ts), and nothing else. */
export const isServable = (callSid: string, file: string) => CALL_ID.test(callSid) && SERVABLE_FILE.test(file);

export interface MediaSigner {
  /** An absolute URL valid for the configured time. */
  url(callSid: string, file: string, now?: number): string;
  verify(callSid: string, file: string, exp: string | undefined, sig: string | undefined, now?: number): 'ok' | 'expired' | 'invalid';
}

export function mediaSigner(secret: string, publicUrl: string, ttlS: number): MediaSigner {
  const sign = (callSid: string, file: string, exp: number) =>
    createHmac('sha256', secret).update(`${callSid}/${file}:${exp}`).digest('base64url');
  return {
    url(callSid, file, now = Date.now()) {
      const exp = Math.floor(now / 1000) + ttlS;
      return `${publicUrl}/media/${callSid}/${file}?exp=${exp}&sig=${sign(callSid, file, exp)}`;
    },
    verify(callSid, file, exp, sig, now = Date.now()) {
      const e = Number(exp);
      if (!Number.isInteger(e) || !sig) return 'invalid';
      const want = Buffer.from(sign(callSid, file, e));
      const got = Buffer.from(sig);
      if (got.length !== want.length || !timingSafeEqual(got, want)) return 'invalid';
      return e * 1000 < now ? 'expired' : 'ok';
    },
  };
}

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | null;

/** One `bytes=` range (first-last, first-, or -suffix). Multiple ranges are served whole. */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

const CONTENT_TYPES: Record<string, string> = { '.wav': 'audio/wav', '.mp3': 'audio/mpeg', '.json': 'application/json' };

async function sendFile(reply: FastifyReply, files: CallFiles, callSid: string, file: string, rangeHeader: string | undefined) {
  const size = await files.store.size(`${callSid}/${file}`);
  if (size === null) return reply.code(404).send({ error: 'Not found' });
  const range = parseRange(rangeHeader, size);
  reply.header('Accept-Ranges', 'bytes').header('Content-Type', CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
  reply.header('Cache-Control', 'private, max-age=300');
  if (range === 'unsatisfiable') return reply.code(416).header('Content-Range', `bytes */${size}`).send();
  // Read from the store itself (the local one opens without following links, so a file
  // swapped for a link after the size check is not served either).
  const got = await files.read(callSid, file, range ?? undefined);
  if (!got) return reply.code(404).send({ error: 'Not found' });
  if (range === null) return reply.header('Content-Length', got.size).send(got.body);
  return reply
    .code(206)
    .header('Content-Range', `bytes ${range.start}-${range.end}/${got.size}`)
    .header('Content-Length', range.end - range.start + 1)
    .send(got.body);
}

export function registerMedia(app: FastifyInstance, deps: { signer: MediaSigner; files: CallFiles }): void {
  app.get<{ Params: { callSid: string; file: string }; Querystring: { exp?: string; sig?: string } }>(
    '/media/:callSid/:file',
    { schema: { hide: true } },
    async (request, reply) => {
      const { callSid, file } = request.params;
      if (!isServable(callSid, file)) return reply.code(404).send({ error: 'Not found' });
      const verdict = deps.signer.verify(callSid, file, request.query.exp, request.query.sig);
      if (verdict !== 'ok') return reply.code(403).send({ error: verdict === 'expired' ? 'This media link has expired' : 'Invalid media signature' });
      return sendFile(reply, deps.files, callSid, file, request.headers.range);
    },
  );
}
