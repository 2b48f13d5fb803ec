// One reconciliation: the local capture and the cloud recording in, one final recording per
// speaker and a report out. Runs in a worker thread (see worker.ts): it is CPU work that must
// not delay live streams. The local capture may hold one track only (a Vonage leg): the other
// speaker then comes from the cloud recording, placed by the alignment the present track finds.
import fs from 'node:fs';
import path from 'node:path';
import { ENVELOPE_HOP, MAPPING_MARGIN } from '../../audio/correlate.js';
import { activeRuns, intersect, normalize, planSegments, silentRuns, subtract, total, verdictOf, type Interval, type Segment, type Verdict } from '../../audio/splice.js';
import type { Track } from '../../twilio/messages.js';
import { permanent } from '../errors.js';
import { WavFileReader } from '../wav-file.js';
import { RATE, TRACKS, analyze, cloudIndex, presentTracks, type Analysis, type LocalTracks } from './analyze.js';
import { FINAL_FILES, SPEAKERS, renderFinal, type Speaker, type SpeakerSource } from './render.js';
import { openAtRate, type AudioReader, type OpenedSource } from './sources.js';

export interface ReconcileInput {
  callDir: string;
  callSid: string;
  agentTrack: Track;
  /** track files (a one-leg stream has one) and their gaps in seconds on the stream timeline */
  local: { streamSid: string; files: Partial<Record<Track, string>>; gaps: Partial<Record<Track, Array<[number, number]>>> } | null;
  cloud: { recordingSid: string; file: string } | null;
  /** why a source is missing, for the report */
  absent: { local?: string; cloud?: string };
}

/** Envelope level above which a 10 ms frame holds audio rather than silence or line noise. */
const AUDIO_LEVEL = 0.02;
/** The best track–channel correlation must reach this for the two sources to be one call. */
const SAME_CALL = 0.5;
const sec = (samples: number) => Math.round((samples / RATE) * 10000) / 10000;
const toSamples = (gaps: Array<[number, number]>): Interval[] => normalize(gaps.map(([s, e]) => ({ start: Math.round(s * RATE), end: Math.round(e * RATE) })));
const framesToTimeline = (runs: Interval[], at: (c: number) => number): Interval[] =>
  runs.map((r) => ({ start: Math.max(0, at(r.start)), end: at(r.end) }));
const hasAudio = (env: Float32Array | undefined, i: Interval, toEnv: (t: number) => number) => {
  if (!env) return false;
  for (let f = Math.max(0, Math.floor(toEnv(i.start) / ENVELOPE_HOP)); f < Math.min(env.length, Math.ceil(toEnv(i.end) / ENVELOPE_HOP)); f++) if (env[f]! > AUDIO_LEVEL) return true;
  return false;
};

interface Plan {
  verdict: Verdict;
  reason: string;
  length: number;
  sources: Record<Speaker, SpeakerSource>;
  localGaps: Record<Speaker, Interval[]>;
  cloudValid: Record<Speaker, Interval[]>;
  localValid: Record<Speaker, Interval[]>;
}

function speakerTracks(agentTrack: Track): Record<Speaker, Track> {
  return { agent: agentTrack, customer: agentTrack === 'inbound' ? 'outbound' : 'inbound' };
}

const framesOf = (local: LocalTracks, t: Track) => local[t]?.frames ?? 0;
const localFramesOf = (local: LocalTracks) => Math.max(framesOf(local, 'inbound'), framesOf(local, 'outbound'));
/** What the capture stats say never arrived on a track, as timeline intervals. */
const statsGapsOf = (input: ReconcileInput, t: Track) => toSamples(input.local?.gaps[t] ?? []);
const validOf = (frames: number, gaps: Interval[]) => (frames > 0 ? subtract([{ start: 0, end: frames }], gaps) : []);

