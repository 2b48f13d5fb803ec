// The JSON views of a call: its summary (the list) and its detail, with every artifact on disk.
// Keys snake_case, dates ISO, durations float seconds (DESIGN "One timeline").
import path from 'node:path';
import { parseWav } from '../audio/wav.js';
import type { CallFiles } from '../storage/call-files.js';
import { CAPTURE_FILE, CLOUD_FILE } from '../ids.js';
import type { CallFacts } from '../store/call-queries.js';
import type { CallRow, TrackName } from '../store/calls.js';
import type { CaptureRow } from '../store/captures.js';
import type { Store } from '../store/db.js';
import type { JobRow } from '../store/jobs.js';
import type { RecordingRow } from '../store/recordings.js';
import type { StreamRow } from '../store/streams.js';
import type { ArtifactT, CallDetailT, CallSummaryT, CaptureStatsT, CloudStateT } from './call-schemas.js';
import { isServable, type MediaSigner } from './media.js';

export interface ViewDeps {
  store: Store;
  signer: MediaSigner;
  files: CallFiles;
}

/** A ready copy is what matters to a listener; after that, work still under way; then why not. */
const STATE_ORDER: readonly CloudStateT[] = ['ready', 'downloading', 'pending', 'failed', 'absent'];

export function cloudState(recordings: CallFacts['recordings']): { state: CloudStateT | null; failure: string | null } {
  for (const state of STATE_ORDER) {
    const r = recordings.find((x) => x.state === state);
    if (!r) continue;
    const failure = state === 'failed' || state === 'absent' ? (r.failureReason ?? r.failureCode ?? null) : null;
    return { state, failure };
  }
  return { state: null, failure: null };
}

const speakerOf = (call: CallRow, track: TrackName | null): 'agent' | 'customer' | null =>
  track === null ? null : track === call.agentTrack ? 'agent' : 'customer';

export const emptyFacts = (): CallFacts => ({ recordings: [], verdict: null, reconciledS: null, capturedS: null });

export function summaryOf(call: CallRow, facts: CallFacts): CallSummaryT {
  const cloud = cloudState(facts.recordings);
  const cloudS = facts.recordings.find((r) => r.durationS !== null)?.durationS ?? null;
  return {
    call_sid: call.callSid, provider: call.provider, provider_call_id: call.providerCallId, direction: call.direction, from: call.fromNumber, to: call.toNumber, status: call.status,
    created_at: call.createdAt, updated_at: call.updatedAt, ended_at: call.endedAt,
    agent_track: call.agentTrack, customer_track: call.customerTrack,
    cloud_recording_state: cloud.state, cloud_recording_failure: cloud.failure,
    reconciliation_verdict: facts.verdict, duration_s: facts.reconciledS ?? facts.capturedS ?? cloudS,
  };
}

function captureView(call: CallRow, c: CaptureRow) {
  return {
    id: c.id, kind: c.kind, track: c.track, speaker: speakerOf(call, c.track), file: path.basename(c.path),
    sample_rate: c.sampleRate, channels: c.channels, state: c.state, samples: c.samples, duration_s: c.durationS,
    stats: c.stats as CaptureStatsT | null, created_at: c.createdAt, updated_at: c.updatedAt,
  };
}

function streamView(call: CallRow, s: StreamRow, captures: CaptureRow[]) {
  return {
    stream_sid: s.streamSid, state: s.state, tracks: s.tracks, instance_id: s.instanceId, started_at: s.startedAt,
    ended_at: s.endedAt, close_reason: s.closeReason, events: s.events,
    captures: captures.filter((c) => c.streamSid === s.streamSid).map((c) => captureView(call, c)),
  };
}

function recordingView(r: RecordingRow) {
  return {
    recording_sid: r.recordingSid, provider: r.provider, provider_status: r.providerStatus, state: r.state,
    failure_code: r.failureCode, failure_reason: r.failureReason, channels: r.channels, duration_s: r.durationS,
    start_time: r.startTime, source: r.source, track: r.track, error_code: r.errorCode,
    file: r.filePath === null ? null : path.basename(r.filePath), file_bytes: r.fileBytes, sha256: r.sha256,
    file_channels: r.fileChannels, file_sample_rate: r.fileSampleRate, file_duration_s: r.fileDurationS,
    cloud_deleted_at: r.cloudDeletedAt, created_at: r.createdAt, updated_at: r.updatedAt,
  };
}

function jobView(j: JobRow) {
  return {
    id: j.id, kind: j.kind, key: j.key, state: j.state, attempts: j.attempts, max_attempts: j.maxAttempts,
    run_at: new Date(j.runAt).toISOString(), last_error: j.lastError, result: j.result ?? null,
    created_at: j.createdAt, updated_at: j.updatedAt, finished_at: j.finishedAt,
  };
}

/** Enough for any header we write or Twilio serves (a LIST chunk may come before `data`). */
const HEAD_BYTES = 16 * 1024;

/** Format and length from the header and the bytes present: a live or crashed capture's header
 *  may still claim 0 bytes. Null when the file vanished; null fields when it is not a WAV (an
 *  MP3, a capture just opened). */
