import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { JobQueue, type JobQueueOptions } from '../../src/jobs/queue.js';
import type { Logger } from '../../src/log.js';
import { openStore, type Store, type StoreOptions } from '../../src/store/db.js';
import { createSchema, type Engine } from '../helpers/postgres.js';

export interface Env {
  engine: Engine;
  dir: string;
  store: Store;
  /** Another connection pool on the same database, as a second gateway process would have. */
  openAnother(): Promise<Store>;
  queue(over: Partial<JobQueueOptions> & { store?: Store }): JobQueue;
}

/**
 * A real store on a fresh database (a SQLite file in a fresh folder, or a new Postgres database).
 * Cleanup runs last-in first-out (queues stop before their stores close, stores close before
 * the database and folder go), whatever order tests create them in.
 */
export async function jobsEnv(t: TestContext, engine: Engine = 'sqlite'): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'cv-jobs-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  let options: StoreOptions = { databasePath: join(dir, 'callvault.sqlite') };
  if (engine === 'postgres') {
    const db = await createSchema();
    cleanups.push(() => db.drop());
    options = { databaseUrl: db.url };
  }
  const open = async () => {
    const s = await openStore(options);
    cleanups.push(() => s.close());
    return s;
  };
  const store = await open();
  return {
    engine,
    dir,
    store,
    openAnother: open,
    queue(over) {
      const q = new JobQueue({
        jobs: (over.store ?? store).jobs, instanceId: 'gw-a', log: silentLog(), concurrency: 2, maxAttempts: 3,
        pollMs: 5, backoff: { baseMs: 1, maxMs: 2 }, settleMs: 200, ...over,
      });
      cleanups.push(() => q.stop());
      return q;
    },
  };
}

export function silentLog(): Logger {
  return pino({ level: 'silent' });
}

/** A logger whose JSON lines the test can read. */
export function capturedLog(): { log: Logger; lines: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines: () => lines };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A promise with its resolver outside, for "the handler has started" signals. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects with the signal's reason once it aborts: a handler that honours its signal. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
