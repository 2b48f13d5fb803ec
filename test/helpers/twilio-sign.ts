import twilio from 'twilio';
import { AUTH_TOKEN } from './gateway.js';

export const PUBLIC = 'https://gateway.example.com';

/** A signed form POST for fastify's inject(), exactly as Twilio would send it. */
export function signedForm(pathAndQuery: string, params: Record<string, string>, token = AUTH_TOKEN) {
  return {
    method: 'POST' as const,
    url: pathAndQuery,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(token, PUBLIC + pathAndQuery, params),
    },
    payload: new URLSearchParams(params).toString(),
  };
}

export const randomSid = (prefix: string) =>
  prefix + Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
