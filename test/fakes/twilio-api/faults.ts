/**
 * Fault injection: picking the rules that apply to a request, and writing a reply the way a
 * misbehaving network or server would. Every fault is consumed per request, so "the first N
 * matching requests fail, then service resumes" is just `times: N`.
 */
import type http from 'node:http';
import { WAV_HEADER_BYTES } from './media.js';
import { defaultFaultMessage, notFound, twilioError } from './resource.js';
import type { Fault, FaultRequest, FaultRule } from './types.js';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The body is a WAV with a 44-byte header, so `truncatedWav` can keep the header intact. */
  isWav?: boolean;
}

export type BodyFault = Exclude<Fault, { type: 'latency' } | { type: 'status' }>;

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}

function matches(rule: FaultRule, req: FaultRequest): boolean {
  if (rule.times <= 0) return false;
  if (rule.kind !== undefined && rule.kind !== 'any' && rule.kind !== req.kind) return false;
  if (rule.recordingSid !== undefined && rule.recordingSid !== req.recordingSid) return false;
  return rule.match ? rule.match(req) : true;
}

/**
 * Consumes the rules for one request: every matching latency rule (they add up), then the first
 * matching rule of any other type. Latency composes with other faults so a slow 503 is expressible.
 */
export function takeFaults(rules: FaultRule[], req: FaultRequest): { latencyMs: number; fault?: Exclude<Fault, { type: 'latency' }> } {
  let latencyMs = 0;
  for (const rule of rules) {
    if (rule.fault.type === 'latency' && matches(rule, req)) {
      rule.times--;
      latencyMs += rule.fault.ms;
    }
  }
  for (const rule of rules) {
    if (rule.fault.type !== 'latency' && matches(rule, req)) {
      rule.times--;
      return { latencyMs, fault: rule.fault };
    }
  }
  return { latencyMs };
}

/** The reply a `status` fault stands for, with Twilio's error body. */
export function statusFaultReply(fault: Extract<Fault, { type: 'status' }>, path: string): Reply {
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
  if (fault.status === 404 && fault.code === undefined && fault.message === undefined) {
    return jsonReply(404, notFound(path), headers);
  }
  const code = fault.code ?? 20000 + fault.status;
  return jsonReply(fault.status, twilioError(fault.status, code, fault.message ?? defaultFaultMessage(fault.status)), headers);
}

function half(n: number): number {
  return Math.floor(n / 2);
}

/**
 * Writes `reply`, shaped by `fault`. Timers are tracked so `close()` can cancel pending halves of
 * slow bodies instead of leaving them to fire on a closed server.
 */
export function sendReply(res: http.ServerResponse, reply: Reply, fault: BodyFault | undefined, timers: Set<NodeJS.Timeout>): void {
  const { body } = reply;
  const head = (length: number, extra: Record<string, string> = {}): void => {
    const headers: Record<string, string> = { ...reply.headers, ...extra };
    if (reply.status !== 204 && reply.status !== 304) headers['Content-Length'] = String(length);
    res.writeHead(reply.status, headers);
  };
  const clamp = (k: number | undefined): number => Math.max(0, Math.min(body.length, k ?? half(body.length)));

  switch (fault?.type) {
    case undefined:
      head(body.length);
      res.end(body);
      return;
    case 'slowBody': {
      const k = clamp(fault.afterBytes);
      head(body.length);
      res.write(body.subarray(0, k));
      const t = setTimeout(() => {
        timers.delete(t);
        if (!res.destroyed) res.end(body.subarray(k));
      }, fault.stallMs);
      timers.add(t);
      return;
    }
    case 'stall':
      head(body.length);
      res.flushHeaders();
      return; // the socket stays open until the client or close() ends it
    case 'cutShort': {
      const k = clamp(fault.afterBytes);
      head(body.length);
      res.flushHeaders();
      // Destroy only once the part is on the wire, so the client sees data and then a reset.
      res.write(body.subarray(0, k), () => res.destroy());
      return;
    }
    case 'wrongLength':
      // Connection: close makes the short end visible as EOF instead of a hang on keep-alive.
      head(body.length + (fault.extraBytes ?? 1000), { Connection: 'close' });
      res.end(body);
      return;
    case 'truncatedWav': {
      const dataBytes = Math.max(0, body.length - WAV_HEADER_BYTES);
      const keepData = reply.isWav ? Math.min(dataBytes, (fault.keepBytes ?? half(dataBytes)) & ~1) : 0;
      const cut = reply.isWav ? body.subarray(0, WAV_HEADER_BYTES + keepData) : body.subarray(0, clamp(fault.keepBytes));
      head(cut.length);
      res.end(cut);
      return;
    }
  }
}
