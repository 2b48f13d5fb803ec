// Evidence for reconciliation: which cloud channel is which local track, where the local capture
// sits in the cloud recording (to the sample), the clock drift, and the level difference. Files
// are read in windows; only envelopes (one value per 10 ms) are held for the whole call.
// A local track may be absent (a Vonage leg carries one track): the present ones decide the
// mapping and the alignment, and the absent one takes the channel they leave.
import {
  ENVELOPE_HOP, EnvelopeBuilder, chooseMapping, estimateGain, findLag, fitDrift, refineLag, windowsFor,
} from '../../audio/correlate.js';
import type { Track } from '../../twilio/messages.js';
import type { AudioReader } from './sources.js';

export const TRACKS: readonly Track[] = ['inbound', 'outbound'];
export const RATE = 8000;
/** DESIGN: offsets of either sign up to 3 s; a little margin for a slow stream start. */
const MAX_OFFSET_FRAMES = Math.round((3.5 * RATE) / ENVELOPE_HOP);
const WINDOW = 2 * RATE;
const WINDOWS_PER_TRACK = 6;
/** search radius around the envelope's lag: two envelope frames either way */
const RADIUS = 2 * ENVELOPE_HOP;
/** a window whose correlation peak is below this says nothing reliable about the offset */
const RELIABLE = 0.5;
/** the two tracks' offsets must agree this closely (1 ms) to be one alignment */
const AGREE_SAMPLES = 8;
const CHUNK = RATE;

export interface Alignment {
  /** cloud sample index of local sample t: lag0 + t·(1 + ppm·1e-6) */
  lag0: number;
  ppm: number;
  residual: number;
  lagByTrack: Record<Track, number | null>;
  tracksAgree: boolean;
  /** windows that gave a reliable offset */
  points: number;
}

export interface Mapping {
  channelOf: Record<Track, number>;
  scores: Record<Track, number[]>;
  score: number;
  alternative: number;
  clear: boolean;
}

export interface Analysis {
  localEnv: Record<Track, Float32Array>;
  cloudEnv: Float32Array[];
  mapping: Mapping;
  alignment: Alignment;
  gain: Record<Track, number>;
}

/** One streaming pass over a file: the envelope of each channel. */
export function envelopes(reader: AudioReader): Float32Array[] {
  const builders = Array.from({ length: reader.format.channels }, () => new EnvelopeBuilder(ENVELOPE_HOP, reader.frames / ENVELOPE_HOP));
  const buf = new Int16Array(CHUNK);
  for (let at = 0; at < reader.frames; at += CHUNK) {
    const n = Math.min(CHUNK, reader.frames - at);
    builders.forEach((b, ch) => b.push(reader.readChannel(ch, at, n, buf).subarray(0, n)));
  }
  return builders.map((b) => b.take());
}

function map(localEnv: Record<Track, Float32Array>, cloudEnv: Float32Array[], present: readonly Track[]): Mapping & { coarse: Record<Track, number[]> } {
  // An absent track scores 0 everywhere: it has no audio to compare.
  const scores = { inbound: cloudEnv.map(() => 0), outbound: cloudEnv.map(() => 0) };
  const coarse = { inbound: cloudEnv.map(() => 0), outbound: cloudEnv.map(() => 0) };
  for (const t of present) {
    cloudEnv.forEach((env, ch) => {
      const r = findLag(localEnv[t], env, -MAX_OFFSET_FRAMES, MAX_OFFSET_FRAMES);
      scores[t][ch] = r.score;
      coarse[t][ch] = r.lag * ENVELOPE_HOP;
    });
  }
  const m = chooseMapping(present.map((t) => scores[t]));
  const channelOf = { inbound: 0, outbound: 0 };
  present.forEach((t, i) => (channelOf[t] = m.channelOf[i]!));
  for (const t of TRACKS.filter((x) => !present.includes(x))) {
    channelOf[t] = cloudEnv.findIndex((_, ch) => !present.some((p) => channelOf[p] === ch));
    if (channelOf[t] < 0) channelOf[t] = 0; // a mono cloud holds both tracks in its one channel
  }
  return { channelOf, scores, score: m.score, alternative: m.alternative, clear: m.clear, coarse };
}

