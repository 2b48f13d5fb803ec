// Vonage's two JWTs. Requests to Vonage carry an application JWT (RS256, the application's private
// key), made fresh per request with a short life and its own jti. Webhooks from Vonage carry a
// signed-webhook JWT (HS256, the account's signature secret) whose `payload_hash` ties it to the
// body, so the signature covers the payload and not only the header.
import { createHash, timingSafeEqual } from 'node:crypto';
import { tokenGenerate, verifySignature } from '@vonage/jwt';
import type { VonageConfig } from '../config.js';

export interface VonageAppCredentials {
  applicationId: string;
  privateKey: string;
}

/** The application credentials, or the names of the variables that are missing. */
export function vonageAppCredentials(v: VonageConfig): { ok: true; credentials: VonageAppCredentials } | { ok: false; missing: string[] } {
  const missing = [
    ...(v.applicationId ? [] : ['VONAGE_APPLICATION_ID']),
    ...(v.privateKey ? [] : ['VONAGE_PRIVATE_KEY']),
  ];
  if (missing.length > 0 || !v.applicationId || !v.privateKey) return { ok: false, missing };
  return { ok: true, credentials: { applicationId: v.applicationId, privateKey: v.privateKey } };
}

/** Long enough for a slow request, short enough that a leaked token is soon worthless. */
const APP_TOKEN_TTL_S = 300;

export function applicationToken(c: VonageAppCredentials): string {
  // tokenGenerate adds a fresh jti (uuid v4), iat and exp; a new options object each time,
  // since it deletes `ttl` from the one it is given.
  return tokenGenerate(c.applicationId, c.privateKey, { ttl: APP_TOKEN_TTL_S });
}

export interface WebhookCheckOptions {
  /** VONAGE_SIGNATURE_SECRET */
  secret: string;
  /** VONAGE_API_KEY: when set, the `api_key` claim must equal it */
  apiKey: string | undefined;
  /** a token issued longer ago than this is a replay, not a delivery */
  maxAgeS: number;
  /** clock skew allowed for a token issued "in the future" */
  maxSkewS: number;
  nowS?: number;
}

export type WebhookCheck = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

export const sha256Hex = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

function decodePart(part: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks `Authorization: Bearer <JWT>` of a Vonage webhook against the raw body. */
export function checkSignedWebhook(authorization: string | undefined, rawBody: string, o: WebhookCheckOptions): WebhookCheck {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token) return { ok: false, reason: 'no Authorization: Bearer token' };
  const [h, p] = token.split('.');
  const header = h ? decodePart(h) : null;
  const claims = p ? decodePart(p) : null;
  if (!header || !claims) return { ok: false, reason: 'the token is not a JWT' };
  // verifySignature also allows RS256; webhooks are HS256 only (no algorithm confusion).
  if (header.alg !== 'HS256') return { ok: false, reason: `the token is signed with ${String(header.alg)}, not HS256` };
  if (!verifySignature(token, o.secret)) return { ok: false, reason: 'bad signature or expired token' };
  if (o.apiKey !== undefined && claims.api_key !== o.apiKey) return { ok: false, reason: 'the api_key claim is not VONAGE_API_KEY' };
  const now = o.nowS ?? Math.floor(Date.now() / 1000);
  const iat = claims.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return { ok: false, reason: 'the token has no iat' };
  if (now - iat > o.maxAgeS) return { ok: false, reason: `the token was issued ${now - iat} s ago (more than ${o.maxAgeS} s)` };
  if (iat - now > o.maxSkewS) return { ok: false, reason: 'the token was issued in the future' };
  const hash = claims.payload_hash;
  if (typeof hash !== 'string') return { ok: false, reason: 'the token has no payload_hash' };
  if (!sameHex(hash, sha256Hex(rawBody))) return { ok: false, reason: 'payload_hash does not match the body' };
  return { ok: true, claims };
}
