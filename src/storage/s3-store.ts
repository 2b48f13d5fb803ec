// Finished recordings in an S3-compatible bucket. Uploads are verified end to end: every part
// carries its Content-MD5 (the server refuses a corrupted part), and the stored object's size
// and ETag must equal what the local bytes give, so a copy is only trusted, and the spool only
// freed, once the bucket holds exactly the file.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectsCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { ObjectRead, ObjectStore, StoredObject } from './object-store.js';

export interface S3StoreOptions {
  bucket: string;
  /** key prefix inside the bucket, without leading or trailing slash ('' for none) */
  prefix: string;
  client: S3ClientConfig;
  /** files above this go up in parts of this size (S3's minimum part is 5 MiB) */
  partBytes?: number;
}

const DEFAULT_PART = 8 * 1024 * 1024;
const CONTENT_TYPES: Record<string, string> = { '.wav': 'audio/wav', '.mp3': 'audio/mpeg', '.json': 'application/json' };

const md5 = (b: Buffer) => createHash('md5').update(b).digest();
const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

/** Reads a slice of a file into memory (one part at a time is what multipart needs anyway). */
async function readSlice(h: fs.promises.FileHandle, start: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await h.read(buf, got, length - got, start + got);
    if (bytesRead === 0) throw new Error('the file shrank while it was being uploaded');
    got += bytesRead;
  }
  return buf;
}

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  readonly location: string;
  private readonly s3: S3Client;
  private readonly partBytes: number;

  constructor(private readonly opts: S3StoreOptions) {
    this.s3 = new S3Client(opts.client);
    this.partBytes = opts.partBytes ?? DEFAULT_PART;
    this.location = `s3://${opts.bucket}/${opts.prefix}`;
  }

  private full(key: string) {
    return this.opts.prefix ? `${this.opts.prefix}/${key}` : key;
  }

  async putFile(key: string, file: string, signal?: AbortSignal): Promise<StoredObject> {
    const h = await fs.promises.open(file, 'r');
    try {
      const size = (await h.stat()).size;
      const expected = size <= this.partBytes ? await this.putSingle(key, h, size, signal) : await this.putMultipart(key, h, size, signal);
      await this.verify(key, size, expected, signal);
      return { key, bytes: size };
    } finally {
      await h.close();
    }
  }

  private async putSingle(key: string, h: fs.promises.FileHandle, size: number, signal?: AbortSignal): Promise<string[]> {
    const body = await readSlice(h, 0, size);
    const digest = md5(body);
    await this.s3.send(new PutObjectCommand({
      Bucket: this.opts.bucket, Key: this.full(key), Body: body, ContentLength: size, ContentMD5: digest.toString('base64'),
      ContentType: CONTENT_TYPES[path.extname(key)] ?? 'application/octet-stream',
    }), { abortSignal: signal });
    return [digest.toString('hex')];
  }

  private async putMultipart(key: string, h: fs.promises.FileHandle, size: number, signal?: AbortSignal): Promise<string[]> {
    const Bucket = this.opts.bucket;
    const Key = this.full(key);
    const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({
      Bucket, Key, ContentType: CONTENT_TYPES[path.extname(key)] ?? 'application/octet-stream',
    }), { abortSignal: signal });
    const digests: Buffer[] = [];
    const whole = createHash('md5');
    const parts: Array<{ ETag: string; PartNumber: number }> = [];
    try {
      for (let start = 0, n = 1; start < size; start += this.partBytes, n++) {
        const body = await readSlice(h, start, Math.min(this.partBytes, size - start));
        const digest = md5(body);
        digests.push(digest);
        whole.update(body);
        const out = await this.s3.send(new UploadPartCommand({
          Bucket, Key, UploadId, PartNumber: n, Body: body, ContentLength: body.length, ContentMD5: digest.toString('base64'),
        }), { abortSignal: signal });
        parts.push({ ETag: out.ETag ?? '', PartNumber: n });
      }
      await this.s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }), { abortSignal: signal });
    } catch (err) {
      // Parts of an abandoned upload are billed until aborted.
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
    // S3 names a multipart object by the MD5 of its parts' MD5s; some compatible servers
    // (s3rver, some gateways) by the MD5 of the whole: either proves the same bytes.
    return [`${md5(Buffer.concat(digests)).toString('hex')}-${digests.length}`, whole.digest('hex')];
  }

  /** Size always; the ETag where it is the MD5 form (not with SSE-KMS, where parts' MD5s were
   *  checked by the server as they arrived). */
  private async verify(key: string, size: number, etags: string[], signal?: AbortSignal): Promise<void> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.full(key) }), { abortSignal: signal });
    if (head.ContentLength !== size) throw new Error(`stored ${key} holds ${head.ContentLength} bytes, the file ${size}`);
    const stored = (head.ETag ?? '').replace(/"/g, '');
    if (/^[0-9a-f]{32}(-\d+)?$/.test(stored) && !etags.includes(stored)) throw new Error(`stored ${key} has ETag ${stored}, the file gives ${etags.join(' or ')}`);
  }

  async getToFile(key: string, file: string, signal?: AbortSignal): Promise<number> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.full(key) }), { abortSignal: signal });
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const part = `${file}.part`;
    try {
      await pipeline(out.Body as Readable, fs.createWriteStream(part), { signal });
      const bytes = (await fs.promises.stat(part)).size;
      if (out.ContentLength !== undefined && bytes !== out.ContentLength) throw new Error(`${key}: got ${bytes} of ${out.ContentLength} bytes`);
      await fs.promises.rename(part, file);
      return bytes;
    } finally {
      await fs.promises.rm(part, { force: true });
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.full(key) }));
      return head.ContentLength ?? 0;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  private async *keys(prefix: string, delimiter?: string) {
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({
        Bucket: this.opts.bucket, Prefix: `${this.full(prefix)}/`, Delimiter: delimiter, ContinuationToken: token,
      }));
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, bytes: o.Size ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const strip = this.opts.prefix ? this.opts.prefix.length + 1 : 0;
    for await (const o of this.keys(prefix, '/')) out.push({ key: o.key.slice(strip), bytes: o.bytes });
    return out;
  }

  async read(key: string, range?: { start: number; end: number }): Promise<ObjectRead | null> {
    try {
      const out = await this.s3.send(new GetObjectCommand({
        Bucket: this.opts.bucket, Key: this.full(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined,
      }));
      const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
      return { body: out.Body as Readable, size: total !== undefined ? Number(total) : out.ContentLength ?? 0, range: range ?? null };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const all: string[] = [];
    for await (const o of this.keys(prefix)) all.push(o.key);
    for (let i = 0; i < all.length; i += 1000) {
      const Objects = all.slice(i, i + 1000).map((Key) => ({ Key }));
      await this.s3.send(new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects, Quiet: true } }));
    }
    return all.length;
  }

  async probe(): Promise<void> {
    const key = `.probe/${process.pid}-${Date.now()}`;
    const Bucket = this.opts.bucket;
    await this.s3.send(new PutObjectCommand({ Bucket, Key: this.full(key), Body: 'probe' }));
    const back = await this.s3.send(new GetObjectCommand({ Bucket, Key: this.full(key) }));
    const text = await new Response(Readable.toWeb(back.Body as Readable) as ReadableStream).text();
    await this.s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: this.full(key) }], Quiet: true } }));
    if (text !== 'probe') throw new Error('the probe object read back differently');
  }
}
