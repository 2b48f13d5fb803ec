import { Worker } from 'node:worker_threads';
import { JobError, retryable } from '../errors.js';
import type { ReconcileInput, ReconcileReport } from './run.js';

// Compiled, the worker is plain .js. Under tsx (tests, development) it is .ts, and a worker
// thread does not inherit tsx's loader, so a tiny bootstrap registers it first.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);
const BOOTSTRAP = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER.href)}); });`;

const startWorker = (workerData: unknown) =>
  FROM_SOURCE ? new Worker(BOOTSTRAP, { eval: true, workerData }) : new Worker(WORKER, { workerData });

type Reply = { ok: true; report: ReconcileReport } | { ok: false; error: { code: string; message: string; retryable: boolean } };

/** Runs one reconciliation in its own worker thread; aborting the signal terminates it. */
export function reconcileInWorker(input: ReconcileInput, signal?: AbortSignal): Promise<ReconcileReport> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(input);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      void worker.terminate();
      finish(() => reject(signal?.reason ?? retryable('aborted', 'reconciliation aborted')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: Reply) =>
      finish(() => (reply.ok ? resolve(reply.report) : reject(new JobError(reply.error.code, reply.error.message, reply.error.retryable)))));
    worker.once('error', (err) => finish(() => reject(retryable('worker_error', `reconciliation worker failed: ${err.message}`, err))));
    worker.once('exit', (code) => finish(() => reject(retryable('worker_exit', `reconciliation worker exited with code ${code}`))));
  });
}
