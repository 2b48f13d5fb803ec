// The engine for post-call work. Jobs live in the store, so they survive restarts; a process
// runs a job only while it holds the job's lease, which it renews while the handler runs, so a
// process that dies mid-job gives the job up when the lease runs out (see src/store/jobs.ts).
import type { Logger } from '../log.js';
import type { JobErrorInfo, JobRow, JobsRepo } from '../store/jobs.js';
import { errorCode, isRetryable, retryable, type JobError } from './errors.js';

export interface JobContext {
  job: JobRow;
  payload: unknown;
  /** 1-based. */
  attempt: number;
  /** Aborted on timeout, on stop(), and when the lease is lost; its reason is a JobError. */
  signal: AbortSignal;
  /** Carries jobId, kind and attempt. */
  log: Logger;
}

/** Its resolved value is stored as the job's `result` (JSON). */
export type JobHandler = (ctx: JobContext) => Promise<unknown>;

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface JobQueueOptions {
  jobs: JobsRepo;
  instanceId: string;
  log: Logger;
  concurrency: number;
  /** Default for kinds registered without their own. */
  maxAttempts: number;
  leaseMs?: number;
  pollMs?: number;
  backoff?: Backoff;
  /** How long an aborted handler may take to settle before its slot is taken back. */
  settleMs?: number;
  now?: () => number;
  random?: () => number;
}

export interface QueueStats {
  inFlight: number;
  claimed: number;
  succeeded: number;
  retried: number;
  failed: number;
  /** Outcomes dropped because the lease was lost. */
  lost: number;
  /** Put back by stop() without counting the attempt. */
  released: number;
}

type Settings = Required<Omit<JobQueueOptions, 'log'>>;

/** How an attempt ended, as metrics count it: `lost` includes outcomes not written because the
 *  lease was gone, `interrupted` a job put back by stop(), `unrecorded` a store error. */
export type JobOutcome = 'succeeded' | 'retried' | 'failed' | 'lost' | 'interrupted' | 'unrecorded';
export type OutcomeListener = (kind: string, outcome: JobOutcome, ms: number) => void;

export interface RegisterOptions {
  /** Overrides the queue's default for this kind; enqueue may override it per job. */
  maxAttempts?: number;
  /** Past this the handler's signal aborts and the attempt fails as a retryable `timeout`. */
  timeoutMs?: number;
}

type Registered = RegisterOptions & { handler: JobHandler };

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

interface Running {
  job: JobRow;
  ac: AbortController;
  /** The first abort's cause decides how the outcome is read. */
  reason: 'timeout' | 'stop' | undefined;
  lost: boolean;
  renewing: boolean;
  leaseExpiresAt: number;
  done: Promise<void>;
}

/** "Equal jitter": half the exponential delay fixed, half random, so retries spread out but still grow. */
export function backoffMs(attempt: number, b: Backoff, random: () => number): number {
  const cap = Math.min(b.maxMs, b.baseMs * 2 ** (attempt - 1));
  return Math.round(cap * (0.5 + 0.5 * random()));
}

function errorInfo(err: unknown, at: number): JobErrorInfo {
  const message = err instanceof Error ? err.message : String(err);
  return { code: errorCode(err), message: message.slice(0, 2000), retryable: isRetryable(err), at: new Date(at).toISOString() };
}

/** Only name and driver code: a database error's message can quote the row it was writing. */
function safeErr(err: unknown): { name: string; code: unknown } {
  if (!(err instanceof Error)) return { name: typeof err, code: undefined };
  return { name: err.name, code: (err as { code?: unknown }).code };
}

export class JobQueue {
  private readonly c: Settings;
  private readonly log: Logger;
  private readonly handlers = new Map<string, Registered>();
  private readonly running = new Set<Running>();
  private readonly counters = { claimed: 0, succeeded: 0, retried: 0, failed: 0, lost: 0, released: 0 };
  private loopDone: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private round = 0;
  private drainWaiters: { after: number; resolve: () => void }[] = [];
  private readonly outcomeListeners: OutcomeListener[] = [];

  constructor(o: JobQueueOptions) {
    if (!(o.concurrency >= 1) || !(o.maxAttempts >= 1)) throw new Error('concurrency and maxAttempts must be at least 1');
    this.log = o.log.child({ component: 'jobs', instanceId: o.instanceId });
    this.c = {
      jobs: o.jobs, instanceId: o.instanceId, concurrency: o.concurrency, maxAttempts: o.maxAttempts,
      leaseMs: o.leaseMs ?? 60_000, pollMs: o.pollMs ?? 1000, backoff: o.backoff ?? { baseMs: 2000, maxMs: 10 * 60_000 },
      settleMs: o.settleMs ?? 5000, now: o.now ?? Date.now, random: o.random ?? Math.random,
    };
  }

