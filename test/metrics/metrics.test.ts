// GET /metrics through the real app: a simulated Twilio call moves the capture counters by exactly
// what was sent, withheld and sent late; jobs run through the real queue; HTTP timing is by route
// pattern. The main port needs an API key; the METRICS_PORT listener does not.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { WAV_HEADER_BYTES } from '../../src/audio/wav.js';
import { permanent } from '../../src/jobs/errors.js';
import { SWEEP_JOB } from '../../src/jobs/sweep.js';
import { API_KEY, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connectStream, streamClosed } from '../helpers/stream-client.js';
import { parsePrometheus, value, valueOr0, type Sample } from './prom-text.js';

let gw: TestGateway;
before(async () => {
  // A rate limit of 3 a minute: scrapes must not be subject to it.
  gw = await startGateway({ METRICS_PORT: '0', API_RATE_LIMIT_PER_MIN: '3' });
});
after(() => gw.close());

async function scrape(headers: Record<string, string> = { 'x-api-key': API_KEY }): Promise<Sample[]> {
  const res = await fetch(`${gw.url}/metrics`, { headers });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), Registry.PROMETHEUS_CONTENT_TYPE);
  return parsePrometheus(await res.text());
}

const frame = (v: number) => new Uint8Array(160).fill(v);
const capture = (s: Sample[], what: string, track: string) => valueOr0(s, `callvault_capture_frames_${what}_total`, { track });

async function until(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('without an API key /metrics on the main port is 401 JSON; a bearer token works too', async () => {
  const none = await gw.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(none.statusCode, 401);
  assert.match(none.json<{ error: string }>().error, /API key required/);
  const wrong = await gw.app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': 'not-the-key-0123456789' } });
  assert.equal(wrong.statusCode, 401);
  assert.deepEqual(wrong.json(), { error: 'Invalid API key' });
  const bearerWrong = await gw.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope-nope-nope-nope' } });
  assert.equal(bearerWrong.statusCode, 401);
  await scrape({ authorization: `Bearer ${API_KEY}` });
});

test('a call moves the capture counters by what was sent, withheld and sent late; gauges go up and down', async () => {
  const before = await scrape();
  const c = await connectStream(gw);
  c.start();
  // 50 frames (1 s) per track; inbound withholds 10..14 for good and sends 20 only at the end,
  // after its place was committed (jitter window 200 ms), so it is late.
  for (let i = 0; i < 50; i++) {
    c.media('outbound', i * 20, frame(100 + i));
    if ((i < 10 || i > 14) && i !== 20) c.media('inbound', i * 20, frame(i));
  }
  c.media('inbound', 20 * 20, frame(20));
  const delta = (s: Sample[], what: string, track: string) => capture(s, what, track) - capture(before, what, track);

  let live: Sample[] = [];
  await until(async () => {
    live = await scrape();
    return delta(live, 'received', 'inbound') === 45 && delta(live, 'received', 'outbound') === 50;
  }, 'the live frame counts');
  assert.equal(value(live, 'callvault_active_calls'), 1);
  assert.equal(value(live, 'callvault_active_streams'), 1);
  assert.equal(value(live, 'callvault_active_tracks'), 2);

  c.stop();
  await streamClosed(gw, c.streamSid);
  const done = await scrape();
  assert.equal(value(done, 'callvault_active_calls'), 0);
  assert.equal(value(done, 'callvault_active_streams'), 0);
  assert.equal(value(done, 'callvault_active_tracks'), 0);
  assert.equal(delta(done, 'received', 'inbound'), 45, 'every inbound frame sent, the late one included');
  assert.equal(delta(done, 'received', 'outbound'), 50);
  assert.equal(delta(done, 'late', 'inbound'), 1);
  assert.equal(delta(done, 'late', 'outbound'), 0);
  assert.equal(delta(done, 'lost', 'inbound'), 5, 'the five withheld frames');
  assert.equal(delta(done, 'lost', 'outbound'), 0);
  assert.equal(delta(done, 'written', 'inbound'), 44);
  assert.equal(delta(done, 'written', 'outbound'), 50);

  const dir = path.join(gw.dir, c.callSid);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(c.streamSid) && f.endsWith('.wav'));
  assert.equal(files.length, 5);
  const audioBytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size - WAV_HEADER_BYTES, 0);
  const bytes = (s: Sample[]) => valueOr0(s, 'callvault_capture_bytes_written_total');
  assert.equal(bytes(done) - bytes(before), audioBytes, 'bytes written = the capture files\' audio bytes');
  // Monotonic across the close: nothing reported live was more than the final totals.
  for (const what of ['received', 'written', 'late', 'lost']) {
    for (const t of ['inbound', 'outbound']) assert.ok(capture(live, what, t) <= capture(done, what, t), `${what} ${t}`);
  }
  assert.ok(bytes(live) <= bytes(done));

  // The call's sweep (cloud recording on) waits in the queue: depth comes from the store.
  const depth = value(done, 'callvault_job_queue_depth', { kind: SWEEP_JOB, state: 'queued' });
  const rows = await gw.app.gateway.store.jobs.countActiveByKind();
  assert.equal(depth, rows.find((r) => r.kind === SWEEP_JOB && r.state === 'queued')?.count);
  assert.ok(depth >= 1);
});

