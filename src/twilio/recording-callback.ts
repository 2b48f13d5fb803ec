// POST /twilio/recording-status: records every status Twilio reports for a cloud recording and
// leaves the download to a durable job. Idempotent per RecordingSid and status; answers at once.
import type { FastifyInstance } from 'fastify';
import type { PostCall } from '../jobs/post-call.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Store } from '../store/db.js';
import { CALL_SID } from './messages.js';
import { recordingPath } from './rest.js';
import type { SignatureChecker } from './signature.js';
import { signedForm } from './voice.js';

export const DOWNLOAD_JOB = 'recording-download';
export const downloadKey = (recordingSid: string) => `download:${recordingSid}`;

export interface RecordingCallbackDeps {
  store: Store;
  queue: JobQueue;
  signatures: SignatureChecker;
  postCall: PostCall;
}

const RECORDING_SID = /^RE[0-9a-f]{32}$/i;
const ACCOUNT_SID = /^AC[0-9a-f]{32}$/i;
const STATUSES = new Set(['in-progress', 'completed', 'absent', 'paused', 'stopped', 'failed']);
/** The callback fields kept with each event (protocol-facts §3); nothing else is stored. */
const FIELDS = [
  'AccountSid', 'CallSid', 'RecordingSid', 'RecordingUrl', 'RecordingStatus', 'RecordingDuration', 'RecordingChannels',
  'RecordingStartTime', 'RecordingSource', 'RecordingTrack', 'ErrorCode',
];

type Form = Record<string, string | undefined>;

function num(v: string | undefined): number | null {
  const n = Number(v);
  return v === undefined || v === '' || !Number.isFinite(n) ? null : n;
}

export function registerRecordingCallback(app: FastifyInstance, deps: RecordingCallbackDeps): void {
  const { store, queue } = deps;
  app.post('/twilio/recording-status', { preHandler: signedForm(deps.signatures) }, async (request, reply) => {
    const form = (request.body ?? {}) as Form;
    const { RecordingSid: sid = '', CallSid: callSid = '', AccountSid: accountSid = '', RecordingStatus: status = '' } = form;
    if (!RECORDING_SID.test(sid) || !CALL_SID.test(callSid) || !ACCOUNT_SID.test(accountSid) || !STATUSES.has(status)) {
      request.log.warn('recording callback without a valid RecordingSid, CallSid, AccountSid or RecordingStatus');
      return reply.code(400).send({ error: 'RecordingSid, CallSid, AccountSid and RecordingStatus are required' });
    }
    let mediaPath: string;
    try {
      mediaPath = recordingPath(form.RecordingUrl ?? `/2010-04-01/Accounts/${accountSid}/Recordings/${sid}`);
    } catch {
      return reply.code(400).send({ error: 'RecordingUrl is not a Twilio recording URL' });
    }
    const log = request.log.child({ callSid, recordingSid: sid });
    const params = Object.fromEntries(FIELDS.filter((k) => form[k] !== undefined).map((k) => [k, form[k]!]));
    if (!(await store.recordings.addEvent(sid, status, params))) {
      log.info({ status }, 'duplicate recording callback ignored');
      return reply.code(204).send();
    }
    await store.calls.ensure(callSid, accountSid);
    const row = await store.recordings.upsert({
      recordingSid: sid, callSid, accountSid, providerStatus: status, mediaPath,
      channels: num(form.RecordingChannels), durationS: num(form.RecordingDuration),
      startTime: form.RecordingStartTime ?? null, source: form.RecordingSource ?? null,
      track: form.RecordingTrack ?? null, errorCode: form.ErrorCode && form.ErrorCode !== '0' ? form.ErrorCode : null,
    });
    if (status === 'completed') {
      const { created } = await queue.enqueue(DOWNLOAD_JOB, downloadKey(sid), { recordingSid: sid });
      log.info({ status, enqueued: created }, 'recording completed: download queued');
    } else if (status === 'absent' && row.state === 'pending') {
      await store.recordings.setState(sid, 'absent', { code: 'absent', reason: 'Twilio reports the recording absent (no audio was recorded)' });
      log.warn({ status }, 'Twilio reports the recording absent');
      deps.postCall.cloudSettled(callSid);
    } else {
      log.info({ status }, 'recording status');
    }
    return reply.code(204).send();
  });
}
