// The Vonage download job: a recording event becomes recordings/<VN…>/cloud.<VR…>.wav, or a clear
// `failed` state with its reason. As for Twilio, the file streams to a temporary file, is checked
// (a complete PCM16 WAV, its channels, the byte size and the duration the event announced), and
// only then is renamed into place, so a bad transfer never leaves a file that looks finished.
import fs from 'node:fs';
import path from 'node:path';
import { errorCode, isRetryable, permanent, retryable } from '../jobs/errors.js';
import type { JobHandler } from '../jobs/queue.js';
import { readWavHeader } from '../jobs/wav-file.js';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import type { VonageRest } from './vonage-rest.js';
import { fsyncFile } from '../jobs/save-body.js';

export const VONAGE_DOWNLOAD_JOB = 'vonage-download';
export const vonageDownloadKey = (recordingSid: string) => `vonage-download:${recordingSid}`;

export interface VonageDownloadPayload {
  recordingSid: string;
  /** the event's `size` in bytes, when it gave one */
  size: number | null;
}

export interface VonageDownloadDeps {
  store: Store;
  rest: VonageRest;
  files: CallFiles;
  /** the recording is ready or failed for good: reconciliation may go ahead */
  onSettled: (callSid: string) => void;
}

/** The event's times are whole seconds at best; a file further off is not the recording. */
const DURATION_TOLERANCE_S = 1;

export interface VonageWavExpectation {
  /** 2 for split:'conversation' recordings of calls the gateway placed; null when unknown */
  channels: number | null;
  durationS: number | null;
  size: number | null;
  bytes: number;
  declaredBytes: number | null;
}

/** A complete PCM16 WAV of the announced size, channels and length. */
export function verifyVonageWav(file: string, e: VonageWavExpectation) {
  if (e.declaredBytes !== null && e.bytes !== e.declaredBytes) {
    throw retryable('short_body', `the download ended after ${e.bytes} of ${e.declaredBytes} bytes`);
  }
  if (e.size !== null && e.bytes !== e.size) {
    throw retryable('size_mismatch', `the download holds ${e.bytes} bytes, the recording event announced ${e.size}`);
  }
  const { format, claimedBytes, availableBytes } = readWavHeader(file);
  if (claimedBytes === 0 || claimedBytes > availableBytes) {
    throw retryable('truncated_wav', `the WAV header claims ${claimedBytes} bytes of audio, the file holds ${availableBytes}`);
  }
  const { channels, sampleRate } = format;
  if (e.channels !== null ? channels !== e.channels : channels > 2) {
    throw permanent('channel_mismatch', `expected ${e.channels ?? '1 or 2'} channel(s), Vonage served ${channels}`);
  }
  const durationS = claimedBytes / (2 * channels * sampleRate);
  if (e.durationS !== null && Math.abs(durationS - e.durationS) > DURATION_TOLERANCE_S) {
    throw retryable('duration_mismatch', `the file lasts ${durationS.toFixed(2)} s, the recording event says ${e.durationS} s`);
  }
  return { channels, sampleRate, durationS };
}


async function download(deps: VonageDownloadDeps, p: VonageDownloadPayload, signal: AbortSignal) {
  const { store, rest } = deps;
  const rec = await store.recordings.get(p.recordingSid);
  if (!rec || rec.provider !== 'vonage') throw permanent('unknown_recording', 'no such Vonage recording in the store');
  const name = `cloud.${rec.recordingSid}.wav`;
  if (rec.state === 'ready' && (await deps.files.store.size(`${rec.callSid}/${name}`)) !== null) return { skipped: 'already downloaded' };
  const url = rest.recordingUrl(rec.mediaPath);
  await store.recordings.setState(rec.recordingSid, 'downloading');
  const work = await deps.files.checkout(rec.callSid, [], signal);
  const target = path.join(work.dir, name);
  const part = `${target}.part`;
  try {
    const got = await rest.download(url, part, signal);
    const wav = verifyVonageWav(part, { channels: rec.channels, durationS: rec.durationS, size: p.size, bytes: got.bytes, declaredBytes: got.declaredBytes });
    await fsyncFile(part);
    await fs.promises.rename(part, target);
    await work.commit([name], signal);
    const file = {
      filePath: `${rec.callSid}/${name}`, fileBytes: got.bytes, sha256: got.sha256,
      fileChannels: wav.channels, fileSampleRate: wav.sampleRate, fileDurationS: wav.durationS,
    };
    await store.recordings.markReady(rec.recordingSid, file);
    return file;
  } finally {
    await fs.promises.rm(part, { force: true });
    await work.release();
  }
}

export function vonageDownloadHandler(deps: VonageDownloadDeps): JobHandler {
  return async ({ job, payload, attempt, signal, log }) => {
    const p = payload as VonageDownloadPayload;
    const settle = async () => {
      const rec = await deps.store.recordings.get(p.recordingSid);
      if (rec) deps.onSettled(rec.callSid);
    };
    try {
      const result = await download(deps, p, signal);
      if (!('skipped' in result)) log.info({ recordingSid: p.recordingSid, bytes: result.fileBytes, durationS: result.fileDurationS }, 'Vonage recording downloaded and verified');
      await settle();
      return result;
    } catch (err) {
      if (signal.aborted) throw err;
      const final = !isRetryable(err) || attempt >= job.maxAttempts;
      const reason = err instanceof Error ? err.message : String(err);
      if (await deps.store.recordings.get(p.recordingSid)) {
        await deps.store.recordings.setState(p.recordingSid, final ? 'failed' : 'pending', { code: errorCode(err), reason });
        if (final) await settle();
      }
      throw err;
    }
  };
}
