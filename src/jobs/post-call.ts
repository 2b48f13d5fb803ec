// What happens after a call: the jobs each finished call or recording sets off. Routes and the
// capture registry call these; the work itself runs in durable jobs.
import type { Logger } from 'pino';
import type { JobQueue } from './queue.js';
import { SWEEP_JOB, sweepKey } from './sweep.js';

export interface PostCall {
  /** A call (or one of its streams) ended: schedule the sweep for recordings never announced. */
  callEnded(callSid: string): void;
}

export function createPostCall(o: { queue: JobQueue; cloudEnabled: boolean; sweepAfterS: number; log: Logger }): PostCall {
  return {
    callEnded(callSid) {
      if (!o.cloudEnabled) return;
      o.queue.enqueue(SWEEP_JOB, sweepKey(callSid), { callSid }, { delayMs: o.sweepAfterS * 1000 }).catch((err: unknown) => {
        o.log.error({ err, callSid }, 'could not schedule the recording sweep');
      });
    },
  };
}