function planBoth(input: ReconcileInput, local: LocalTracks, cloud: AudioReader, a: Analysis): Plan {
  const al = a.alignment;
  // Rounded: a sub-sample lag must not turn into a one-sample gap at either end.
  const timelineOf = (c: number) => Math.round((c - al.lag0) / (1 + al.ppm * 1e-6));
  const localFrames = localFramesOf(local);
  // One silent party (a voicemail, a cloud cut short before they spoke) leaves the mapping
  // "unclear" but the call the same: the other track decides it, one channel each.
  const best = Math.max(...TRACKS.map((t) => a.mapping.scores[t][a.mapping.channelOf[t]]!));
  const ahead = Number.isNaN(a.mapping.alternative) || a.mapping.score - a.mapping.alternative >= MAPPING_MARGIN;
  const sameCall = best >= SAME_CALL && ahead;
  const length = sameCall ? Math.max(localFrames, timelineOf(cloud.frames)) : localFrames;
  const tracks = speakerTracks(input.agentTrack);
  const plan = { sources: {}, localGaps: {}, cloudValid: {}, localValid: {} } as Plan;
  for (const s of SPEAKERS) {
    const t = tracks[s];
    const ch = a.mapping.channelOf[t];
    const statsGaps = statsGapsOf(input, t);
    plan.localValid[s] = validOf(framesOf(local, t), statsGaps);
    plan.localGaps[s] = normalize([...statsGaps, { start: framesOf(local, t), end: length }]);
    // Digital silence in the cloud only counts as missing where the local capture has audio.
    const dropouts = intersect(normalize(framesToTimeline(silentRuns(a.cloudEnv[ch]!, ENVELOPE_HOP, 2), timelineOf)), activeRuns(a.localEnv[t], ENVELOPE_HOP, AUDIO_LEVEL));
    const range = [{ start: Math.max(0, timelineOf(0)), end: Math.min(length, timelineOf(cloud.frames)) }];
    plan.cloudValid[s] = sameCall ? subtract(range, dropouts) : [];
    plan.sources[s] = {
      segments: planSegments(length, plan.localValid[s], plan.cloudValid[s]),
      local: local[t], localChannel: 0, cloud, cloudChannel: ch, cloudAt: (x) => cloudIndex(al, x), cloudGain: a.gain[t],
    };
  }
  plan.length = length;
  plan.verdict = sameCall ? verdictOf(SPEAKERS.map((s) => ({ segments: plan.sources[s].segments, localGaps: plan.localGaps[s] }))) : 'mismatch';
  plan.reason = sameCall ? 'both sources present' : 'the cloud recording does not match the live capture: final audio is the live capture alone';
  const absent = TRACKS.filter((t) => !local[t]);
  if (absent.length > 0) {
    plan.reason += `; the live capture holds no ${absent.join(' or ')} track` + (sameCall ? ', taken from the cloud recording' : '');
  }
  return plan;
}

function planOne(input: ReconcileInput, local: LocalTracks | null, cloud: AudioReader | null): Plan {
  const tracks = speakerTracks(input.agentTrack);
  const plan = { sources: {}, localGaps: {}, cloudValid: {}, localValid: {} } as Plan;
  const length = local ? localFramesOf(local) : cloud!.frames;
  for (const s of SPEAKERS) {
    const t = tracks[s];
    const gaps = local ? statsGapsOf(input, t) : [];
    plan.localValid[s] = local ? validOf(framesOf(local, t), gaps) : [];
    plan.localGaps[s] = local ? gaps : [];
    plan.cloudValid[s] = cloud ? [{ start: 0, end: cloud.frames }] : [];
    // Twilio documents channel 1 as the parent leg (inbound); without a local capture there is
    // no evidence to check that against.
    const ch = cloud && cloud.format.channels > 1 ? TRACKS.indexOf(t) : 0;
    plan.sources[s] = {
      segments: planSegments(length, plan.localValid[s], plan.cloudValid[s]),
      local: local?.[t] ?? null, localChannel: 0, cloud, cloudChannel: ch, cloudAt: (x) => x, cloudGain: 1,
    };
  }
  plan.length = length;
  plan.verdict = local ? 'local-only' : 'cloud-only';
  plan.reason = local ? `no cloud recording: ${input.absent.cloud ?? 'none'}` : `no live capture: ${input.absent.local ?? 'none'}`;
  return plan;
}

function gapReport(plan: Plan, a: Analysis | null, tracks: Record<Speaker, Track>) {
  const local: unknown[] = [];
  const cloud: unknown[] = [];
  for (const s of SPEAKERS) {
    const t = tracks[s];
    const ch = a?.mapping.channelOf[t] ?? 0;
    const toCloud = (x: number) => (a ? cloudIndex(a.alignment, x) : x);
    const filled = plan.sources[s].segments.filter((g) => g.source === 'cloud');
    for (const g of plan.localGaps[s]) {
      local.push({ speaker: s, track: t, start: sec(g.start), end: sec(g.end), duration: sec(g.end - g.start), cloud_has_audio: hasAudio(a?.cloudEnv[ch], g, toCloud), filled_from: total(intersect([g], filled)) > 0 ? 'cloud' : null });
    }
    if (plan.cloudValid[s].length === 0 && plan.verdict !== 'cloud-only') continue;
    for (const g of subtract([{ start: 0, end: plan.length }], normalize(plan.cloudValid[s]))) {
      cloud.push({ speaker: s, track: t, start: sec(g.start), end: sec(g.end), duration: sec(g.end - g.start), local_has_audio: hasAudio(a?.localEnv[t], g, (x) => x) });
    }
  }
  return { local, cloud };
}

const percent = (list: readonly Interval[], length: number) => (length > 0 ? Math.round((total(list) / length) * 10000) / 100 : 0);

