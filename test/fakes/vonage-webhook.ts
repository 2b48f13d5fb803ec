// Signs webhooks exactly as Vonage does: `Authorization: Bearer <JWT>`, HS256 with the account's
// signature secret, claims iat, jti, iss, api_key, application_id and payload_hash (hex SHA-256 of
// the body as sent). Written with node:crypto, independently of the gateway's checker.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export interface SignOptions {
  secret: string;
  apiKey: string;
  applicationId?: string;
  /** seconds since the epoch; default now */
  iat?: number;
  /** sign this body's hash instead of the one sent (tampering) */
  hashOf?: string;
  alg?: 'HS256' | 'none';
  extraClaims?: Record<string, unknown>;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export function signWebhook(body: string, o: SignOptions): string {
  const claims = {
    iat: o.iat ?? Math.floor(Date.now() / 1000), jti: randomUUID(), iss: 'Vonage', api_key: o.apiKey,
    ...(o.applicationId ? { application_id: o.applicationId } : {}),
    payload_hash: createHash('sha256').update(o.hashOf ?? body).digest('hex'), ...o.extraClaims,
  };
  const head = `${b64({ alg: o.alg ?? 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  if (o.alg === 'none') return `${head}.`;
  return `${head}.${createHmac('sha256', o.secret).update(head).digest('base64url')}`;
}

/** Posts a webhook to the gateway: the body compact JSON (or the text given), signed unless
 *  `sign` is null. */
export function postWebhook(app: FastifyInstance, path: string, body: unknown, sign: SignOptions | null, headers: Record<string, string> = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return app.inject({
    method: 'POST', url: path, payload: raw,
    headers: { 'content-type': 'application/json', ...(sign ? { authorization: `Bearer ${signWebhook(raw, sign)}` } : {}), ...headers },
  });
}
