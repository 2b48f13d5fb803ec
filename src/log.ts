// Logging: pino with redaction, so secrets, phone numbers and query strings (which may carry
// ?api_key=) never reach a log line even when a caller passes a whole object by mistake.
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from './config.js';

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-twilio-signature"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.authToken',
  '*.apiKeySecret',
  '*.token',
  '*.secret',
  '*.password',
  'from',
  'to',
  '*.from',
  '*.to',
  '*.From',
  '*.To',
  '*.fromNumber',
  '*.toNumber',
  '*.customParameters',
];

interface RequestLike {
  method?: string;
  url?: string;
  id?: string | number;
}

/** The query string is dropped: it may carry an API key. */
function requestSerializer(req: RequestLike): Record<string, unknown> {
  return { method: req.method, url: req.url?.split('?')[0], id: req.id };
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { req: requestSerializer, err: pino.stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
