// A call's files, wherever they are kept. Jobs check out the files they read into a local
// folder and commit the files they write; with the local store that folder is the call's own
// folder and both steps do nothing, with object storage it is a private working folder that is
// filled from the bucket and removed afterwards. Any gateway can therefore run any job.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ObjectRead, ObjectStore } from './object-store.js';

export interface Workdir {
  /** a local folder holding the checked-out files; write outputs here */
  dir: string;
  /** Stores outputs from `dir`; resolves once each stored copy is verified. */
  commit(files: readonly string[], signal?: AbortSignal): Promise<void>;
  /** Drops the working copy (object storage only). Always call it, in a finally. */
  release(): Promise<void>;
}

export interface CallFile {
  file: string;
  bytes: number;
}

export class CallFiles {
  private readonly workRoot: string;

  constructor(readonly store: ObjectStore, private readonly recordingsDir: string, instanceId: string) {
    // Per instance, so a restart clears only its own leftovers even on a shared disk.
    this.workRoot = path.join(recordingsDir, '.work', instanceId);
  }

  get remote(): boolean {
    return this.store.kind !== 'local';
  }

  /** The local spool folder of a call: live capture writes here in every mode. */
  spoolDir(callSid: string): string {
    return path.join(this.recordingsDir, callSid);
  }

  /** Removes working folders a killed process left behind. Call once at startup. */
  async clearWork(): Promise<void> {
    await fs.promises.rm(this.workRoot, { recursive: true, force: true });
  }

  async checkout(callSid: string, files: readonly string[], signal?: AbortSignal): Promise<Workdir> {
    if (!this.remote) {
      const dir = this.spoolDir(callSid);
      await fs.promises.mkdir(dir, { recursive: true });
      return { dir, commit: async () => undefined, release: async () => undefined };
    }
    const dir = path.join(this.workRoot, `${callSid}-${randomBytes(4).toString('hex')}`);
    await fs.promises.mkdir(dir, { recursive: true });
    const release = () => fs.promises.rm(dir, { recursive: true, force: true });
    try {
      for (const f of files) await this.store.getToFile(`${callSid}/${f}`, path.join(dir, f), signal);
    } catch (err) {
      await release();
      throw err;
    }
    return {
      dir,
      commit: async (out, sig) => {
        for (const f of out) await this.store.putFile(`${callSid}/${f}`, path.join(dir, f), sig);
      },
      release,
    };
  }

  /** Uploads finished spool files, verified, then frees them locally (object storage only). */
  async publishSpool(callSid: string, files: readonly string[], signal?: AbortSignal): Promise<void> {
    if (!this.remote) return;
    const dir = this.spoolDir(callSid);
    for (const f of files) {
      const local = path.join(dir, f);
      const size = await fs.promises.stat(local).then((s) => s.size, () => null);
      // Already uploaded and freed by an earlier attempt that died before it recorded so.
      if (size === null && (await this.store.size(`${callSid}/${f}`)) !== null) continue;
      await this.store.putFile(`${callSid}/${f}`, local, signal);
    }
    for (const f of files) await fs.promises.rm(path.join(dir, f), { force: true });
    await fs.promises.rmdir(dir).catch(() => undefined); // only when empty: another stream may still write
  }

  /** A local path to read a stored file from: the file itself with the local store, else a copy
   *  fetched into `tmpDir` (the caller removes it). */
  async localCopy(callSid: string, file: string, tmpDir: string, signal?: AbortSignal): Promise<string> {
    if (!this.remote) return path.join(this.spoolDir(callSid), file);
    const copy = path.join(tmpDir, file);
    await this.store.getToFile(`${callSid}/${file}`, copy, signal);
    return copy;
  }

  async list(callSid: string): Promise<CallFile[]> {
    const objects = await this.store.list(callSid);
    return objects.map((o) => ({ file: o.key.slice(callSid.length + 1), bytes: o.bytes }));
  }

  read(callSid: string, file: string, range?: { start: number; end: number }): Promise<ObjectRead | null> {
    return this.store.read(`${callSid}/${file}`, range);
  }

  /** The first bytes of a file (e.g. a WAV header), or null when it is missing. `knownSize`
   *  (from list()) saves asking the store for it. */
  async head(callSid: string, file: string, bytes: number, knownSize?: number): Promise<{ head: Buffer; size: number } | null> {
    const size = knownSize ?? (await this.store.size(`${callSid}/${file}`));
    if (size === null) return null;
    if (size === 0) return { head: Buffer.alloc(0), size };
    const got = await this.read(callSid, file, { start: 0, end: Math.min(bytes, size) - 1 });
    if (!got) return null;
    const chunks: Buffer[] = [];
    for await (const c of got.body) chunks.push(c as Buffer);
    return { head: Buffer.concat(chunks), size };
  }

  async remove(callSid: string): Promise<number> {
    const n = await this.store.deletePrefix(callSid);
    if (this.remote) await fs.promises.rm(this.spoolDir(callSid), { recursive: true, force: true });
    return n;
  }
}
