// Which source each stretch of a speaker's final audio comes from, on one call timeline in
// samples: the local capture where it is complete, the cloud where the local capture has gaps,
// silence where neither has audio. Pure interval arithmetic, no I/O.

/** Half-open [start, end) in samples. */
export interface Interval {
  start: number;
  end: number;
}

export type SegmentSource = 'local' | 'cloud' | 'none';

export interface Segment extends Interval {
  source: SegmentSource;
}

/** Sorted, merged, non-empty intervals. */
export function normalize(list: readonly Interval[]): Interval[] {
  const sorted = list.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ start: i.start, end: i.end });
  }
  return out;
}

/** a minus b; both normalized. */
export function subtract(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const i of a) {
    let start = i.start;
    while (j < b.length && b[j]!.end <= start) j++;
    for (let k = j; k < b.length && b[k]!.start < i.end; k++) {
      if (b[k]!.start > start) out.push({ start, end: b[k]!.start });
      start = Math.max(start, b[k]!.end);
    }
    if (start < i.end) out.push({ start, end: i.end });
  }
  return out;
}

/** a ∩ b; both normalized. */
export function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const start = Math.max(a[i]!.start, b[j]!.start);
    const end = Math.min(a[i]!.end, b[j]!.end);
    if (end > start) out.push({ start, end });
    if (a[i]!.end < b[j]!.end) i++;
    else j++;
  }
  return out;
}

export const total = (list: readonly Interval[]) => list.reduce((n, i) => n + i.end - i.start, 0);

/**
 * The final audio of one speaker over [0, length): local where `localValid`, else cloud where
 * `cloudValid`, else nothing. Seams fall exactly on interval edges, so with a sample-exact
 * alignment no audio is doubled or skipped.
 */
export function planSegments(length: number, localValid: readonly Interval[], cloudValid: readonly Interval[]): Segment[] {
  const all = [{ start: 0, end: length }];
  const local = intersect(normalize(localValid), all);
  const rest = subtract(all, local);
  const cloud = intersect(rest, normalize(cloudValid));
  const none = subtract(rest, cloud);
  const tagged: Segment[] = [
    ...local.map((i) => ({ ...i, source: 'local' as const })),
    ...cloud.map((i) => ({ ...i, source: 'cloud' as const })),
    ...none.map((i) => ({ ...i, source: 'none' as const })),
  ];
  return tagged.sort((a, b) => a.start - b.start);
}

/** Runs of at least `minFrames` envelope frames equal to zero (digital silence), as samples. */
export function silentRuns(envelope: Float32Array, hop: number, minFrames: number): Interval[] {
  const out: Interval[] = [];
  let runStart = -1;
  for (let f = 0; f <= envelope.length; f++) {
    const silent = f < envelope.length && envelope[f] === 0;
    if (silent && runStart < 0) runStart = f;
    if (!silent && runStart >= 0) {
      if (f - runStart >= minFrames) out.push({ start: runStart * hop, end: f * hop });
      runStart = -1;
    }
  }
  return out;
}

/** Frames whose level is above `threshold`, as sample intervals: where a source has audio. */
export function activeRuns(envelope: Float32Array, hop: number, threshold: number): Interval[] {
  const out: Interval[] = [];
  for (let f = 0; f < envelope.length; f++) {
    if (envelope[f]! <= threshold) continue;
    const last = out[out.length - 1];
    if (last && last.end === f * hop) last.end = (f + 1) * hop;
    else out.push({ start: f * hop, end: (f + 1) * hop });
  }
  return out;
}

export type Verdict = 'match' | 'repaired' | 'partial' | 'mismatch' | 'cloud-only' | 'local-only';

/** Both sources present and aligned: how the final audio came out. */
export function verdictOf(speakers: ReadonlyArray<{ segments: readonly Segment[]; localGaps: readonly Interval[] }>): Verdict {
  let repaired = false;
  for (const s of speakers) {
    const gaps = normalize(s.localGaps);
    const filled = intersect(gaps, s.segments.filter((g) => g.source === 'cloud'));
    const unfilled = intersect(gaps, s.segments.filter((g) => g.source === 'none'));
    if (total(unfilled) > 0) return 'partial';
    if (total(filled) > 0) repaired = true;
  }
  return repaired ? 'repaired' : 'match';
}
