// One provider request whose response headers must arrive within a time limit, for the Twilio,
// Vonage and ElevenLabs clients. The limit is a timer we hold ourselves: AbortSignal.timeout
// inside AbortSignal.any can be garbage-collected and never fire (nodejs/node#57736). Bodies are
// timed separately by their readers (saveBody's idle timer), through the returned controller.
import { retryable } from './errors.js';

export interface HeaderTimeout {
  timeoutMs: number;
  /** the job's signal: its abort cancels the request, body included */
  signal?: AbortSignal | undefined;
  /** names the provider in errors, e.g. "Twilio" */
  service: string;
}

/** The response once its headers are in, and the controller that aborts it (its body too).
 *  The caller's abort is rethrown as is; a timeout or network failure is retryable. */
export async function fetchHeaders(url: URL, init: RequestInit, o: HeaderTimeout): Promise<{ res: Response; controller: AbortController }> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, o.timeoutMs);
  try {
    return { res: await fetch(url, { ...init, signal: controller.signal }), controller };
  } catch (err) {
    o.signal?.removeEventListener('abort', onAbort);
    if (o.signal?.aborted) throw err;
    const code = timedOut ? 'timeout' : 'network';
    throw retryable(code, `${o.service} request failed (${code}): ${(err as Error).message}`, err);
  } finally {
    clearTimeout(timer);
  }
}