interface Point { t: number; lag: number; weight: number; track: Track }

function measure(local: AudioReader, cloud: AudioReader, channel: number, env: Float32Array, approx: number, track: Track): Point[] {
  const points: Point[] = [];
  // Only where both exist: windows past the end of a cut-short cloud would measure nothing.
  const overlap = Math.min(local.frames, cloud.frames - approx);
  for (const w of windowsFor(overlap, env, WINDOWS_PER_TRACK, WINDOW)) {
    const l = local.readChannel(0, w, WINDOW);
    const cloudStart = w + approx - RADIUS;
    const c = cloud.readChannel(channel, cloudStart, WINDOW + 2 * RADIUS);
    const r = refineLag(l, c, cloudStart - w, approx, RADIUS);
    if (r.score >= RELIABLE) points.push({ t: w + WINDOW / 2, lag: r.lag, weight: r.score, track });
  }
  return points;
}

function align(points: Point[], coarse: number): Alignment {
  const byTrack = (t: Track) => {
    const own = points.filter((p) => p.track === t);
    return own.length > 0 ? fitDrift(own).lag0 : null;
  };
  const lagByTrack = { inbound: byTrack('inbound'), outbound: byTrack('outbound') };
  const fit = points.length > 0 ? fitDrift(points) : { lag0: coarse, ppm: 0, residual: NaN };
  const { inbound, outbound } = lagByTrack;
  const tracksAgree = inbound === null || outbound === null || Math.abs(inbound - outbound) <= AGREE_SAMPLES;
  return { lag0: fit.lag0, ppm: fit.ppm, residual: fit.residual, lagByTrack, tracksAgree, points: points.length };
}

/** Cloud sample index for local sample t. */
export const cloudIndex = (a: Alignment, t: number) => a.lag0 + t * (1 + a.ppm * 1e-6);

function gains(local: LocalTracks, cloud: AudioReader, m: Mapping, a: Alignment, env: Record<Track, Float32Array>): Record<Track, number> {
  const out = { inbound: 1, outbound: 1 };
  for (const t of TRACKS) {
    const reader = local[t];
    if (!reader) continue;
    const found: number[] = [];
    for (const w of windowsFor(reader.frames, env[t], WINDOWS_PER_TRACK, WINDOW)) {
      const g = estimateGain(reader.readChannel(0, w, WINDOW), cloud.readChannel(m.channelOf[t], Math.round(cloudIndex(a, w)), WINDOW));
      if (g !== null) found.push(g);
    }
    found.sort((x, y) => x - y);
    if (found.length > 0) out[t] = found[Math.floor(found.length / 2)]!;
  }
  return out;
}

/** The local capture's track files; null for a track the stream does not carry. */
export type LocalTracks = Record<Track, AudioReader | null>;

export const presentTracks = (local: LocalTracks): Track[] => TRACKS.filter((t) => local[t] !== null);

export function analyze(local: LocalTracks, cloud: AudioReader): Analysis {
  const present = presentTracks(local);
  if (present.length === 0) throw new RangeError('analyze: the local capture has no track');
  const envOf = (t: Track) => (local[t] ? envelopes(local[t])[0]! : new Float32Array(0));
  const localEnv = { inbound: envOf('inbound'), outbound: envOf('outbound') };
  const cloudEnv = envelopes(cloud);
  const { coarse, ...mapping } = map(localEnv, cloudEnv, present);
  const points = present.flatMap((t) =>
    measure(local[t]!, cloud, mapping.channelOf[t], localEnv[t], coarse[t][mapping.channelOf[t]]!, t));
  const best = present.reduce((a, b) => (mapping.scores[a][mapping.channelOf[a]]! >= mapping.scores[b][mapping.channelOf[b]]! ? a : b));
  const alignment = align(points, coarse[best][mapping.channelOf[best]]!);
  return { localEnv, cloudEnv, mapping, alignment, gain: gains(local, cloud, mapping, alignment, localEnv) };
}
