// ElevenLabs' webhook signature (protocol-facts §7): `ElevenLabs-Signature: t=<unix>,v0=<hex>`,
// v0 = hex(HMAC-SHA256(secret, "<t>.<raw body>")), refused past 30 minutes, as the SDK's
// constructEvent does. Here the HMAC is fed as the body streams in, so no body is ever held whole.
import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'elevenlabs-signature';
export const TOLERANCE_S = 30 * 60;

export interface SignatureHeader {
  t: number;
  /** every v0 given (one in practice; more during a secret rotation) */
  v0: string[];
}

/** The header's parts, or null when it is missing or garbled. */
export function parseSignatureHeader(header: string | string[] | undefined): SignatureHeader | null {
  if (typeof header !== 'string' || header.length > 1024) return null;
  let t: number | null = null;
  const v0: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2) as [string, string | undefined];
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v0' && v && /^[0-9a-fA-F]{64}$/.test(v)) v0.push(v.toLowerCase());
  }
  return t === null || v0.length === 0 ? null : { t, v0 };
}

/** Why a timestamp is refused, or null when it is within the tolerance either way. */
export function timestampProblem(t: number, nowS = Date.now() / 1000): string | null {
  if (t < nowS - TOLERANCE_S) return 'the signature timestamp is more than 30 minutes old';
  if (t > nowS + TOLERANCE_S) return 'the signature timestamp is more than 30 minutes in the future';
  return null;
}

/** The HMAC to feed the raw body into. */
export function bodyHmac(secret: string, t: number): Hmac {
  return createHmac('sha256', secret).update(`${t}.`);
}

/** Timing-safe: the hex digest against every v0 of the header. */
export function signatureMatches(expectedHex: string, header: SignatureHeader): boolean {
  const want = Buffer.from(expectedHex, 'hex');
  let ok = false;
  for (const v of header.v0) {
    const got = Buffer.from(v, 'hex');
    if (got.length === want.length && timingSafeEqual(got, want)) ok = true;
  }
  return ok;
}

/** The header ElevenLabs would send for this body (the fake and tests sign with it). */
export function signatureHeaderFor(secret: string, body: string | Buffer, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v0=${bodyHmac(secret, t).update(body).digest('hex')}`;
}
