// The sweep: a set time after a call ends, its recordings are looked up through Twilio's REST API
// and fetched like any other. It catches callbacks that never arrived (a firewall, an outage, a
// misconfigured URL); for calls whose callbacks did arrive it only confirms what is known.
import type { Store } from '../store/db.js';
import { DOWNLOAD_JOB, downloadKey } from '../twilio/recording-callback.js';
import { recordingPath, type TwilioRest } from '../twilio/rest.js';
import { permanent } from './errors.js';
import type { JobHandler, JobQueue } from './queue.js';

export const SWEEP_JOB = 'recording-sweep';
export const sweepKey = (callSid: string) => `sweep:${callSid}`;

export interface SweepDeps {
  store: Store;
  rest: TwilioRest;
  queue: JobQueue;
  /** TWILIO_ACCOUNT_SID, for calls whose row has none */
  accountSid: string;
  onSettled: (callSid: string) => void;
}

export function sweepHandler(deps: SweepDeps): JobHandler {
  return async ({ payload, signal, log }) => {
    const callSid = (payload as { callSid?: string }).callSid ?? '';
    const call = await deps.store.calls.get(callSid);
    if (!call) throw permanent('unknown_call', 'no such call in the store');
    const accountSid = call.accountSid ?? deps.accountSid;
    const found = await deps.rest.listCallRecordings(accountSid, callSid, signal);
    let queued = 0;
    for (const r of found) {
      const row = await deps.store.recordings.upsert({
        recordingSid: r.sid, callSid, accountSid: r.account_sid, providerStatus: r.status, mediaPath: recordingPath(r.uri),
        channels: r.channels, durationS: r.duration === null ? null : Number(r.duration), startTime: r.start_time,
        source: r.source, errorCode: r.error_code ? String(r.error_code) : null,
      });
      if (r.status === 'completed' && row.state !== 'ready') {
        const { created } = await deps.queue.enqueue(DOWNLOAD_JOB, downloadKey(r.sid), { recordingSid: r.sid });
        if (created) queued++;
      } else if (r.status === 'absent' && row.state === 'pending') {
        await deps.store.recordings.setState(r.sid, 'absent', { code: 'absent', reason: 'Twilio reports the recording absent' });
      }
    }
    if (queued > 0) log.warn({ callSid, queued }, 'the sweep found recordings whose callback never arrived');
    if (found.length === 0) log.warn({ callSid }, 'the sweep found no cloud recording for this call');
    // Nothing more will come from Twilio: reconciliation need not wait (it waits on its own
    // for downloads still running).
    deps.onSettled(callSid);
    return { found: found.length, queued };
  };
}
