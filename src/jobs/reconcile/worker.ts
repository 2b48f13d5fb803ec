// Worker-thread entry: reconciliation is CPU work and must not run on the event loop that
// serves live media streams (DESIGN: off the capture loop).
import { parentPort, workerData } from 'node:worker_threads';
import { initResampler } from '../../audio/resample.js';
import { JobError } from '../errors.js';
import { reconcile, type ReconcileInput } from './run.js';

try {
  await initResampler();
  const report = await reconcile(workerData as ReconcileInput);
  parentPort?.postMessage({ ok: true, report });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort?.postMessage({
    ok: false,
    error: { code: e instanceof JobError ? e.code : 'internal', message: e.message, retryable: e instanceof JobError ? e.retryable : true },
  });
}
