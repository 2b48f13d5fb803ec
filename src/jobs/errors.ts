// Errors of post-call work carry a code and say whether trying again can help: only retryable
// ones are retried (with backoff); the rest fail the job at once with their reason.

export class JobError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JobError';
  }
}

export const retryable = (code: string, message: string, cause?: unknown) => new JobError(code, message, true, { cause });
export const permanent = (code: string, message: string, cause?: unknown) => new JobError(code, message, false, { cause });

/** Unknown errors (a bug, a disk error) are retried: a bounded number of attempts is safer than
 *  giving up on a recording for a transient fault we did not foresee. */
export function isRetryable(err: unknown): boolean {
  return err instanceof JobError ? err.retryable : true;
}

export function errorCode(err: unknown): string {
  return err instanceof JobError ? err.code : 'internal';
}
