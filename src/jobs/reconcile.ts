// The reconciliation job: gathers a call's sources from the store, runs the reconciliation in
// a worker thread, and keeps the report. It runs once both sources are present, or once one is
// known to be absent; a later source (a cloud copy that arrives after all) runs it again.
import path from 'node:path';
import { providerOfCallId } from '../ids.js';
import type { CaptureRow } from '../store/captures.js';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import type { Track } from '../twilio/messages.js';
import { permanent } from './errors.js';
import type { JobHandler } from './queue.js';
import { reconcileInWorker } from './reconcile/in-worker.js';
import { FINAL_FILES } from './reconcile/render.js';
import type { ReconcileInput } from './reconcile/run.js';

export const RECONCILE_JOB = 'reconcile';

export interface CallSources {
  streamSid: string | null;
  recordingSid: string | null;
  /** a source that may still come: reconciliation waits for it */
  waitingFor: 'capture' | 'cloud' | null;
  absent: { local?: string; cloud?: string };
}

/** What a call has now. The first finished stream is the live capture of record. */
/** With object storage (`remote`), a finished capture only counts once its files are stored. */
export async function callSources(store: Store, callSid: string, cloudEnabled: boolean, remote = false): Promise<CallSources> {
  const streams = await store.streams.listByCall(callSid);
  const recordings = await store.recordings.listByCall(callSid);
  const stored = (s: (typeof streams)[number]) => s.state !== 'open' && (!remote || s.storedAt !== null);
  const stream = streams.find(stored) ?? null;
  const ready = recordings.find((r) => r.state === 'ready') ?? null;
  const busy = recordings.some((r) => r.state === 'pending' || r.state === 'downloading');
  const absent: CallSources['absent'] = {};
  if (!stream) {
    absent.local = streams.length === 0 ? 'no media stream reached the gateway'
      : streams.some((s) => s.state === 'open') ? 'the live capture is still open' : 'the live capture is not in object storage yet';
  }
  if (!ready) {
    const failed = recordings.find((r) => r.state === 'failed' || r.state === 'absent');
    // Vonage records through its NCCO whatever CLOUD_RECORDING (Twilio's) says.
    const vonage = providerOfCallId(callSid) === 'vonage';
    absent.cloud = failed ? `${failed.state}: ${failed.failureReason ?? failed.failureCode ?? 'unknown'}`
      : vonage ? 'Vonage sent no recording event'
      : !cloudEnabled ? 'cloud recording is turned off (CLOUD_RECORDING=false)' : 'Twilio reported no recording';
  }
  let waitingFor: CallSources['waitingFor'] = null;
  if (streams.some((s) => !stored(s))) waitingFor = 'capture';
  else if (!ready && busy) waitingFor = 'cloud';
  return { streamSid: stream?.streamSid ?? null, recordingSid: ready?.recordingSid ?? null, waitingFor, absent };
}

/** One job per combination of sources: duplicates collapse, a new source runs it again. */
export const reconcileKey = (callSid: string, s: CallSources) => `reconcile:${callSid}:${s.streamSid ?? '-'}:${s.recordingSid ?? '-'}`;

/** The 8 kHz track files of a stream: both for Twilio, the leg's one track for a Vonage leg. */
function localInput(captures: CaptureRow[]) {
  const files: Partial<Record<Track, string>> = {};
  const gaps: Partial<Record<Track, Array<[number, number]>>> = {};
  for (const c of captures) {
    if (c.kind !== 'track' || c.sampleRate !== 8000 || !c.track) continue;
    files[c.track] = path.basename(c.path);
    gaps[c.track] = (c.stats?.gaps as Array<[number, number]> | undefined) ?? [];
  }
  if (!files.inbound && !files.outbound) throw permanent('capture_incomplete', 'the live capture has no track file');
  return { files, gaps };
}

export interface ReconcileDeps {
  store: Store;
  files: CallFiles;
  cloudEnabled: boolean;
  onDone?: (callSid: string, reconcileKey: string) => void;
}

export function reconcileHandler(deps: ReconcileDeps): JobHandler {
  return async ({ job, payload, signal, log }) => {
    const { callSid, fallback } = payload as { callSid: string; fallback?: boolean };
    const { store } = deps;
    const call = await store.calls.get(callSid);
    if (!call) throw permanent('unknown_call', 'no such call in the store');
    const sources = await callSources(store, callSid, deps.cloudEnabled, deps.files.remote);
    if (fallback) {
      // Only for a call whose recording never came: anything else has its own trigger.
      if (await store.reconciliations.get(callSid)) return { skipped: 'already reconciled' };
      if (sources.waitingFor || (!sources.streamSid && !sources.recordingSid)) return { skipped: sources.waitingFor ? `waiting for the ${sources.waitingFor}` : 'nothing to reconcile' };
    }
    if (!sources.streamSid && !sources.recordingSid) throw permanent('no_sources', `nothing to reconcile: ${sources.absent.local}; ${sources.absent.cloud}`);
    const recording = sources.recordingSid ? await store.recordings.get(sources.recordingSid) : undefined;
    const local = sources.streamSid ? { streamSid: sources.streamSid, ...localInput(await store.captures.listByStream(sources.streamSid)) } : null;
    const cloud = recording?.filePath ? { recordingSid: recording.recordingSid, file: path.basename(recording.filePath) } : null;
    const inputs = [...Object.values(local?.files ?? {}), ...(cloud ? [cloud.file] : [])];
    const work = await deps.files.checkout(callSid, inputs, signal);
    let report;
    try {
      const input: ReconcileInput = { callDir: work.dir, callSid, agentTrack: call.agentTrack, local, cloud, absent: sources.absent };
      report = await reconcileInWorker(input, signal);
      await work.commit([FINAL_FILES.stereo, FINAL_FILES.agent, FINAL_FILES.customer, 'reconciliation.json'], signal);
    } finally {
      await work.release();
    }
    await store.reconciliations.save({ callSid, verdict: report.verdict, streamSid: sources.streamSid, recordingSid: sources.recordingSid, report });
    log.info({ callSid, verdict: report.verdict, offsetS: report.offset_s, driftPpm: report.drift_ppm }, 'call reconciled');
    deps.onDone?.(callSid, job.key);
    return { verdict: report.verdict };
  };
}
