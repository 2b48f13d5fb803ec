// Media accessibility for the recordings list: one cheap request per recording, few at a time
// (Twilio rate-limits per account, and the same account downloads recordings), each with a short
// timeout, and answers cached so that listing twice does not probe twice.

export interface ProbeResult {
  accessible: boolean;
  /** the HTTP status of the probe; null when none came (timeout, network error, not checked) */
  statusCode: number | null;
}

export interface MediaProberOptions {
  /** one request for the media at `path`, resolving to its HTTP status */
  request: (path: string, signal: AbortSignal) => Promise<number>;
  /** most probes in flight at once, over all listings */
  concurrency: number;
  timeoutMs: number;
  ttlMs: number;
  /** the cache forgets its oldest entries beyond this */
  maxEntries: number;
  now?: () => number;
}

export interface MediaProber {
  /** `key` names what was probed (a recording SID plus its date_updated, so a change re-probes).
   *  Probes not started before `deadline` aborts are reported unchecked (false, null). */
  probe(key: string, path: string, deadline: AbortSignal): Promise<ProbeResult>;
}

const UNCHECKED: ProbeResult = { accessible: false, statusCode: null };

/** A 5xx, 429 or 408 says nothing lasting about the media, so it is asked again next time. */
const lasting = (r: ProbeResult) => r.statusCode !== null && r.statusCode < 500 && r.statusCode !== 429 && r.statusCode !== 408;

/** A counting semaphore: `run` waits for a free slot. */
function limiter(slots: number) {
  let free = slots;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

export function mediaProber(o: MediaProberOptions): MediaProber {
  const now = o.now ?? Date.now;
  const cache = new Map<string, { result: ProbeResult; at: number }>();
  const pending = new Map<string, Promise<ProbeResult>>();
  const run = limiter(o.concurrency);

  const once = (path: string, deadline: AbortSignal) =>
    run(async (): Promise<ProbeResult> => {
      // The timeout starts with the request, not while queued behind other probes.
      if (deadline.aborted) return UNCHECKED;
      try {
        const status = await o.request(path, AbortSignal.any([deadline, AbortSignal.timeout(o.timeoutMs)]));
        return { accessible: status >= 200 && status < 300, statusCode: status };
      } catch {
        return UNCHECKED;
      }
    });

  const remember = (key: string, result: ProbeResult) => {
    if (!lasting(result)) return;
    cache.delete(key);
    cache.set(key, { result, at: now() });
    for (const oldest of cache.keys()) {
      if (cache.size <= o.maxEntries) break;
      cache.delete(oldest);
    }
  };

  return {
    async probe(key, path, deadline) {
      const hit = cache.get(key);
      if (hit && now() - hit.at < o.ttlMs) return hit.result;
      // Two listings at once share one probe per recording.
      const running = pending.get(key);
      if (running) return running;
      const p = once(path, deadline).then((result) => {
        remember(key, result);
        return result;
      }).finally(() => pending.delete(key));
      pending.set(key, p);
      return p;
    },
  };
}
