// What happens after a call: the jobs each finished stream or recording sets off. Routes, the
// capture registry and other jobs call these; the work itself runs in durable jobs.
import type { Logger } from 'pino';
import { providerOfCallId } from '../ids.js';
import type { Store } from '../store/db.js';
import type { JobQueue } from './queue.js';
import { RECONCILE_JOB, callSources, reconcileKey } from './reconcile.js';
import { SWEEP_JOB, sweepKey } from './sweep.js';
import { TRANSCRIBE_JOB } from './transcribe.js';

export interface PostCall {
  /** A call ended: schedule the sweep for recordings whose callback never comes. */
  callEnded(callSid: string): void;
  /** A stream's capture is finalised. */
  captureFinished(callSid: string): void;
  /** With object storage: a finished capture is uploaded, so any gateway can reconcile it. */
  captureStored(callSid: string): void;
  /** A cloud recording settled (ready, absent or failed for good), or the sweep found none. */
  cloudSettled(callSid: string): void;
  /** A reconciliation wrote the final audio: transcribe it (once per reconciliation). */
  reconciled(callSid: string, reconcileKey: string): void;
}

export interface PostCallOptions {
  queue: JobQueue;
  store: Store;
  cloudEnabled: boolean;
  /** finished files live in object storage: a capture counts once it is stored */
  remote: boolean;
  sweepAfterS: number;
  log: Logger;
}

export function createPostCall(o: PostCallOptions): PostCall {
  const failed = (what: string, callSid: string) => (err: unknown) => o.log.error({ err, callSid }, `could not schedule ${what}`);
  /** Reconciles once nothing is still on its way; the job key makes repeats harmless. */
  const reconcileWhenReady = async (callSid: string) => {
    const sources = await callSources(o.store, callSid, o.cloudEnabled, o.remote);
    if (sources.waitingFor || (!sources.streamSid && !sources.recordingSid)) return;
    await o.queue.enqueue(RECONCILE_JOB, reconcileKey(callSid, sources), { callSid });
  };
  return {
    callEnded(callSid) {
      // Vonage has no recordings API to sweep: if its recording event never comes, the live
      // capture is reconciled on its own this long after the call (skipped if it already was).
      const provider = providerOfCallId(callSid);
      if (provider === 'vonage') {
        o.queue.enqueue(RECONCILE_JOB, `reconcile-fallback:${callSid}`, { callSid, fallback: true }, { delayMs: o.sweepAfterS * 1000 })
          .catch(failed('the reconciliation fallback', callSid));
        return;
      }
      // The sweep asks Twilio's API; ElevenLabs reports its audio by its own webhooks.
      if (!o.cloudEnabled || provider !== 'twilio') return;
      o.queue.enqueue(SWEEP_JOB, sweepKey(callSid), { callSid }, { delayMs: o.sweepAfterS * 1000 }).catch(failed('the recording sweep', callSid));
    },
    captureFinished(callSid) {
      // With cloud recording on, the recording's arrival (or the sweep) sets reconciliation off.
      if (!o.cloudEnabled) reconcileWhenReady(callSid).catch(failed('reconciliation', callSid));
    },
    captureStored(callSid) {
      if (!o.remote) return; // the local store: captureFinished did this already
      // As captureFinished: with cloud recording on, the recording's arrival decides, unless it
      // settled while the upload ran (then it found the capture not stored yet and waited).
      const settled = async () => !o.cloudEnabled || (await o.store.recordings.listByCall(callSid)).some((r) => !['pending', 'downloading'].includes(r.state));
      settled().then((go) => (go ? reconcileWhenReady(callSid) : undefined)).catch(failed('reconciliation', callSid));
    },
    cloudSettled(callSid) {
      reconcileWhenReady(callSid).catch(failed('reconciliation', callSid));
    },
    reconciled(callSid, reconcileKey) {
      o.queue.enqueue(TRANSCRIBE_JOB, `transcribe:${reconcileKey}`, { callSid }).catch(failed('transcription', callSid));
    },
  };
}
