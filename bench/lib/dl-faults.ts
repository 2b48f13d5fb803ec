// Seeded request failures for the fake Twilio REST server: each metadata or media request of a
// listed recording fails with probability `rate`, as one of a realistic mix. Decisions come from
// a PRNG per recording (so they do not depend on how requests interleave across recordings), and
// are taken once per request: the fake asks every rule's `match` with the same request object.
// `stallMetadata: false` turns stalls of metadata (JSON) requests into 503s: such a stall can hang
// TwilioRest for good once a GC collects its timeout signal (see BENCHMARKS notes).
import type { Fault, FakeTwilio, FaultRequest } from '../../test/fakes/twilio-api.js';
import { prng } from './signal.js';

export type FaultName = '404 not ready' | '500' | '503' | 'cut-short body' | 'stall';

/** Share of each kind among failing requests. A stall costs a full TWILIO_HTTP_TIMEOUT_MS. */
const MIX: Array<[FaultName, number, Fault]> = [
  ['404 not ready', 0.3, { type: 'status', status: 404 }],
  ['500', 0.15, { type: 'status', status: 500 }],
  ['503', 0.15, { type: 'status', status: 503, retryAfter: 1 }],
  ['cut-short body', 0.25, { type: 'cutShort' }],
  ['stall', 0.15, { type: 'stall' }],
];

export interface FaultLog {
  /** requests seen per recording, and how many failed */
  requests: number;
  failed: number;
  byName: Record<FaultName, number>;
  /** stalls of metadata requests (their body never comes) */
  metadataStalls: number;
}

export function injectFaults(fake: FakeTwilio, sids: readonly string[], rate: number, seed: number, stallMetadata = true): FaultLog {
  const log: FaultLog = { requests: 0, failed: 0, byName: Object.fromEntries(MIX.map(([n]) => [n, 0])) as Record<FaultName, number>, metadataStalls: 0 };
  const rand = new Map(sids.map((sid, i) => [sid, prng(seed * 7919 + i + 1)]));
  const decided = new WeakMap<FaultRequest, FaultName | null>();
  const decide = (req: FaultRequest): FaultName | null => {
    if (decided.has(req)) return decided.get(req)!;
    const r = req.recordingSid ? rand.get(req.recordingSid) : undefined;
    let name: FaultName | null = null;
    if (r && (req.kind === 'metadata' || req.kind === 'media')) {
      const [fail, which] = [r(), r()];
      log.requests++;
      if (fail < rate) {
        let acc = 0;
        name = MIX.find(([, share]) => (acc += share) > which)?.[0] ?? MIX[0]![0];
        if (name === 'stall' && req.kind === 'metadata' && !stallMetadata) name = '503';
        log.failed++;
        log.byName[name]++;
        if (name === 'stall' && req.kind === 'metadata') log.metadataStalls++;
      }
    }
    decided.set(req, name);
    return name;
  };
  for (const [name, , fault] of MIX) fake.faults.push({ times: Infinity, match: (req) => decide(req) === name, fault });
  return log;
}
