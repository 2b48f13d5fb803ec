import { Worker } from 'node:worker_threads';
import { JobError, retryable } from '../errors.js';
import type { ReconcileInput, ReconcileReport } from './run.js';

// Compiled, the worker is plain .js. Under tsx (tests, development) it is .ts, and a worker
// thread does not inherit tsx's loader, so a tiny bootstrap registers it first.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);
const BOOTSTRAP = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER.href)}); });`;

/** The work streams files in windows and keeps only envelopes, so its live memory is small; a
 *  small young generation keeps V8 from holding tens of MiB of garbage between scavenges (the
 *  default lets it grow to 16 MiB semi-spaces), at no measurable cost in speed. */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 4 };

const startWorker = (workerData: unknown) =>
  FROM_SOURCE ? new Worker(BOOTSTRAP, { eval: true, workerData, resourceLimits: RESOURCE_LIMITS })
    : new Worker(WORKER, { workerData, resourceLimits: RESOURCE_LIMITS });

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
