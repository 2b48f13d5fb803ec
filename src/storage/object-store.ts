// Where finished recordings live: the local recordings folder (the embedded default) or an
// S3-compatible bucket. Keys are `<callSid>/<file>`, the same layout as RECORDINGS_DIR, so the
// contract of names holds in both.
import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  bytes: number;
}

export interface ObjectRead {
  body: Readable;
  /** size of the whole object */
  size: number;
  /** the served slice, inclusive, when a range was asked for */
  range: { start: number; end: number } | null;
}

export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** for logs and health: where objects go, without credentials */
  readonly location: string;
  /** Copies a local file in; resolves only once the stored copy is verified (size and checksum). */
  putFile(key: string, file: string, signal?: AbortSignal): Promise<StoredObject>;
  /** Streams an object to a local file (through a .part file, renamed once complete). */
  getToFile(key: string, file: string, signal?: AbortSignal): Promise<number>;
  /** null when missing */
  size(key: string): Promise<number | null>;
  /** Objects under `<prefix>/`, one level (no sub-folders), with sizes. */
  list(prefix: string): Promise<StoredObject[]>;
  /** A byte range (inclusive) or the whole object; null when missing. */
  read(key: string, range?: { start: number; end: number }): Promise<ObjectRead | null>;
  /** Removes every object under `<prefix>/`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Writes, reads back and removes a probe object (readiness). */
  probe(): Promise<void>;
}
