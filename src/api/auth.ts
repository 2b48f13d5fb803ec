// API keys: X-API-Key header or ?api_key=. Nothing under /api is open by default: without
// API_KEYS, the first start creates a key, keeps its hash in the store and the key itself in a
// file only the gateway's user can read, and says once where it is.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Store } from '../store/db.js';

export const API_KEY_HEADER = 'x-api-key';
const SETTING = 'api_key_sha256';
export const GENERATED_KEY_FILE = 'api-key.txt';

const digest = (key: string) => createHash('sha256').update(key).digest();

export interface ApiKeys {
  /** constant time in the key's content: digests of equal length are compared */
  check(key: string | undefined): boolean;
}

export function apiKeys(digests: readonly Buffer[]): ApiKeys {
  return {
    check(key) {
      if (!key) return false;
      const given = digest(key);
      let ok = false;
      for (const d of digests) ok = timingSafeEqual(d, given) || ok;
      return ok;
    },
  };
}

/** The configured keys, or the generated one (created on the first start without API_KEYS). */
export async function loadApiKeys(configured: readonly string[], store: Store, recordingsDir: string, log: Logger): Promise<ApiKeys> {
  if (configured.length > 0) return apiKeys(configured.map(digest));
  const file = path.join(recordingsDir, GENERATED_KEY_FILE);
  let created = false;
  const hash = await store.settings.getOrCreate(SETTING, () => {
    const key = `cv_${randomBytes(24).toString('base64url')}`;
    fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
    created = true;
    return digest(key).toString('hex');
  });
  if (created) log.warn({ file }, 'no API_KEYS configured: an API key was created for /api; read it from this file, then set API_KEYS');
  return apiKeys([Buffer.from(hash, 'hex')]);
}

export function keyOf(request: FastifyRequest): string | undefined {
  const header = request.headers[API_KEY_HEADER];
  if (typeof header === 'string' && header !== '') return header;
  const query = (request.query ?? {}) as Record<string, unknown>;
  return typeof query.api_key === 'string' && query.api_key !== '' ? query.api_key : undefined;
}

/** onRequest hook: 401 with a JSON error before any route work. */
export function requireApiKey(keys: ApiKeys) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const key = keyOf(request);
    if (key === undefined) return reply.code(401).send({ error: 'API key required: send an X-API-Key header or an api_key query parameter' });
    if (!keys.check(key)) return reply.code(401).send({ error: 'Invalid API key' });
  };
}
