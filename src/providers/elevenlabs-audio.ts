// A conversation's audio becomes <RECORDINGS_DIR>/EL-<id>/cloud.EL-<id>.mp3, whether it came as
// base64 in the post_call_audio webhook or from the audio API. Bytes go to a .part file as they
// arrive, hashed and checked frame by frame; the file only appears, fsynced and renamed, once it
// is a whole MP3, so a crash or a bad delivery never leaves a corrupt recording behind.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Mp3Scanner, type Mp3Info } from '../audio/mp3.js';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import type { VerifiedFile } from '../store/recordings.js';

export const audioApiPath = (conversationId: string) => `/v1/convai/conversations/${encodeURIComponent(conversationId)}/audio`;
export const cloudNameOf = (callSid: string) => `cloud.${callSid}.mp3`;

export class Base64Error extends Error {
  override readonly name = 'Base64Error';
}

/** Sextet of each base64 byte (standard and URL-safe alphabets); -1 not base64, -2 white space. */
const SEXTET = (() => {
  const t = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  t[0x2d] = 62; // -
  t[0x5f] = 63; // _
  for (const c of [0x20, 0x09, 0x0a, 0x0d]) t[c] = -2;
  return t;
})();
const PAD = 0x3d;

/**
 * Standard or URL-safe base64 as it streams in, decoded byte by byte into one reused buffer:
 * no strings, so a body of hundreds of MB leaves no garbage behind. Line breaks are ignored,
 * anything else that is not base64 is refused. push() appends; take() hands out what is decoded
 * so far (valid until the next push).
 */
export class Base64Stream {
  private out = Buffer.alloc(64 * 1024);
  private n = 0;
  private acc = 0;
  private bits = 0;
  private pads = 0;

  push(ascii: Uint8Array): void {
    const need = this.n + Math.ceil((ascii.length * 3) / 4) + 3;
    if (need > this.out.length) this.out = Buffer.concat([this.out.subarray(0, this.n)], Math.max(need, this.out.length * 2));
    const out = this.out;
    let { n, acc, bits } = this;
    for (let i = 0; i < ascii.length; i++) {
      const c = ascii[i]!;
      const v = SEXTET[c]!;
      if (v >= 0 && this.pads === 0) {
        acc = ((acc << 6) | v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          out[n++] = (acc >> bits) & 0xff;
        }
      } else if (c === PAD && this.pads < 2 && bits > 0) {
        this.pads++;
      } else if (v !== -2) {
        this.n = n;
        throw new Base64Error(c === PAD || this.pads > 0 ? 'full_audio has misplaced base64 padding' : 'full_audio is not base64');
      }
    }
    Object.assign(this, { n, acc, bits });
  }

  /** The bytes decoded since the last take(). */
  take(): Buffer {
    const got = this.out.subarray(0, this.n);
    this.n = 0;
    return got;
  }

  /** Checks the data ended on a whole group (padded or not). */
  end(): void {
    // 6 leftover bits: a lone character; 2 or 4 bits are what 2 or 3 characters leave over
    const pads = this.bits === 4 ? 2 : this.bits === 2 ? 1 : 0;
    if (this.bits === 6 || (this.pads > 0 && this.pads !== pads)) {
      throw new Base64Error('full_audio ends in the middle of a base64 group');
    }
  }
}

/** An MP3 kept on disk and measured: what markReady needs, and what the frames said. */
export interface SavedMp3 {
  file: VerifiedFile;
  mp3: Mp3Info;
}

/** The .part file of a recording: write() in order, then commit() (verify, fsync, rename) or abort(). */
export class Mp3PartFile {
  private readonly hash = createHash('sha256');
  private readonly scanner = new Mp3Scanner();
  private bytes = 0;

  private constructor(
    private readonly files: CallFiles,
    private readonly callSid: string,
    readonly target: string,
    private readonly handle: fs.promises.FileHandle,
  ) {}

  /** Written in the call's spool folder; with object storage, commit() moves it there. */
  static async open(files: CallFiles, callSid: string): Promise<Mp3PartFile> {
    const target = path.join(files.spoolDir(callSid), cloudNameOf(callSid));
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    return new Mp3PartFile(files, callSid, target, await fs.promises.open(`${target}.part`, 'w'));
  }

  get part(): string {
    return `${this.target}.part`;
  }

  async write(buf: Buffer): Promise<void> {
    if (buf.length === 0) return;
    this.hash.update(buf);
    this.scanner.push(buf);
    this.bytes += buf.length;
    await this.handle.write(buf);
  }

  /** Throws Mp3FormatError (and removes the .part) when the bytes are not a whole MP3. */
  async commit(): Promise<SavedMp3> {
    try {
      const mp3 = this.scanner.end();
      await this.handle.sync();
      await this.handle.close();
      await fs.promises.rename(this.part, this.target);
      await this.files.publishSpool(this.callSid, [path.basename(this.target)]);
      const file: VerifiedFile = {
        filePath: `${this.callSid}/${path.basename(this.target)}`, fileBytes: this.bytes, sha256: this.hash.digest('hex'),
        fileChannels: mp3.channels, fileSampleRate: mp3.sampleRate, fileDurationS: Math.round(mp3.durationS * 1000) / 1000,
      };
      return { file, mp3 };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fs.promises.rm(this.part, { force: true });
  }
}

const locks = new Map<string, Promise<unknown>>();

/** One writer per recording in this process: the webhook and the fetch job share the .part name. */
export async function withAudioLock<T>(callSid: string, fn: () => Promise<T>): Promise<T> {
  const before = locks.get(callSid) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(fn);
  locks.set(callSid, mine);
  try {
    return await mine;
  } finally {
    if (locks.get(callSid) === mine) locks.delete(callSid);
  }
}

/** The recording row of a conversation's audio (its id is the call's `EL-<id>`). */
export async function ensureAudioRecording(store: Store, callSid: string, conversationId: string, providerStatus: string) {
  const existing = await store.recordings.get(callSid);
  if (existing) return existing;
  return store.recordings.upsert({
    recordingSid: callSid, provider: 'elevenlabs', callSid, accountSid: null, providerStatus, mediaPath: audioApiPath(conversationId),
  });
}

/** Ready and on disk: nothing more to fetch or decode. */
export async function audioReady(store: Store, files: CallFiles, callSid: string): Promise<boolean> {
  const rec = await store.recordings.get(callSid);
  return rec?.state === 'ready' && (await files.store.size(`${callSid}/${cloudNameOf(callSid)}`)) !== null;
}
