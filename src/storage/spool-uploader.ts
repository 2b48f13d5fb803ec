// Moves a finished stream's capture files from this gateway's spool into the object store.
// Only the gateway that captured a stream holds its files, so this is not a shared job: it runs
// here, retries until it succeeds, and what a crash or shutdown interrupts is taken up again by
// resume() at the next start (after crash repair has made the files valid). Once a stream is
// stored, onStored lets post-call work (which any gateway may run) go ahead.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Store } from '../store/db.js';
import type { CallFiles } from './call-files.js';

export interface SpoolUploaderOptions {
  files: CallFiles;
  store: Store;
  instanceId: string;
  log: Logger;
  onStored: (callSid: string) => void;
  /** first retry delay; doubles up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class SpoolUploader {
  private readonly running = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly o: SpoolUploaderOptions) {}

  /** A stream's capture is finalised: store it (at once with the local store). */
  streamFinished(streamSid: string, callSid: string): void {
    if (this.running.has(streamSid) || this.abort.signal.aborted) return;
    const run = this.upload(streamSid, callSid).finally(() => this.running.delete(streamSid));
    this.running.set(streamSid, run);
  }

  /** A call's capture finished here: store each finished stream of this instance not yet stored. */
  callFinished(callSid: string): void {
    this.o.store.streams.listByCall(callSid).then((streams) => {
      for (const s of streams) {
        if (s.instanceId === this.o.instanceId && s.state !== 'open' && s.storedAt === null) this.streamFinished(s.streamSid, callSid);
      }
    }, (err: unknown) => this.o.log.error({ err, callSid }, 'could not look up the streams to store'));
  }

  /** At startup: every finished stream of this instance not yet stored. */
  async resume(): Promise<number> {
    const left = await this.o.store.streams.listUnstored(this.o.instanceId);
    for (const s of left) this.streamFinished(s.streamSid, s.callSid);
    return left.length;
  }

  /** Waits for uploads in flight (bounded by the caller); the rest resume at the next start. */
  async stop(graceMs = 10_000): Promise<void> {
    const all = Promise.allSettled([...this.running.values()]);
    const timer = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([all, timer]);
    this.abort.abort();
    await all;
  }

  get pending(): number {
    return this.running.size;
  }

  private async upload(streamSid: string, callSid: string): Promise<void> {
    const { store, files, log } = this.o;
    const signal = this.abort.signal;
    let delay = this.o.baseDelayMs ?? 1000;
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        const captures = await store.captures.listByStream(streamSid);
        await files.publishSpool(callSid, captures.map((c) => path.basename(c.path)), signal);
        await store.streams.markStored(streamSid);
        if (files.remote) log.info({ callSid, streamSid, files: captures.length, attempt }, 'capture stored in object storage');
        this.o.onStored(callSid);
        return;
      } catch (err) {
        if (signal.aborted) break;
        log.warn({ err, callSid, streamSid, attempt, retryInMs: delay }, 'could not store the capture yet; retrying');
        await sleep(delay, undefined, { signal, ref: false }).catch(() => undefined);
        delay = Math.min(delay * 2, this.o.maxDelayMs ?? 60_000);
      }
    }
    log.info({ callSid, streamSid }, 'capture upload interrupted; it resumes at the next start');
  }
}
