// Liveness and readiness. Liveness is "the process answers" and does no I/O, so a slow disk or
// database never gets a healthy process restarted. Readiness checks what taking a call needs:
// the store answers, the spool takes a real write (create, fsync, remove), and there is room on
// its disk; other parts (object storage) add their own checks with addCheck().
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '../store/db.js';
import { withTimeout } from './timeout.js';

/** Resolves with details to show (or nothing) when healthy; throws when not. */
export type ReadinessCheck = () => Promise<Record<string, unknown> | void>;

export interface CheckResult {
  ok: boolean;
  ms: number;
  /** an error code, never a message (they can hold paths or connection strings) */
  error?: string;
  [detail: string]: unknown;
}

export interface Readiness {
  ok: boolean;
  checks: Record<string, CheckResult>;
}

export interface HealthOptions {
  store: Store;
  /** where live capture writes */
  spoolDir: string;
  instanceId: string;
  minFreeBytes: number;
  timeoutMs: number;
}

const MB = 1024 * 1024;

class CheckFailed extends Error {
  constructor(readonly code: string, readonly details: Record<string, unknown> = {}) {
    super(code);
  }
}

function errorCode(err: unknown): string {
  if (err instanceof CheckFailed) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : 'error';
}

/** A real write: a slow or read-only disk, a full one or a missing folder all fail here. */
async function probeWrite(dir: string, instanceId: string): Promise<void> {
  const file = path.join(dir, `.healthz-${instanceId}-${randomBytes(6).toString('hex')}.probe`);
  const fh = await fs.open(file, 'wx', 0o600);
  try {
    await fh.writeFile('ok\n');
    await fh.sync();
  } finally {
    await fh.close();
    await fs.rm(file, { force: true });
  }
}

export class Health {
  private readonly checks = new Map<string, ReadinessCheck>();
  private running: Promise<Readiness> | null = null;

  constructor(private readonly o: HealthOptions) {
    this.addCheck('store', async () => {
      try {
        await o.store.knex.raw('select 1');
      } catch (err) {
        const code = errorCode(err);
        throw new CheckFailed(code === 'error' ? 'unreachable' : code);
      }
    });
    this.addCheck('spool', () => probeWrite(o.spoolDir, o.instanceId));
    this.addCheck('disk', async () => {
      const s = await fs.statfs(o.spoolDir);
      const free = s.bavail * s.bsize;
      const details = { free_mb: Math.floor(free / MB), min_free_mb: Math.floor(o.minFreeBytes / MB) };
      if (free < o.minFreeBytes) throw new CheckFailed('low_disk_space', details);
      return details;
    });
  }

  /** Another readiness condition, e.g. `storage` (object storage writable) when STORAGE_URL is set. */
  addCheck(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Every check at once, each bounded by the timeout; concurrent callers share one run. */
  ready(): Promise<Readiness> {
    this.running ??= this.runAll().finally(() => (this.running = null));
    return this.running;
  }

  private async runAll(): Promise<Readiness> {
    const entries = await Promise.all([...this.checks].map(async ([name, check]) => [name, await this.run(name, check)] as const));
    return { ok: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) };
  }

  private async run(name: string, check: ReadinessCheck): Promise<CheckResult> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    try {
      const details = await withTimeout(check(), this.o.timeoutMs, `${name} check`);
      return { ok: true, ms: ms(), ...(details ?? {}) };
    } catch (err) {
      const details = err instanceof CheckFailed ? err.details : {};
      return { ok: false, ms: ms(), error: errorCode(err), ...details };
    }
  }
}
