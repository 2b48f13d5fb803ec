// Downloads to disk for every provider: the body streams to a file with backpressure (memory
// stays flat whatever the size), hashed as it goes, and is abandoned when no byte comes for the
// idle timeout — a stalled transfer must not hold a job slot until the job's own timeout.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { retryable } from './errors.js';

/** `what` names the transfer in errors, e.g. "recording media". */
export async function saveBody(body: ReadableStream<Uint8Array>, dest: string, o: { idleMs: number; what: string }, signal?: AbortSignal) {
  const hash = createHash('sha256');
  let bytes = 0;
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(), o.idleMs);
  const meter = new Transform({
    transform: (chunk: Buffer, _enc, cb) => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), o.idleMs);
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const abort = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
  try {
    await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream), meter, fs.createWriteStream(dest), { signal: abort });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (idle.signal.aborted) throw retryable('stalled', `${o.what} stalled: no data for ${o.idleMs} ms`);
    throw retryable('body_error', `${o.what} failed: ${(err as Error).message}`, err);
  } finally {
    clearTimeout(timer);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Makes a finished file durable before it is renamed into place. */
export async function fsyncFile(file: string): Promise<void> {
  const h = await fs.promises.open(file, 'r+');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
