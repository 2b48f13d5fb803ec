// /metrics (Prometheus text, prom-client) and /healthz. Each app has its own registry (tests build
// several apps in one process); every series carries `instance_id` as a default label, so
// gateways behind one load balancer stay apart whatever the scrape target is called.
//
// Access: on the main port /metrics needs an API key (X-API-Key, Authorization: Bearer, or
// ?api_key=); with METRICS_PORT a second listener on HOST serves /metrics and /healthz/* with no
// key, for a scraper on a private network. Neither is rate-limited (only /api is).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { keyOf, type ApiKeys } from '../api/auth.js';
import type { SessionRegistry } from '../capture/registry.js';
import type { Config } from '../config.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/db.js';
import { registerCaptureMetrics } from './capture.js';
import { Health, type Readiness } from './health.js';
import { registerJobMetrics } from './jobs.js';

export { Health, type ReadinessCheck } from './health.js';

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ObservabilityDeps {
  config: Config;
  store: Store;
  registry: SessionRegistry;
  queue: JobQueue;
  keys: ApiKeys;
  log: Logger;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The Prometheus text of this app's registry, capture stats read now. */
  scrape(): Promise<string>;
  /** Where the METRICS_PORT listener is bound, once the app is ready; null without one. */
  address(): AddressInfo | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
    health: Health;
  }
}

function createMetrics(d: ObservabilityDeps): Metrics & { http: Histogram<'method' | 'route' | 'status_code'>; server?: http.Server } {
  const registry = new Registry();
  registry.setDefaultLabels({ instance_id: d.config.instanceId });
  collectDefaultMetrics({ register: registry, prefix: 'callvault_' });
  const capture = registerCaptureMetrics(registry, d.registry);
  registerJobMetrics(registry, { jobs: d.store.jobs, queue: d.queue, log: d.log, timeoutMs: d.config.observability.healthTimeoutMs });
  const httpHistogram = new Histogram({
    name: 'callvault_http_request_duration_seconds',
    help: 'HTTP request duration on the main port, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const m = {
    registry,
    contentType: registry.contentType as string,
    http: httpHistogram,
    server: undefined as http.Server | undefined,
    scrape: () => {
      capture.refresh();
      return registry.metrics();
    },
    address: () => (m.server?.address() as AddressInfo | null | undefined) ?? null,
  };
  return m;
}

/** The key of a scraper: the API's own ways, plus a bearer token (Prometheus' `authorization`). */
function scrapeKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return keyOf(request);
}

function healthBody(r: Readiness, d: ObservabilityDeps) {
  return { status: r.ok ? 'ok' : 'unavailable', instance_id: d.config.instanceId, active_streams: d.registry.size };
}

async function handleHealth(pathname: string, health: Health, d: ObservabilityDeps): Promise<{ code: number; body: unknown }> {
  if (pathname === '/healthz/live') return { code: 200, body: { status: 'ok', instance_id: d.config.instanceId } };
  const r = await health.ready();
  const code = r.ok ? 200 : 503;
  // /healthz keeps its original compact body, and says why when it fails.
  if (pathname === '/healthz' && r.ok) return { code, body: healthBody(r, d) };
  return { code, body: { ...healthBody(r, d), checks: r.checks } };
}

const HEALTH_PATHS = new Set(['/healthz', '/healthz/live', '/healthz/ready']);

/** METRICS_PORT: a plain listener, outside the app's hooks, so scrapes do not time themselves. */
function metricsServer(m: Metrics, health: Health, d: ObservabilityDeps): http.Server {
  return http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '') || '/';
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    const json = (code: number, body: unknown) => send(code, 'application/json; charset=utf-8', JSON.stringify(body));
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'Method not allowed' });
    const work = pathname === '/metrics'
      ? m.scrape().then((text) => send(200, m.contentType, text))
      : HEALTH_PATHS.has(pathname)
        ? handleHealth(pathname, health, d).then((r) => json(r.code, r.body))
        : Promise.resolve(json(404, { error: 'Not found' }));
    work.catch((err: unknown) => {
      d.log.error({ err }, 'metrics listener request failed');
      if (!res.headersSent) json(500, { error: 'Internal server error' });
    });
  });
}

/** Registers the HTTP timing hook (call before other plugins, so it sees every route),
 *  /metrics, /healthz, /healthz/live and /healthz/ready, and the METRICS_PORT listener. */
export function registerObservability(app: FastifyInstance, d: ObservabilityDeps): void {
  const m = createMetrics(d);
  const o = d.config.observability;
  const health = new Health({
    store: d.store, spoolDir: d.config.recordingsDir, instanceId: d.config.instanceId,
    minFreeBytes: o.minFreeBytes, timeoutMs: o.healthTimeoutMs,
  });
  app.decorate('metrics', m);
  app.decorate('health', health);

  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: ids in paths must not become label values.
    const route = request.routeOptions.url ?? 'unmatched';
    m.http.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', { schema: { hide: true } }, async (request: FastifyRequest, reply: FastifyReply) => {
    const key = scrapeKey(request);
    if (key === undefined) return reply.code(401).send({ error: 'API key required: send an X-API-Key header or Authorization: Bearer <key>' });
    if (!d.keys.check(key)) return reply.code(401).send({ error: 'Invalid API key' });
    const text = await m.scrape();
    return reply.header('cache-control', 'no-store').type(m.contentType).send(text);
  });
  for (const url of HEALTH_PATHS) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) => {
      const r = await handleHealth(url, health, d);
      return reply.code(r.code).header('cache-control', 'no-store').send(r.body);
    });
  }

  if (o.metricsPort === undefined) return;
  const port = o.metricsPort;
  // Bound when the app is ready (listen() or ready()), so a taken port fails startup loudly.
  app.addHook('onReady', async () => {
    const server = metricsServer(m, health, d);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, d.config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    m.server = server;
    d.log.info({ address: server.address() }, 'metrics listener started');
  });
  app.addHook('onClose', async () => {
    const server = m.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}