async function readAudioInfo(files: CallFiles, callSid: string, file: string, bytes: number) {
  const got = await files.head(callSid, file, HEAD_BYTES, bytes);
  if (!got) return null;
  const { head, size } = got;
  try {
    const { format, dataOffset } = parseWav(head);
    const claimed = head.readUInt32LE(dataOffset - 4);
    const available = Math.max(0, size - dataOffset);
    const bytes = claimed > 0 ? Math.min(claimed, available) : available;
    const frames = Math.floor(bytes / (2 * format.channels));
    return { bytes: size, rate: format.sampleRate, channels: format.channels, duration_s: frames / format.sampleRate };
  } catch {
    return { bytes: size, rate: null, channels: null, duration_s: null };
  }
}

type AudioInfo = NonNullable<Awaited<ReturnType<typeof readAudioInfo>>>;
/** Headers of files that have stopped changing (same name, same size), so a call page polled
 *  every few seconds does not re-read every header, a request each with object storage. */
const infoCache = new Map<string, AudioInfo>();
const INFO_CACHE_MAX = 2000;

async function audioInfo(files: CallFiles, callSid: string, file: string, bytes: number): Promise<AudioInfo | null> {
  const key = `${callSid}/${file}:${bytes}`;
  const hit = infoCache.get(key);
  if (hit) return hit;
  const info = await readAudioInfo(files, callSid, file, bytes);
  // A file still being written (header claims 0) or not parsed yet is read again next time.
  if (info && info.rate !== null && info.bytes === bytes) {
    if (infoCache.size >= INFO_CACHE_MAX) infoCache.delete(infoCache.keys().next().value!);
    infoCache.set(key, info);
  }
  return info;
}

const FINAL_FILE = /^final\.(agent|customer|stereo)\./;
const KIND_ORDER = { final: 0, capture: 1, cloud: 2 } as const;

/** Which artifact a contract file name is; the name alone decides, never a stored path. */
function classify(call: CallRow, file: string): Omit<ArtifactT, 'rate' | 'channels' | 'duration_s' | 'bytes' | 'url'> | null {
  const none = { track: null, speaker: null, stream_sid: null, recording_sid: null };
  const capture = CAPTURE_FILE.exec(file);
  if (capture) {
    const track = capture[2] === 'stereo' ? null : (capture[2] as TrackName);
    return { ...none, kind: 'capture', file, track, speaker: speakerOf(call, track), stream_sid: capture[1] ?? null };
  }
  const cloud = CLOUD_FILE.exec(file);
  if (cloud) return { ...none, kind: 'cloud', file, recording_sid: cloud[1] ?? null };
  const final = FINAL_FILE.exec(file);
  if (final) return { ...none, kind: 'final', file, speaker: final[1] === 'stereo' ? null : (final[1] as 'agent' | 'customer') };
  return null;
}

/** Every audio file of the contract present in the call's folder, each with a signed URL. */
export async function artifactsOf(deps: ViewDeps, call: CallRow): Promise<ArtifactT[]> {
  const out: ArtifactT[] = [];
  for (const { file, bytes } of await deps.files.list(call.callSid)) {
    if (!/\.(wav|mp3)$/.test(file) || !isServable(call.callSid, file)) continue;
    const what = classify(call, file);
    const info = what && (await audioInfo(deps.files, call.callSid, file, bytes));
    if (what && info) out.push({ ...what, ...info, url: deps.signer.url(call.callSid, file) });
  }
  return out.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.file.localeCompare(b.file));
}

async function reconciliationOf(deps: ViewDeps, callSid: string) {
  const rec = await deps.store.reconciliations.get(callSid);
  if (!rec) return null;
  const onDisk = (await deps.files.store.size(`${callSid}/reconciliation.json`)) !== null;
  return {
    verdict: rec.verdict, stream_sid: rec.streamSid, recording_sid: rec.recordingSid, report: rec.report,
    report_url: onDisk ? deps.signer.url(callSid, 'reconciliation.json') : null, created_at: rec.createdAt, updated_at: rec.updatedAt,
  };
}

async function jobsOf(store: Store, callSid: string) {
  const rows = await Promise.all((await store.calls.relatedJobIds(callSid)).map((id) => store.jobs.get(id)));
  return rows.filter((j): j is JobRow => j !== undefined).map(jobView);
}

export async function detailOf(deps: ViewDeps, call: CallRow): Promise<CallDetailT> {
  const { store } = deps;
  const sid = call.callSid;
  const [facts, streams, captures, recordings, reconciliation, jobs, artifacts, transcript] = await Promise.all([
    store.calls.facts([sid]), store.streams.listByCall(sid), store.captures.listByCall(sid), store.recordings.listByCall(sid),
    reconciliationOf(deps, sid), jobsOf(store, sid), artifactsOf(deps, call), store.transcripts.preferred(sid),
  ]);
  return {
    ...summaryOf(call, facts.get(sid) ?? emptyFacts()),
    streams: streams.map((s) => streamView(call, s, captures)),
    cloud_recordings: recordings.map(recordingView),
    reconciliation,
    jobs,
    transcript,
    artifacts,
  };
}
