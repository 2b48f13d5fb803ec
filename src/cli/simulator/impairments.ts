/**
 * Network impairments for a simulated stream, as a deterministic send plan.
 *
 * Model: the damage happens before Twilio (RTP loss, reordering, jitter on the carrier leg);
 * Twilio forwards what it has in arrival order. So sequence numbers and chunks stay
 * contiguous on the wire and the impairments show up only in which `media.timestamp`s arrive,
 * in what order and when: exactly what a receiver's timestamp placement has to cope with.
 */

export type TrackName = 'inbound' | 'outbound';

export interface Impairments {
  /** Probability a frame is never sent. */
  lossRate?: number;
  /** Probability a sent frame is sent a second time, right after the first. */
  duplicateRate?: number;
  /** Probability a frame swaps places with the next sent frame of the same track. */
  reorderRate?: number;
  /** Each send is delayed by a uniform random 0..jitterMs. */
  jitterMs?: number;
  /** Probability a frame is sent `lateMs` after it is due. */
  lateRate?: number;
  /** Default 500 ms: past a typical receiver's jitter window. */
  lateMs?: number;
  /** Same seed, same plan. Default 1. */
  seed?: number;
}

export interface PlannedSend {
  track: TrackName;
  /** Frame index within its track; `media.timestamp` = index × frameMs. */
  index: number;
  /** Milliseconds after the first media message that this send is due. */
  sendAtMs: number;
  duplicate: boolean;
}

export interface SendPlan {
  /** Sorted by send time. */
  sends: PlannedSend[];
  lost: { track: TrackName; index: number }[];
}

/** mulberry32: tiny, fast, good enough for test plans, and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One stream per impairment kind, so turning one impairment up does not move which frames
 * another one hits: `--loss 0.02 --seed 7` loses the same frames with or without `--jitter`.
 */
function streams(seed: number) {
  const derive = (salt: number) => mulberry32((seed ^ Math.imul(salt, 0x9e3779b1)) >>> 0);
  return { loss: derive(1), reorder: derive(2), jitter: derive(3), late: derive(4), dup: derive(5) };
}

interface Slot extends PlannedSend {
  /** Tie-break for equal send times: the original wire order of the slot this frame holds. */
  order: number;
}

/**
 * Plans the sends for `frameCounts[track]` frames per track, interleaved per tick
 * (inbound then outbound), one tick every `frameMs`.
 */
export function planSends(
  frameCounts: Record<TrackName, number>,
  frameMs: number,
  imp: Impairments = {},
): SendPlan {
  const rng = streams(imp.seed ?? 1);
  const lost: SendPlan['lost'] = [];
  const slots: Slot[] = [];
  for (const track of ['inbound', 'outbound'] as const) {
    const kept: Slot[] = [];
    for (let index = 0; index < frameCounts[track]; index++) {
      const order = index * 2 + (track === 'inbound' ? 0 : 1);
      if (rng.loss() < (imp.lossRate ?? 0)) lost.push({ track, index });
      else kept.push({ track, index, sendAtMs: index * frameMs, duplicate: false, order });
    }
    reorder(kept, rng.reorder, imp.reorderRate ?? 0);
    slots.push(...kept);
  }
  for (const s of slots) delay(s, rng, imp);
  const sends = withDuplicates(slots, rng.dup, imp.duplicateRate ?? 0);
  sends.sort((a, b) => a.sendAtMs - b.sendAtMs || a.order - b.order);
  lost.sort((a, b) => a.index - b.index || a.track.localeCompare(b.track));
  return { sends: sends.map(({ order: _order, ...send }) => send), lost };
}

/** Swaps neighbours' send slots; a frame moves at most once so a swap never cascades. */
function reorder(kept: Slot[], rng: () => number, rate: number): void {
  for (let i = 0; i + 1 < kept.length; i++) {
    if (rng() >= rate) continue;
    const a = kept[i] as Slot;
    const b = kept[i + 1] as Slot;
    [a.sendAtMs, b.sendAtMs] = [b.sendAtMs, a.sendAtMs];
    [a.order, b.order] = [b.order, a.order];
    i++;
  }
}

function delay(s: Slot, rng: ReturnType<typeof streams>, imp: Impairments): void {
  // Draw every time, whatever the rate, so each stream's sequence depends on the frame only.
  const jitter = rng.jitter() * (imp.jitterMs ?? 0);
  const late = rng.late() < (imp.lateRate ?? 0) ? (imp.lateMs ?? 500) : 0;
  s.sendAtMs += jitter + late;
}

function withDuplicates(slots: Slot[], rng: () => number, rate: number): Slot[] {
  const out: Slot[] = [];
  for (const s of slots) {
    out.push(s);
    // +0.5 in `order` puts the copy right behind its original and before the next slot.
    if (rng() < rate) out.push({ ...s, duplicate: true, order: s.order + 0.5 });
  }
  return out;
}
