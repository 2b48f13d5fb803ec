// Vonage's first WebSocket text frame, parsed once at the edge. Its documented shape carries the
// NCCO endpoint's headers at the top level next to `event` and `content-type`; some senders nest
// them under `headers`, so both are read (nested values win, they cannot be mistaken for ours).
import { CALL_ID } from '../ids.js';
import { checkStreamToken } from '../twilio/signature.js';
import type { Track } from '../twilio/messages.js';
import type { PcmRate } from '../capture/pcm-session.js';
import type { VonageWsHeaders } from './vonage-contract.js';

export interface VonageLeg {
  callSid: string;
  track: Track;
  rate: PcmRate;
}

export type ConnectedResult =
  | { ok: true; leg: VonageLeg }
  | { ok: false; code: 'policy' | 'unsupported'; reason: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const header = (h: Obj, k: keyof VonageWsHeaders): string | undefined => (typeof h[k] === 'string' ? (h[k] as string) : undefined);

/** `audio/l16;rate=16000` (spaces and case as any sender writes them) → 16000; else null. */
export function l16Rate(contentType: unknown): PcmRate | null {
  if (typeof contentType !== 'string') return null;
  const m = /^\s*audio\/l16\s*;\s*rate\s*=\s*(\d+)\s*$/i.exec(contentType);
  const rate = m ? Number(m[1]) : NaN;
  return rate === 8000 || rate === 16000 ? rate : null;
}

/** Authenticates before anything else: a peer without our token learns nothing about formats. */
export function parseConnected(m: Obj, tokenSecret: string): ConnectedResult {
  const h: Obj = isObj(m.headers) ? { ...m, ...m.headers } : m;
  const callSid = header(h, 'callvault_call');
  if (!callSid || !CALL_ID.test(callSid)) return { ok: false, code: 'policy', reason: 'missing or malformed callvault_call header' };
  if (!checkStreamToken(tokenSecret, callSid, header(h, 'callvault_token'))) {
    return { ok: false, code: 'policy', reason: 'invalid stream token' };
  }
  const track = header(h, 'callvault_track');
  if (track !== 'inbound' && track !== 'outbound') return { ok: false, code: 'policy', reason: 'callvault_track must be inbound or outbound' };
  const rate = l16Rate(m['content-type'] ?? h['content-type']);
  if (!rate) {
    return { ok: false, code: 'unsupported', reason: 'unsupported content-type: expected audio/l16;rate=16000 or audio/l16;rate=8000' };
  }
  return { ok: true, leg: { callSid, track, rate } };
}
