// The download job: a completed cloud recording becomes recordings/<CallSid>/cloud.<RE>.wav, or a
// clear `failed` state with its reason. The file only appears once it is verified: it streams
// to a temporary file, is checked (a valid WAV, its channels, its duration against Twilio's),
// then renamed into place, so a crash or a bad transfer never leaves a corrupt file behind.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import type { RecordingResource, TwilioRest } from '../twilio/rest.js';
import { errorCode, isRetryable, permanent, retryable } from './errors.js';
import type { JobHandler, JobQueue } from './queue.js';
import { readWavHeader } from './wav-file.js';
import { fsyncFile } from './save-body.js';

export const CLOUD_DELETE_JOB = 'recording-cloud-delete';

export interface DownloadDeps {
  store: Store;
  rest: TwilioRest;
  queue: JobQueue;
  files: CallFiles;
  deleteAfterDownload: boolean;
  /** the recording is ready, absent or failed for good: reconciliation may go ahead */
  onSettled: (callSid: string) => void;
}

/** Twilio's duration is whole seconds; a file further off than this is not the recording. */
const DURATION_TOLERANCE_S = 1;

export interface VerifiedWav {
  channels: number;
  sampleRate: number;
  durationS: number;
}

/** Checks a downloaded file: a complete PCM16 WAV with the expected channels and duration. */
export function verifyWav(file: string, expect: { channels: number; durationS: number | null }): VerifiedWav {
  const { format, claimedBytes, availableBytes } = readWavHeader(file);
  if (claimedBytes === 0 || claimedBytes > availableBytes) {
    throw retryable('truncated_wav', `the WAV header claims ${claimedBytes} bytes of audio, the file holds ${availableBytes}`);
  }
  const { channels, sampleRate } = format;
  const durationS = claimedBytes / (2 * channels * sampleRate);
  if (channels !== expect.channels) {
    throw permanent('channel_mismatch', `expected ${expect.channels} channel(s), Twilio served ${channels}`);
  }
  if (expect.durationS !== null && Math.abs(durationS - expect.durationS) > DURATION_TOLERANCE_S) {
    throw retryable('duration_mismatch', `the file lasts ${durationS.toFixed(2)} s, Twilio says ${expect.durationS} s`);
  }
  return { channels, sampleRate, durationS };
}


function checkResource(meta: RecordingResource): void {
  if (meta.encryption_details) {
    throw permanent('encrypted', 'the recording is encrypted with your public key; callvault cannot decrypt it');
  }
  if (meta.status === 'absent' || meta.status === 'deleted') throw permanent(meta.status, `Twilio reports the recording ${meta.status}`);
  if (meta.status !== 'completed') throw retryable('not_completed', `Twilio reports the recording ${meta.status}`);
}

async function download(deps: DownloadDeps, sid: string, signal: AbortSignal, log: Logger) {
  const { store, rest } = deps;
  const rec = await store.recordings.get(sid);
  if (!rec) throw permanent('unknown_recording', 'no such recording in the store');
  const name = `cloud.${sid}.wav`;
  if (rec.state === 'ready' && (await deps.files.store.size(`${rec.callSid}/${name}`)) !== null) return { skipped: 'already downloaded' };
  await store.recordings.setState(sid, 'downloading');
  const meta = await rest.fetchRecording(rec.mediaPath, signal);
  checkResource(meta);
  const durationS = meta.duration !== null && meta.duration !== undefined ? Number(meta.duration) : rec.durationS;
  const updated = await store.recordings.upsert({
    recordingSid: sid, callSid: rec.callSid, accountSid: meta.account_sid, providerStatus: meta.status, mediaPath: rec.mediaPath,
    channels: meta.channels, durationS, startTime: meta.start_time, source: meta.source,
  });
  const work = await deps.files.checkout(rec.callSid, [], signal);
  const target = path.join(work.dir, name);
  const part = `${target}.part`;
  try {
    const got = await rest.downloadMedia(rec.mediaPath, (updated.channels ?? 2) === 2, part, signal);
    const wav = verifyWav(part, { channels: got.dual ? 2 : 1, durationS });
    await fsyncFile(part);
    await fs.promises.rename(part, target);
    await work.commit([name], signal);
    const file = { filePath: `${rec.callSid}/${name}`, fileBytes: got.bytes, sha256: got.sha256, fileChannels: wav.channels, fileSampleRate: wav.sampleRate, fileDurationS: wav.durationS };
    await store.recordings.markReady(sid, file);
    log.info({ bytes: got.bytes, channels: wav.channels, durationS: wav.durationS }, 'cloud recording downloaded and verified');
    return file;
  } finally {
    await fs.promises.rm(part, { force: true });
    await work.release();
  }
}

async function settle(deps: DownloadDeps, sid: string): Promise<void> {
  const rec = await deps.store.recordings.get(sid);
  if (rec) deps.onSettled(rec.callSid);
}

export function downloadHandler(deps: DownloadDeps): JobHandler {
  return async ({ job, payload, attempt, signal, log }) => {
    const sid = (payload as { recordingSid?: string }).recordingSid ?? '';
    try {
      const result = await download(deps, sid, signal, log);
      if (deps.deleteAfterDownload && !('skipped' in result)) {
        await deps.queue.enqueue(CLOUD_DELETE_JOB, `cloud-delete:${sid}`, { recordingSid: sid });
      }
      await settle(deps, sid);
      return result;
    } catch (err) {
      if (signal.aborted) throw err;
      const final = !isRetryable(err) || attempt >= job.maxAttempts;
      const reason = err instanceof Error ? err.message : String(err);
      const state = final ? (errorCode(err) === 'absent' ? 'absent' : 'failed') : 'pending';
      await deps.store.recordings.setState(sid, state, { code: errorCode(err), reason });
      if (final) await settle(deps, sid);
      throw err;
    }
  };
}

/** Soft-deletes Twilio's copy (kept 40 days on Twilio's side) once ours is verified. */
export function cloudDeleteHandler(deps: Pick<DownloadDeps, 'store' | 'rest'>): JobHandler {
  return async ({ payload, signal, log }) => {
    const sid = (payload as { recordingSid?: string }).recordingSid ?? '';
    const rec = await deps.store.recordings.get(sid);
    if (rec?.state !== 'ready') throw permanent('not_downloaded', 'the cloud copy is only deleted after a verified download');
    await deps.rest.deleteRecording(rec.mediaPath, signal);
    await deps.store.recordings.markCloudDeleted(sid);
    log.info({ recordingSid: sid }, 'deleted the cloud copy after a verified download');
    return { deleted: true };
  };
}
