// The raw webhook body the Vonage scope keeps (its signature covers the exact bytes), and the
// same body read as JSON once the signature holds.
import type { FastifyRequest } from 'fastify';

/** The raw body ('' when there was none). */
export const rawBody = (request: FastifyRequest) => (typeof request.body === 'string' ? request.body : '');

/** The body as a JSON object, or null (after a valid signature, so a 400 is the sender's bug). */
export function jsonObject(request: FastifyRequest): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(rawBody(request));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