  register(kind: string, handler: JobHandler, opts: RegisterOptions = {}): void {
    if (this.handlers.has(kind)) throw new Error(`job kind ${kind} is already registered`);
    this.handlers.set(kind, { ...opts, handler });
    this.wake();
  }

  /** Idempotent by `key`: a second enqueue returns the existing job with `created: false`. */
  async enqueue(kind: string, key: string, payload: unknown, opts: { delayMs?: number; maxAttempts?: number } = {}) {
    const maxAttempts = opts.maxAttempts ?? this.handlers.get(kind)?.maxAttempts ?? this.c.maxAttempts;
    if (!(maxAttempts >= 1)) throw new Error('maxAttempts must be at least 1');
    const res = await this.c.jobs.enqueue({ kind, key, payload, runAt: this.c.now() + (opts.delayMs ?? 0), maxAttempts });
    // The same key for two kinds is a bug in the caller, not a duplicate webhook.
    if (res.job.kind !== kind) throw new Error(`job key ${key} already belongs to kind ${res.job.kind}`);
    if (res.created) this.wake();
    return res;
  }

  /** Takes back what this instance's previous (dead) process left running, then starts claiming. */
  async start(): Promise<void> {
    if (this.loopDone || this.stopping) throw new Error('job queue already started or stopped');
    const { requeued, failed } = await this.c.jobs.releaseOwn(this.c.instanceId, this.c.now());
    this.log.info({ requeued, failed }, 'job queue started');
    this.loopDone = this.loop();
  }

