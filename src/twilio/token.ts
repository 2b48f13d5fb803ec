// GET /token: a short-lived Twilio Voice access token for the browser dialer, behind the same API
// key as /api. Without the credentials it needs, a 503 names the missing variables, so the page
// can say dialling is not configured instead of failing inside the SDK.
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { requireApiKey, type ApiKeys } from '../api/auth.js';
import type { Config } from '../config.js';

/** Twilio allows up to 24 h; an agent's page fetches a new token on each sign-in or reload. */
export const TOKEN_TTL_S = 3600;

export function missingTokenSettings(config: Config): string[] {
  const t = config.twilio;
  const missing: string[] = [];
  if (!t.accountSid) missing.push('TWILIO_ACCOUNT_SID');
  if (!t.apiKeySid) missing.push('TWILIO_API_KEY_SID');
  if (!t.apiKeySecret) missing.push('TWILIO_API_KEY_SECRET');
  if (!t.twimlAppSid) missing.push('TWILIO_TWIML_APP_SID');
  return missing;
}

export function voiceToken(config: Config): string {
  const t = config.twilio;
  const { AccessToken } = twilio.jwt;
  const token = new AccessToken(t.accountSid!, t.apiKeySid!, t.apiKeySecret!, { identity: config.agentIdentity, ttl: TOKEN_TTL_S });
  token.addGrant(new AccessToken.VoiceGrant({ outgoingApplicationSid: t.twimlAppSid!, incomingAllow: true }));
  return token.toJwt();
}

export function registerToken(app: FastifyInstance, deps: { config: Config; keys: ApiKeys }): void {
  app.get('/token', { onRequest: requireApiKey(deps.keys) }, async (_request, reply) => {
    const missing = missingTokenSettings(deps.config);
    if (missing.length > 0) {
      return reply.code(503).send({ error: `Dialling is not configured: set ${missing.join(', ')}`, missing });
    }
    reply.header('cache-control', 'no-store');
    return { token: voiceToken(deps.config), identity: deps.config.agentIdentity, ttl_s: TOKEN_TTL_S };
  });
}
