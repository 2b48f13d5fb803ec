// Post-call job metrics: queue depth from the store at scrape time (one grouped query, bounded
// in time), outcomes and durations as this process's queue reports them.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobQueue } from '../jobs/queue.js';
import type { Logger } from '../log.js';
import type { JobsRepo } from '../store/jobs.js';
import { withTimeout } from './timeout.js';

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export interface JobMetricsDeps {
  jobs: JobsRepo;
  queue: JobQueue;
  log: Logger;
  timeoutMs: number;
}

export function registerJobMetrics(reg: Registry, d: JobMetricsDeps): void {
  new Gauge({
    name: 'callvault_job_queue_depth',
    help: 'Queued and running post-call jobs in the store (shared by every gateway on it), by kind and state',
    labelNames: ['kind', 'state'],
    registers: [reg],
    async collect() {
      this.reset();
      try {
        const rows = await withTimeout(d.jobs.countActiveByKind(), d.timeoutMs, 'job queue depth query');
        for (const r of rows) this.set({ kind: r.kind, state: r.state }, r.count);
      } catch (err) {
        // The rest of the scrape is still worth having; readiness reports the store.
        d.log.warn({ err: { name: (err as Error).name, code: (err as { code?: unknown }).code } }, 'job queue depth not available for metrics');
      }
    },
  });
  const outcomes = new Counter({
    name: 'callvault_job_outcomes_total',
    help: 'Job attempts run by this process, by kind and outcome (succeeded, retried, failed, lost, interrupted, unrecorded)',
    labelNames: ['kind', 'outcome'],
    registers: [reg],
  });
  const durations = new Histogram({
    name: 'callvault_job_duration_seconds',
    help: 'Wall time of each job attempt run by this process, by kind',
    labelNames: ['kind'],
    buckets: DURATION_BUCKETS,
    registers: [reg],
  });
  d.queue.onOutcome((kind, outcome, ms) => {
    outcomes.inc({ kind, outcome });
    durations.observe({ kind }, ms / 1000);
  });
}
