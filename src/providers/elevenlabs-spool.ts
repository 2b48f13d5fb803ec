// The raw body of an ElevenLabs webhook goes to a spool file under <RECORDINGS_DIR>/.incoming/
// <instance>/ as it arrives (up to a limit), with the signature's HMAC and a syntax scan computed on the way,
// so even a 200 MB post_call_audio is never in memory. Its audio is then decoded from the spool
// straight into the recording's .part file.
import { createHash, randomUUID, type Hmac } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Base64Stream, type Mp3PartFile } from './elevenlabs-audio.js';
import { JsonScanner, type JsonScalar, type JsonSyntaxError } from './elevenlabs-json.js';

export const SPOOL_DIR = '.incoming';

/** Per instance, so clearing it at startup never touches another gateway's upload on a shared disk. */
export const spoolDirOf = (recordingsDir: string, instanceId: string) => path.join(recordingsDir, SPOOL_DIR, instanceId);

/** Removes what a killed process left in this instance's spool. Call once at startup. */
export async function clearSpool(dir: string): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true });
}

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}
export class BodyAborted extends Error {
  override readonly name = 'BodyAborted';
}

export interface Spooled {
  file: string;
  bytes: number;
  hmacHex: string;
  sha256: string;
  /** the collected scalars by dotted path (not to be trusted before the signature is) */
  fields: Map<string, JsonScalar>;
  /** set when the body is not JSON */
  jsonError: JsonSyntaxError | Error | null;
}

export interface SpoolOptions {
  /** this instance's spool folder (spoolDirOf) */
  dir: string;
  maxBytes: number;
  hmac: Hmac;
  collect: readonly string[];
}

/** Reads the request to the spool with backpressure. On failure the spool file is gone and the
 *  request is left paused: the caller answers and then drops the connection. */
export async function spoolBody(req: IncomingMessage, o: SpoolOptions): Promise<Spooled> {
  await fs.promises.mkdir(o.dir, { recursive: true });
  const file = path.join(o.dir, `elevenlabs-${randomUUID()}.json`);
  const out = fs.createWriteStream(file, { flags: 'wx' });
  const sha = createHash('sha256');
  const scanner = new JsonScanner({ collect: o.collect });
  let bytes = 0;
  let jsonError: Spooled['jsonError'] = null;
  const scan = (f: () => void) => {
    if (jsonError) return;
    try {
      f();
    } catch (err) {
      jsonError = err as Error;
    }
  };
  return new Promise<Spooled>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      if (!err) return resolve({ file, bytes, hmacHex: o.hmac.digest('hex'), sha256: sha.digest('hex'), fields: scanner.values, jsonError });
      req.pause();
      out.destroy();
      fs.promises.rm(file, { force: true }).finally(() => reject(err));
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > o.maxBytes) return finish(new BodyTooLarge(`the body is larger than ${o.maxBytes} bytes`));
      o.hmac.update(chunk);
      sha.update(chunk);
      scan(() => scanner.push(chunk));
      if (!out.write(chunk)) req.pause();
    };
    req.on('data', onData);
    out.on('drain', () => !done && req.resume());
    out.on('error', (err) => finish(err));
    req.on('error', () => finish(new BodyAborted('the upload broke off')));
    req.on('close', () => !req.complete && finish(new BodyAborted('the upload broke off')));
    req.on('end', () => {
      scan(() => scanner.end());
      out.end(() => finish(null));
    });
  });
}

/** Decodes `data.full_audio` of a spooled body into `part`; false when the body has none. */
export async function decodeAudioFromSpool(spool: string, part: Mp3PartFile): Promise<boolean> {
  const b64 = new Base64Stream();
  let found = false;
  const scanner = new JsonScanner({
    stream: {
      path: 'data.full_audio',
      onChunk: (ascii) => {
        found = true;
        b64.push(ascii);
      },
    },
  });
  // Small reads: every buffer stays short-lived, so memory stays flat however large the body.
  for await (const chunk of fs.createReadStream(spool, { highWaterMark: 64 * 1024 })) {
    scanner.push(chunk as Buffer);
    await part.write(b64.take());
  }
  scanner.end();
  b64.end();
  return found;
}
