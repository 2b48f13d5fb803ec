// Builds the real gateway around a temporary folder, listening on a free loopback port.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';

export const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';
export const ACCOUNT_SID = 'AC' + '0'.repeat(31) + '1';
export const API_KEY = 'test-api-key-0123456789';

export interface TestGateway {
  app: FastifyInstance;
  config: Config;
  url: string;
  dir: string;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Log lines are kept in memory so tests can assert on them (and on what they must not hold). */
export function memoryLogger(lines: Array<Record<string, unknown>>, level: Config['logLevel'] = 'debug') {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return createLogger(level, sink);
}

export function tempDir(prefix = 'cv-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startGateway(env: Record<string, string> = {}, dir = tempDir()): Promise<TestGateway> {
  const config = loadConfig({
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    PUBLIC_URL: 'https://gateway.example.com',
    RECORDINGS_DIR: dir,
    PORT: '0',
    LOG_LEVEL: 'debug',
    INSTANCE_ID: 'test-instance',
    TWILIO_CALLER_ID: '+15550001111',
    DIAL_ALLOWED_PREFIXES: '+1,+44',
    API_KEYS: API_KEY,
    ...env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const app = await buildApp(config, { logger: memoryLogger(logs) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, config, url: `http://127.0.0.1:${port}`, dir, logs, close: () => app.close() };
}
