// The embedded default: objects are files under RECORDINGS_DIR, so a job working in a call's
// folder has nothing to copy, and the folder is the store.
import fs from 'node:fs';
import path from 'node:path';
import type { ObjectRead, ObjectStore, StoredObject } from './object-store.js';
import { fsyncFile } from '../jobs/save-body.js';


/** Opens without following links, neither the file nor its call folder: the gateway never makes
 *  any, so a link is not ours to serve. */
async function openPlain(file: string): Promise<fs.promises.FileHandle | null> {
  try {
    if (!(await fs.promises.lstat(path.dirname(file))).isDirectory()) return null;
    const h = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    if ((await h.stat()).isFile()) return h;
    await h.close();
  } catch {
    // missing, a link, or unreadable: all the same to the caller
  }
  return null;
}

export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local';
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = path.resolve(root);
  }

  /** Keys are `<callSid>/<file>`: exactly two plain segments, so nothing escapes the root. */
  private pathOf(key: string): string {
    const parts = key.split('/');
    if (parts.length !== 2 || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) throw new Error(`invalid object key ${key}`);
    return path.join(this.location, ...parts);
  }

  async putFile(key: string, file: string): Promise<StoredObject> {
    const target = this.pathOf(key);
    if (path.resolve(file) !== target) {
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      const part = `${target}.part`;
      await fs.promises.copyFile(file, part);
      await fsyncFile(part);
      await fs.promises.rename(part, target);
    }
    return { key, bytes: (await fs.promises.stat(target)).size };
  }

  async getToFile(key: string, file: string): Promise<number> {
    const source = this.pathOf(key);
    if (path.resolve(file) !== source) {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await fs.promises.copyFile(source, file);
    }
    return (await fs.promises.stat(file)).size;
  }

  async size(key: string): Promise<number | null> {
    const file = this.pathOf(key);
    const dir = await fs.promises.lstat(path.dirname(file)).catch(() => null);
    const st = dir?.isDirectory() ? await fs.promises.lstat(file).catch(() => null) : null;
    return st?.isFile() ? st.size : null;
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const dir = path.join(this.location, prefix);
    if (!(await fs.promises.lstat(dir).catch(() => null))?.isDirectory()) return [];
    const entries = await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => []);
    const out: StoredObject[] = [];
    // isFile() is false for symlinks: nothing outside the folder is ever offered.
    for (const e of entries) {
      if (!e.isFile() || e.name.endsWith('.part')) continue;
      const st = await fs.promises.stat(path.join(dir, e.name)).catch(() => null);
      if (st) out.push({ key: `${prefix}/${e.name}`, bytes: st.size });
    }
    return out;
  }

  async read(key: string, range?: { start: number; end: number }): Promise<ObjectRead | null> {
    const h = await openPlain(this.pathOf(key));
    if (!h) return null;
    const size = (await h.stat()).size;
    return { body: h.createReadStream(range ? { start: range.start, end: range.end } : {}), size, range: range ?? null };
  }

  async deletePrefix(prefix: string): Promise<number> {
    const found = await this.list(prefix);
    await fs.promises.rm(path.join(this.location, prefix), { recursive: true, force: true });
    return found.length;
  }

  async probe(): Promise<void> {
    const file = path.join(this.location, `.probe-${process.pid}-${Date.now()}`);
    await fs.promises.writeFile(file, 'probe');
    await fsyncFile(file);
    await fs.promises.rm(file);
  }
}
