// What bench/download.ts and its children share: the job settings under test and the figures
// each child hands back.
import type { FaultLog } from './dl-faults.js';

/** The settings under test: quick enough for a bench, shaped like production's. */
export const BENCH_JOB_ENV = {
  JOB_BACKOFF_BASE_MS: '200', JOB_BACKOFF_MAX_MS: '5000', JOB_POLL_MS: '50', TWILIO_HTTP_TIMEOUT_MS: '2000', JOB_MAX_ATTEMPTS: '10',
} as const;

export interface LatencyResult {
  rate: number;
  /** ms from posting the callback to the store saying ready, per ready recording */
  readyMs: number[];
  attempts: number[];
  states: Record<string, number>;
  verified: number;
  recordings: number;
  faults: FaultLog;
  mediaRequests: number;
  wallMs: number;
  concurrency: number;
  failures: string[];
  /** run time of each successful job, by kind (from the gateway's log) */
  jobMs: Record<string, number[]>;
}

export interface MemoryResult {
  way: string;
  bytes: number;
  ms: number;
  baselineMiB: number;
  peakMiB: number;
  /** the largest 100 ms sample, and the samples themselves (MiB) */
  sampledPeakMiB: number;
  samples: number[];
  afterGcMiB: number;
  verified: boolean;
}