  /** Stops claiming, aborts running handlers and waits (at most settleMs each) for them. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /** For tests: resolves once a claim round started after this call found nothing due and nothing runs. */
  drain(): Promise<void> {
    if (!this.loopDone || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters.push({ after: this.round + 1, resolve });
      this.wake();
    });
  }

  /** Told after each attempt's outcome is recorded (metrics). */
  onOutcome(listener: OutcomeListener): void {
    this.outcomeListeners.push(listener);
  }

  stats(): QueueStats {
    return { inFlight: this.running.size, ...this.counters };
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
    for (const e of this.running) this.abort(e, 'stop', retryable('stopped', 'job queue stopping'));
    await Promise.all([...this.running].map((e) => e.done));
    this.resolveDrains(Infinity);
    this.log.info(this.stats(), 'job queue stopped');
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const round = ++this.round;
      const nothingDue = await this.fill();
      if (nothingDue && this.running.size === 0) this.resolveDrains(round);
      await this.sleep();
    }
  }

  /** Claims until every slot is busy. True when nothing was due. */
  private async fill(): Promise<boolean> {
    while (!this.stopping && this.running.size < this.c.concurrency) {
      let job: JobRow | undefined;
      try {
        job = await this.c.jobs.claim(this.c.instanceId, this.c.now(), this.c.leaseMs, [...this.handlers.keys()]);
      } catch (err) {
        this.log.error({ err: safeErr(err) }, 'job claim failed');
        return false;
      }
      if (!job) return true;
      this.counters.claimed++;
      if (this.stopping) {
        await this.putBack(job);
        return false;
      }
      this.launch(job);
    }
    return false;
  }

  private launch(job: JobRow): void {
    // We claimed our own job again: our lease lapsed (a stalled event loop), so the old run is void.
    for (const e of this.running) if (e.job.id === job.id) this.lose(e);
    const e: Running = {
      job, ac: new AbortController(), reason: undefined, lost: false, renewing: false,
      leaseExpiresAt: job.leaseExpiresAt ?? 0, done: Promise.resolve(),
    };
    this.running.add(e);
    e.done = this.run(e).finally(() => {
      this.running.delete(e);
      this.wake();
    });
  }

  private async run(e: Running): Promise<void> {
    const { job } = e;
    const log = this.log.child({ jobId: job.id, kind: job.kind, attempt: job.attempts });
    const reg = this.handlers.get(job.kind);
    if (!reg) return; // unreachable: claims ask only for registered kinds
    const renewer = setInterval(() => void this.renew(e), Math.max(1, Math.floor(this.c.leaseMs / 3)));
    const { timeoutMs } = reg;
    const overrun = () => this.abort(e, 'timeout', retryable('timeout', `handler exceeded ${timeoutMs} ms`));
    const timer = timeoutMs === undefined ? undefined : setTimeout(overrun, timeoutMs);
    const started = Date.now();
    let outcome: Outcome;
    try {
      outcome = await this.invoke(reg.handler, e, log);
    } finally {
      clearInterval(renewer);
      clearTimeout(timer);
    }
    let recorded: JobOutcome = 'unrecorded';
    try {
      recorded = await this.record(e, outcome, log, Date.now() - started);
    } catch (err) {
      // The lease runs out and the job is run again: the work is idempotent by design.
      log.error({ err: safeErr(err) }, 'job outcome not recorded');
    }
    for (const l of this.outcomeListeners) {
      try {
        l(job.kind, recorded, Date.now() - started);
      } catch (err) {
        log.error({ err: safeErr(err) }, 'job outcome listener failed');
      }
    }
  }

  /** Runs the handler; once aborted it gets settleMs to settle, then its slot is taken back. */
  private async invoke(handler: JobHandler, e: Running, log: Logger): Promise<Outcome> {
    const { signal } = e.ac;
    const settled = (async () => handler({ job: e.job, payload: e.job.payload, attempt: e.job.attempts, signal, log }))()
      .then((value): Outcome => ({ ok: true, value }), (err: unknown): Outcome => ({ ok: false, err }));
    let grace: NodeJS.Timeout | undefined;
    let onAbort = () => {};
    const abandoned = new Promise<Outcome>((resolve) => {
      onAbort = () => (grace = setTimeout(() => resolve({ ok: false, err: signal.reason }), this.c.settleMs));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([settled, abandoned]);
    } finally {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(grace);
    }
  }

  private async record(e: Running, outcome: Outcome, log: Logger, ms: number): Promise<JobOutcome> {
    const { job } = e;
    if (e.lost) {
      this.counters.lost++;
      log.warn({ code: 'lease_lost' }, 'job lease lost; outcome discarded');
      return 'lost';
    }
    if (e.reason === 'stop' && !outcome.ok) {
      await this.putBack(job);
      log.info({ code: 'stopped' }, 'job interrupted by stop; requeued');
      return 'interrupted';
    }
    // A timeout counts even if the handler settled afterwards: it overran its budget.
    if (e.reason === 'timeout') outcome = { ok: false, err: e.ac.signal.reason };
    if (outcome.ok) {
      const wrote = await this.c.jobs.succeed(job.id, this.c.instanceId, outcome.value);
      if (wrote) this.counters.succeeded++;
      log[wrote ? 'info' : 'warn']({ ms }, wrote ? 'job succeeded' : 'job lease lost; success discarded');
      return wrote ? 'succeeded' : 'lost';
    }
    return this.failOrRetry(job, outcome.err, log);
  }

  private async failOrRetry(job: JobRow, err: unknown, log: Logger): Promise<JobOutcome> {
    const now = this.c.now();
    const info = errorInfo(err, now);
    const fields = { code: info.code, retryable: info.retryable };
    if (info.retryable && job.attempts < job.maxAttempts) {
      const delayMs = backoffMs(job.attempts, this.c.backoff, this.c.random);
      const wrote = await this.c.jobs.retry(job.id, this.c.instanceId, now + delayMs, info);
      if (wrote) this.counters.retried++;
      log.warn({ ...fields, delayMs, wrote }, 'job attempt failed; will retry');
      return wrote ? 'retried' : 'lost';
    }
    const wrote = await this.c.jobs.fail(job.id, this.c.instanceId, info);
    if (wrote) this.counters.failed++;
    log.error({ ...fields, maxAttempts: job.maxAttempts, wrote }, 'job failed');
    return wrote ? 'failed' : 'lost';
  }

  private async renew(e: Running): Promise<void> {
    if (e.lost || e.renewing) return;
    e.renewing = true;
    try {
      const now = this.c.now();
      if (await this.c.jobs.renew(e.job.id, this.c.instanceId, now, this.c.leaseMs)) e.leaseExpiresAt = now + this.c.leaseMs;
      else this.lose(e);
    } catch (err) {
      // A database hiccup: the lease still holds until it expires; past that, another process may own the job.
      this.log.warn({ jobId: e.job.id, err: safeErr(err) }, 'job lease renewal failed');
      if (this.c.now() >= e.leaseExpiresAt) this.lose(e);
    } finally {
      e.renewing = false;
    }
  }

  private abort(e: Running, reason: 'timeout' | 'stop', err: JobError): void {
    if (e.ac.signal.aborted) return;
    e.reason = reason;
    e.ac.abort(err);
  }

  private lose(e: Running): void {
    e.lost = true;
    if (!e.ac.signal.aborted) e.ac.abort(retryable('lease_lost', 'job lease lost to another claimer'));
  }

  /** Not the job's fault: the attempt is given back. On a database error the lease expiry does it. */
  private async putBack(job: JobRow): Promise<void> {
    try {
      if (await this.c.jobs.release(job.id, this.c.instanceId, this.c.now())) this.counters.released++;
    } catch (err) {
      this.log.error({ jobId: job.id, err: safeErr(err) }, 'job release failed');
    }
  }

  private sleep(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.c.pollMs);
      this.wakeUp = done;
    });
  }

  private wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  private resolveDrains(round: number): void {
    const ready = this.drainWaiters.filter((w) => w.after <= round);
    this.drainWaiters = this.drainWaiters.filter((w) => w.after > round);
    for (const w of ready) w.resolve();
  }
}