function coverage(plan: Plan) {
  const all = [{ start: 0, end: plan.length }];
  const per = (f: (s: Speaker) => readonly Interval[]) => bySpeaker((s) => percent(intersect(normalize(f(s)), all), plan.length));
  const audible = (s: Speaker): Segment[] => plan.sources[s].segments.filter((g) => g.source !== 'none');
  return { local: per((s) => plan.localValid[s]), cloud: per((s) => plan.cloudValid[s]), final: per(audible) };
}

export async function reconcile(input: ReconcileInput) {
  if (!input.local && !input.cloud) throw permanent('no_sources', 'neither a live capture nor a cloud recording exists for this call');
  const localFile = (t: Track) => input.local?.files[t];
  const open = (t: Track) => (localFile(t) ? new WavFileReader(path.join(input.callDir, localFile(t)!)) : null);
  let local: LocalTracks | null = null;
  let opened: OpenedSource | null = null;
  try {
    local = input.local ? { inbound: null, outbound: null } : null;
    for (const t of TRACKS) if (local) local[t] = open(t); // one by one, so a failure closes the first
    if (local && presentTracks(local).length === 0) throw permanent('capture_incomplete', 'the live capture has no track file');
    // Reconciliation works at 8 kHz: a cloud file at another rate is read through an 8 kHz view.
    opened = input.cloud ? await openAtRate(path.join(input.callDir, input.cloud.file), RATE) : null;
    const cloud = opened?.reader ?? null;
    const analysis = local && cloud ? analyze(local, cloud) : null;
    const plan = analysis ? planBoth(input, local!, cloud!, analysis) : planOne(input, local, cloud);
    const files = await renderFinal(input.callDir, plan.length, plan.sources);
    const tracks = speakerTracks(input.agentTrack);
    const report = buildReport(input, plan, analysis, tracks, files, local, opened?.sourceRate ?? null);
    await fs.promises.writeFile(path.join(input.callDir, 'reconciliation.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    local?.inbound?.close();
    local?.outbound?.close();
    opened?.reader.close();
  }
}

/** t = 0 of the timeline: Twilio's media.timestamp 0, or a PCM leg's first audio byte. */
const t0Of = (streamSid: string) => (streamSid.startsWith('VS') ? `first audio byte of stream ${streamSid}` : `media.timestamp 0 of stream ${streamSid}`);

function buildReport(input: ReconcileInput, plan: Plan, a: Analysis | null, tracks: Record<Speaker, Track>, files: typeof FINAL_FILES, local: LocalTracks | null, cloudRate: number | null) {
  const al = a?.alignment;
  return {
    call_sid: input.callSid,
    verdict: plan.verdict,
    reason: plan.reason,
    timeline: { t0: input.local ? t0Of(input.local.streamSid) : 'start of the cloud recording', duration_s: sec(plan.length) },
    sources: {
      local: input.local ? { stream_sid: input.local.streamSid, tracks: local ? presentTracks(local) : [] } : { absent: input.absent.local ?? 'no live capture' },
      cloud: input.cloud ? { recording_sid: input.cloud.recordingSid, sample_rate: cloudRate } : { absent: input.absent.cloud ?? 'no cloud recording' },
    },
    speakers: bySpeaker((s) => ({ track: tracks[s], cloud_channel: a ? a.mapping.channelOf[tracks[s]] : null })),
    mapping: a ? {
      assumed: false, clear: a.mapping.clear, score: round(a.mapping.score), alternative_score: round(a.mapping.alternative),
      scores: byTrack((t) => a.mapping.scores[t].map((x) => round(x))),
    } : { assumed: plan.verdict === 'cloud-only', clear: false, score: null, alternative_score: null, scores: null },
    offset_s: al ? round(al.lag0 / RATE, 6) : null,
    offset_by_track_s: al ? byTrack((t) => (al.lagByTrack[t] === null ? null : round(al.lagByTrack[t]! / RATE, 6))) : null,
    tracks_agree: al?.tracksAgree ?? null,
    drift_ppm: al ? round(al.ppm, 2) : null,
    alignment_points: al?.points ?? 0,
    gain: a ? bySpeaker((s) => round(a.gain[tracks[s]])) : null,
    gaps: gapReport(plan, a, tracks),
    coverage_percent: coverage(plan),
    files: { stereo: files.stereo, agent: files.agent, customer: files.customer },
  };
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;
const bySpeaker = <T>(f: (s: Speaker) => T): Record<Speaker, T> => ({ agent: f('agent'), customer: f('customer') });
const byTrack = <T>(f: (t: Track) => T): Record<Track, T> => ({ inbound: f('inbound'), outbound: f('outbound') });

export type ReconcileReport = Awaited<ReturnType<typeof reconcile>>;
