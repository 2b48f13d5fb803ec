// The browser app: plain ES modules, HTML and CSS served as they are (no build step), plus the
// Twilio Voice SDK's browser bundle from node_modules. Nothing here needs the API key: the page
// holds no data until the agent signs in, and every data request goes to /api with the key.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Twilio's Voice SDK talks to its own hosts over https and wss; media comes from this gateway. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob: https://*.twilio.com",
  "connect-src 'self' https://*.twilio.com wss://*.twilio.com",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export const VOICE_SDK_PATH = '/vendor/twilio-voice.min.js';

/** Next to this module under tsx; under dist/ (no copy of the assets) the source folder. */
function publicDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, 'public'), path.resolve(here, '../../src/web/public')]) {
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new Error('the browser app (src/web/public) was not found');
}

function voiceSdkFile(): string | null {
  try {
    // The package's exports name only its CommonJS entry (es5/twilio.js); the browser bundle
    // sits beside it in dist/.
    const main = createRequire(import.meta.url).resolve('@twilio/voice-sdk');
    const file = path.resolve(path.dirname(main), '..', 'dist', 'twilio.min.js');
    return fs.existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

/** Every asset is read once at startup: the set of paths served is fixed, so no request can
 *  name a file outside it. */
function loadAssets(dir: string): Map<string, { body: Buffer; type: string }> {
  const assets = new Map<string, { body: Buffer; type: string }>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.posix.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (TYPES[path.extname(entry.name)]) {
        assets.set(`/app/${rel}`, { body: fs.readFileSync(path.join(dir, rel)), type: TYPES[path.extname(entry.name)]! });
      }
    }
  };
  walk('');
  const sdk = voiceSdkFile();
  if (sdk) assets.set(VOICE_SDK_PATH, { body: fs.readFileSync(sdk), type: TYPES['.js']! });
  return assets;
}

function send(reply: FastifyReply, asset: { body: Buffer; type: string }) {
  reply.header('content-type', asset.type);
  reply.header('cache-control', 'no-cache');
  reply.header('x-content-type-options', 'nosniff');
  if (asset.type.startsWith('text/html')) {
    reply.header('content-security-policy', CSP);
    reply.header('referrer-policy', 'no-referrer');
  }
  return reply.send(asset.body);
}

export function registerWebApp(app: FastifyInstance): void {
  const assets = loadAssets(publicDir());
  const index = assets.get('/app/index.html')!;
  app.get('/', async (_request, reply) => send(reply, index));
  app.get('/app/*', async (request, reply) => {
    const asset = assets.get(request.url.split('?')[0] ?? '');
    if (!asset) return reply.code(404).send({ error: 'Not found' });
    return send(reply, asset);
  });
  app.get(VOICE_SDK_PATH, async (_request, reply) => {
    const asset = assets.get(VOICE_SDK_PATH);
    if (!asset) return reply.code(404).send({ error: 'The Twilio Voice SDK is not installed (npm i @twilio/voice-sdk)' });
    return send(reply, asset);
  });
}
