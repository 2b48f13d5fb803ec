/**
 * Speech fixtures for the correlation tests: an espeak-ng conversation with alternating turns, a
 * "cloud recording" made from it the way Twilio would hold it, and the two-stage alignment the
 * reconciliation job runs, done in memory.
 */
import {
  ENVELOPE_HOP, EnvelopeBuilder, chooseMapping, findLag, fitDrift, refineLag, windowsFor,
} from '../../src/audio/correlate.js';
import { MULAW_TO_PCM16, encodeMulaw } from '../../src/audio/mulaw.js';
import { conversation, speak, type Turn } from '../../src/cli/simulator/audio-source.js';
import { SOX_S16, bytesOf, int16FromLE, prng, runSox } from './helpers.js';

export const RATE = 8000;
export interface Tracks { inbound: Int16Array; outbound: Int16Array }

const LINES = [
  'Good morning, thank you for calling the support line. My name is Alex, how can I help you today?',
  'Hi Alex. I placed an order last week and the parcel still has not arrived at my house.',
  'I am sorry to hear that. Could you read me the order number from your confirmation email?',
  'Sure, it is seven four two, nine one eight, three three five. It was a pair of running shoes.',
  'Thank you. I can see the order here. It left our warehouse on Tuesday afternoon by courier.',
  'That is strange, because the tracking page has said in transit for five days now.',
  'Let me check with the courier. Sometimes a parcel is held at the local depot over the weekend.',
  'Okay. I will be away on Friday, so I would rather it did not come then, if that is possible.',
  'I understand. I can ask them to deliver on Thursday morning, or to leave it with a neighbour.',
  'Thursday morning would be perfect. Someone will be home until about eleven o clock.',
  'Great, I have booked that for you. You will get a text message with a two hour time slot.',
  'Wonderful. And if it does not come on Thursday, what should I do then, just call again?',
  'Yes, please call us, and we will send a replacement pair straight away at no extra cost.',
  'That sounds fair. Thank you very much for your help, Alex, I really appreciate it.',
  'You are welcome. Is there anything else I can do for you today, before we finish the call?',
  'No, that was everything. Have a lovely afternoon, and goodbye for now.',
];

const OTHER_LINES = [
  'The weather tomorrow will be cloudy in the north with some rain arriving by the evening.',
  'Did you remember to water the plants in the garden before you left for the airport?',
  'Our next meeting is on the third floor, in the small room beside the kitchen.',
  'I think the train was late again because of the signal problems near the bridge.',
  'Please bring two copies of the report and the spreadsheet with last quarter numbers.',
  'The museum opens at ten, but the new exhibition on the first floor only opens at noon.',
];

/** Decoded 8 kHz PCM16 of a conversation, as the capture would write it (mu-law in, PCM out). */
async function build(lines: string[], voices: [string, string], gaps: number[]): Promise<Tracks> {
  const audio = await Promise.all(lines.map((text, i) => speak(text, { voice: voices[i % 2]! })));
  const turns: Turn[] = audio.map((a, i) => ({
    track: i % 2 === 0 ? 'inbound' : 'outbound', audio: a, gapMs: gaps[i % gaps.length]!,
  }));
  const { inbound, outbound } = conversation(turns);
  return { inbound: Int16Array.from(inbound, (c) => MULAW_TO_PCM16[c]!), outbound: Int16Array.from(outbound, (c) => MULAW_TO_PCM16[c]!) };
}

let main: Promise<Tracks> | undefined;
let other: Promise<Tracks> | undefined;
/** About 90 s, agent (en-us) and customer (en-gb female) taking turns, with pauses and one overlap-free gap pattern. */
export const speechCall = (): Promise<Tracks> => (main ??= build(LINES, ['en-us', 'en-gb+f3'], [400, 250, 700, 300, 550]));
/** Different words and voices: a recording of some other call. */
export const otherCall = (): Promise<Tracks> => (other ??= build(OTHER_LINES, ['en-gb', 'en-us+m3'], [350, 600]));

/** What Twilio stores is the same mu-law stream: encode then decode. */
export function mulawRoundTrip(x: Int16Array): Int16Array {
  return Int16Array.from(encodeMulaw(x), (c) => MULAW_TO_PCM16[c]!);
}

/**
 * A clock running `ppm` slow relative to the local one: output sample m is the input at time
 * m / (1 + ppm·1e-6), so input sample t lands at cloud index t·(1 + ppm·1e-6). sox `speed f`
 * plays f times faster (output m = input m·f), hence f = 1 / (1 + ppm·1e-6).
 */
export function withDrift(x: Int16Array, ppm: number): Int16Array {
  const raw = ['-r', String(RATE), ...SOX_S16];
  return int16FromLE(runSox(bytesOf(x), raw, raw, ['speed', String(1 / (1 + ppm * 1e-6)), 'rate', '-v', String(RATE)]));
}

/** A copy with `count` 20 ms frames zeroed, as the capture writes frames that never arrived. */
export function dropFrames(x: Int16Array, seed: number, count: number): Int16Array {
  const out = x.slice();
  const rnd = prng(seed);
  const frames = Math.floor(x.length / 160);
  for (let k = 0; k < count; k++) {
    const at = Math.floor(rnd() * frames) * 160;
    out.fill(0, at, at + 160);
  }
  return out;
}

export interface CloudCase {
  /** Cloud index of local sample 0 (before drift), either sign. */
  offset: number;
  ppm?: number;
  swap?: boolean;
  /** Keep only this many cloud samples (a recording cut short). */
  cutTo?: number;
  scale?: number;
  dropped?: number;
  /** Line hiss (about −64 dBFS) under everything, so pauses are not digital silence. */
  hiss?: boolean;
}

