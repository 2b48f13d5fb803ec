// X-Twilio-Signature checks and per-call stream tokens.
import { createHmac, timingSafeEqual } from 'node:crypto';
import twilio from 'twilio';

export const SIGNATURE_HEADER = 'x-twilio-signature';

export interface SignatureChecker {
  /** POST webhooks: URL as Twilio called it (public base + path + query) and the form params. */
  checkWebhook(signature: string | undefined, pathAndQuery: string, params: Record<string, unknown>): boolean;
  /** WebSocket upgrade: signed over the wss:// URL; the https:// form is accepted too because
   *  Twilio's exact rule is undocumented (DESIGN.md, "Fail closed"). */
  checkUpgrade(signature: string | undefined, pathAndQuery: string): boolean;
}

export function createSignatureChecker(authToken: string, publicUrl: string): SignatureChecker {
  const httpsBase = publicUrl;
  const wssBase = publicUrl.replace(/^http/, 'ws');
  return {
    checkWebhook(signature, pathAndQuery, params) {
      if (!signature) return false;
      return twilio.validateRequest(authToken, signature, httpsBase + pathAndQuery, params as Record<string, string>);
    },
    checkUpgrade(signature, pathAndQuery) {
      if (!signature) return false;
      return (
        twilio.validateRequest(authToken, signature, wssBase + pathAndQuery, {}) ||
        twilio.validateRequest(authToken, signature, httpsBase + pathAndQuery, {})
      );
    },
  };
}

/** A checker that accepts everything: only with TWILIO_VALIDATE_SIGNATURES=false. */
export const noSignatureChecks: SignatureChecker = {
  checkWebhook: () => true,
  checkUpgrade: () => true,
};

/** The per-call token carried in the stream's <Parameter>: an HMAC of the CallSid, so a stream
 *  can only be opened for a call this gateway answered, whatever happens to the upgrade header. */
export function streamToken(secret: string, callSid: string): string {
  return createHmac('sha256', secret).update(`stream:${callSid}`).digest('base64url');
}

export function checkStreamToken(secret: string, callSid: string, token: unknown): boolean {
  if (typeof token !== 'string') return false;
  const expected = Buffer.from(streamToken(secret, callSid));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