test('job outcomes and durations by kind, from the real queue', async () => {
  const { queue } = gw.app.gateway;
  queue.register('metrics-ok', async () => {
    await new Promise((r) => setTimeout(r, 30));
    return { fine: true };
  });
  queue.register('metrics-bad', async () => {
    throw permanent('broken', 'this job cannot work');
  });
  await queue.enqueue('metrics-ok', 'metrics-ok:1', {});
  await queue.enqueue('metrics-ok', 'metrics-ok:2', {});
  await queue.enqueue('metrics-bad', 'metrics-bad:1', {});
  await queue.drain();
  const s = await scrape();
  assert.equal(value(s, 'callvault_job_outcomes_total', { kind: 'metrics-ok', outcome: 'succeeded' }), 2);
  assert.equal(value(s, 'callvault_job_outcomes_total', { kind: 'metrics-bad', outcome: 'failed' }), 1);
  assert.equal(valueOr0(s, 'callvault_job_outcomes_total', { kind: 'metrics-bad', outcome: 'succeeded' }), 0);
  assert.equal(value(s, 'callvault_job_duration_seconds_count', { kind: 'metrics-ok' }), 2);
  assert.ok(value(s, 'callvault_job_duration_seconds_sum', { kind: 'metrics-ok' }) >= 0.06);
  assert.equal(value(s, 'callvault_job_duration_seconds_bucket', { kind: 'metrics-ok', le: '+Inf' }), 2);
  assert.equal(valueOr0(s, 'callvault_job_queue_depth', { kind: 'metrics-ok', state: 'queued' }), 0);
});

test('HTTP latency is labelled by route pattern, never by the raw URL', async () => {
  const c = await connectStream(gw);
  c.start();
  c.media('inbound', 0, frame(1));
  c.stop();
  await streamClosed(gw, c.streamSid);
  const res = await fetch(`${gw.url}/api/calls/${c.callSid}`, { headers: { 'x-api-key': API_KEY } });
  assert.equal(res.status, 200);
  assert.equal((await fetch(`${gw.url}/no-such-page/${c.callSid}`)).status, 404);
  const text = await (await fetch(`${gw.url}/metrics`, { headers: { 'x-api-key': API_KEY } })).text();
  assert.ok(!text.includes(c.callSid), 'no call id in any label');
  const s = parsePrometheus(text);
  const count = (labels: Record<string, string>) => value(s, 'callvault_http_request_duration_seconds_count', labels);
  assert.equal(count({ method: 'GET', route: '/api/calls/:callSid', status_code: '200' }), 1);
  assert.ok(count({ method: 'POST', route: '/twilio/voice', status_code: '200' }) >= 1);
  assert.ok(count({ method: 'GET', route: 'unmatched', status_code: '404' }) >= 1);
  assert.ok(count({ method: 'GET', route: '/metrics', status_code: '200' }) >= 1);
});

test('scrapes are not rate-limited, and the output is Prometheus text with the instance id on every series', async () => {
  for (let i = 0; i < 6; i++) await scrape();
  const s = await scrape();
  const ours = s.filter((x) => x.name.startsWith('callvault_'));
  assert.ok(ours.length > 20);
  assert.ok(s.every((x) => x.name.startsWith('callvault_')), 'every series carries the prefix, process metrics too');
  assert.ok(ours.every((x) => x.labels.instance_id === 'test-instance'));
  assert.ok(s.some((x) => x.name === 'callvault_process_cpu_user_seconds_total'));
  assert.ok(s.some((x) => x.name === 'callvault_nodejs_eventloop_lag_seconds'));
});

test('METRICS_PORT serves /metrics and /healthz/* without a key, and nothing else', async () => {
  const addr = gw.app.metrics.address();
  assert.ok(addr && addr.port > 0, 'the listener is bound');
  const base = `http://127.0.0.1:${addr.port}`;
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), Registry.PROMETHEUS_CONTENT_TYPE);
  const s = parsePrometheus(await res.text());
  assert.equal(value(s, 'callvault_active_streams'), 0);
  const live = await fetch(`${base}/healthz/live`);
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: 'ok', instance_id: 'test-instance' });
  const ready = await fetch(`${base}/healthz/ready`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { status: string }).status, 'ok');
  assert.equal((await fetch(`${base}/api/calls`)).status, 404, 'the API is not served here');
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
});

test('without METRICS_PORT there is no second listener', async () => {
  const other = await startGateway({ INSTANCE_ID: 'solo' });
  try {
    assert.equal(other.app.metrics.address(), null);
    const s = parsePrometheus((await other.app.inject({ method: 'GET', url: '/metrics', query: { api_key: API_KEY } })).body);
    // Its own registry: the other app's calls are not here.
    assert.equal(valueOr0(s, 'callvault_capture_frames_received_total', { track: 'inbound' }), 0);
    assert.ok(s.filter((x) => x.name.startsWith('callvault_active')).every((x) => x.labels.instance_id === 'solo'));
  } finally {
    await other.close();
  }
});