/**
 * The call as both sides saw it. The conversation is the true audio; the cloud starts recording
 * at conversation sample max(0, −offset)… in its own clock, the local capture at max(0, offset).
 * Returns the exact truth: cloud index = lag0 + t·(1 + ppm·1e-6) for local sample t.
 */
export function makeCall(clean: Tracks, c: CloudCase): { local: Tracks; cloud: Int16Array[]; lag0: number; ppm: number } {
  const call = c.hiss ? withHiss(clean) : clean;
  const ppm = c.ppm ?? 0;
  const k = 1 + ppm * 1e-6;
  const localStart = Math.max(0, c.offset);
  const local = {
    inbound: dropFrames(call.inbound.subarray(localStart), 1, c.dropped ?? 0),
    outbound: dropFrames(call.outbound.subarray(localStart), 2, c.dropped ?? 0),
  };
  const cloudOf = (x: Int16Array): Int16Array => {
    let y = ppm === 0 ? x : withDrift(x, ppm);
    y = y.subarray(Math.max(0, -c.offset), c.cutTo === undefined ? y.length : Math.max(0, -c.offset) + c.cutTo);
    const scaled = c.scale === undefined ? y : Int16Array.from(y, (v) => Math.max(-32768, Math.min(32767, Math.round(v * c.scale!))));
    return mulawRoundTrip(scaled);
  };
  const channels = [cloudOf(call.inbound), cloudOf(call.outbound)];
  // Local t is conversation sample t + localStart, which sits at k·(t + localStart) in the drifted
  // conversation, minus what the cloud left out at its start.
  return { local, cloud: c.swap ? channels.reverse() : channels, lag0: k * localStart - Math.max(0, -c.offset), ppm };
}

export function withHiss(call: Tracks, seed = 9): Tracks {
  const rnd = prng(seed);
  const hiss = (x: Int16Array): Int16Array => Int16Array.from(x, (v) => v + Math.round((rnd() - 0.5) * 40));
  return { inbound: hiss(call.inbound), outbound: hiss(call.outbound) };
}

/** The envelope of `x`, pushed in uneven chunks as a file reader would deliver them. */
export function envelopeOf(x: Int16Array, chunks = [4000, 333, 8000, 1]): Float32Array {
  const b = new EnvelopeBuilder();
  for (let at = 0, k = 0; at < x.length; k++) {
    const n = chunks[k % chunks.length]!;
    b.push(x.subarray(at, at + n));
    at += n;
  }
  return b.finish();
}

export const MAX_LAG_FRAMES = 350; // 3.5 s: DESIGN allows ±3 s, plus a margin
const WINDOW = 2 * RATE;
const RADIUS = 2 * ENVELOPE_HOP;

export interface Alignment {
  scores: number[][];
  mapping: ReturnType<typeof chooseMapping>;
  coarse: number[];
  points: Array<{ t: number; lag: number; weight: number }>;
  fit: ReturnType<typeof fitDrift> | null;
}

/** Envelope stage for every track × channel, then the mapping, then sample-level points and a line. */
export function align(local: Tracks, cloud: Int16Array[]): Alignment {
  const tracks = [local.inbound, local.outbound];
  const localEnv = tracks.map((x) => envelopeOf(x));
  const cloudEnv = cloud.map((x) => envelopeOf(x));
  const found = localEnv.map((a) => cloudEnv.map((b) => findLag(a, b, -MAX_LAG_FRAMES, MAX_LAG_FRAMES)));
  const scores = found.map((row) => row.map((r) => r.score));
  const mapping = chooseMapping(scores);
  const coarse = mapping.channelOf.map((c, t) => found[t]![c]!.lag * ENVELOPE_HOP);
  const points = tracks.flatMap((x, t) => {
    const channel = cloud[mapping.channelOf[t]!]!;
    const lag = coarse[t]!;
    const duration = Math.min(x.length, channel.length - lag);
    return windowsFor(duration, localEnv[t]!, 6, WINDOW).map((w) => {
      const cloudStart = Math.max(0, w + lag - RADIUS);
      const r = refineLag(x.subarray(w, w + WINDOW), channel.subarray(cloudStart, w + lag + RADIUS + WINDOW),
        cloudStart, w + lag, RADIUS);
      return { t: w + WINDOW / 2, lag: r.lag - w, weight: r.score };
    });
  }).filter((p) => p.weight >= 0.5);
  return { scores, mapping, coarse, points, fit: points.length > 0 ? fitDrift(points) : null };
}

/**
 * Endless speech-like audio for speed runs: talk spurts (1–4 s) of syllable-shaped coloured noise
 * between pauses (0.3–1.5 s) with a faint line hiss. Each call fills `out` with the next samples.
 */
export function speechLike(seed: number): (out: Int16Array) => void {
  const rnd = prng(seed);
  let left = 0, talking = false, syllable = 0, length = 1, amp = 0, colour = 0;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      if (left-- <= 0) {
        talking = !talking;
        left = Math.floor((talking ? 1 + 3 * rnd() : 0.3 + 1.2 * rnd()) * RATE);
      }
      if (++syllable >= length) [syllable, length, amp] = [0, Math.floor((0.12 + 0.15 * rnd()) * RATE), 4000 + 16000 * rnd()];
      colour = 0.7 * colour + (rnd() - 0.5);
      const level = talking ? amp * Math.sin((Math.PI * syllable) / length) ** 2 : 30;
      out[i] = Math.round(level * colour);
    }
  };
}
