// Twilio access-token settings for the web tests, and an HS256 check of the tokens.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

export const KEY_SID = 'SK' + 'a'.repeat(32);
export const KEY_SECRET = 'token-test-secret';
export const APP_SID = 'AP' + 'b'.repeat(32);

/** The JWT's claims, after checking its HS256 signature with the secret. */
export function verifyJwt(jwt: string, secret: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, p, s] = jwt.split('.');
  assert.ok(h && p && s, 'three JWT parts');
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  assert.equal(s, expected, 'signed with the API key secret');
  const decode = (x: string) => JSON.parse(Buffer.from(x, 'base64url').toString()) as Record<string, unknown>;
  return { header: decode(h), claims: decode(p) };
}
