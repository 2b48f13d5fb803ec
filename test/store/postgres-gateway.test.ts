// The real gateway with DATABASE_URL: two instances started at once on one new Postgres
// database (they migrate it once between them), a call answered by one and streamed to the
// other, and the API of the first showing what the second recorded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CallDetailT, CallSummaryT } from '../../src/api/call-schemas.js';
import { migrations } from '../../src/store/migrations.js';
import { ACCOUNT_SID, API_KEY, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createDatabase, type TestDatabase } from '../helpers/postgres.js';
import { connectStream, streamClosed } from '../helpers/stream-client.js';
import { randomSid, signedForm } from '../helpers/twilio-sign.js';

let db: TestDatabase;
let a: TestGateway;
let b: TestGateway;

before(async () => {
  db = await createDatabase();
  const env = (instance: string) => ({ DATABASE_URL: db.url, INSTANCE_ID: instance, CLOUD_RECORDING: 'false', LIVE_TRANSCRIPTION: 'false' });
  [a, b] = await Promise.all([startGateway(env('gw-a')), startGateway(env('gw-b'))]);
});
after(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await db?.drop();
});

const api = (gw: TestGateway, url: string) => gw.app.inject({ method: 'GET', url, headers: { 'x-api-key': API_KEY } });

test('both gateways run on Postgres, migrated once between them', async () => {
  for (const gw of [a, b]) {
    assert.equal(gw.config.databaseUrl, db.url);
    assert.equal(gw.app.gateway.store.engine, 'postgres');
    assert.equal((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  }
  const rows = (await a.app.gateway.store.knex('knex_migrations').select('name')) as { name: string }[];
  assert.deepEqual(rows.map((r) => r.name), migrations.map((m) => m.name));
});

test('a call answered by one gateway streams to the other; the first one\'s API shows it', async () => {
  const callSid = randomSid('CA');
  // The voice webhook reaches gw-a ...
  const voice = await a.app.inject(signedForm('/twilio/voice', {
    CallSid: callSid, AccountSid: ACCOUNT_SID, From: 'client:agent', To: '+15551234567', CallStatus: 'ringing',
  }));
  assert.equal(voice.statusCode, 200);
  const tokenFromA = /<Parameter name="token" value="([^"]+)"/.exec(voice.body)?.[1];
  assert.ok(tokenFromA);
  // ... and Twilio's WebSocket reaches gw-b, with the token gw-a issued: the stream token secret
  // is kept in the shared store, so any gateway accepts any gateway's token.
  const c = await connectStream(b, { callSid });
  assert.equal(c.token, tokenFromA, 'both gateways derive the same per-call token');
  c.start(tokenFromA);
  for (let i = 0; i < 10; i++) for (const t of ['inbound', 'outbound'] as const) c.media(t, i * 20, new Uint8Array(160).fill(i + 1));
  c.stop();
  assert.equal((await streamClosed(b, c.streamSid)).state, 'closed');

  const list = (await api(a, '/api/calls?limit=10')).json<{ calls: CallSummaryT[]; total: number }>();
  assert.equal(list.total, 1);
  assert.equal(list.calls[0]?.call_sid, callSid);
  const detail = await api(a, `/api/calls/${callSid}`);
  assert.equal(detail.statusCode, 200, detail.body);
  const call = detail.json<CallDetailT>();
  assert.deepEqual(call.streams.map((s) => [s.stream_sid, s.instance_id, s.state]), [[c.streamSid, 'gw-b', 'closed']]);
  const tracks = call.streams[0]!.captures.filter((x) => x.kind === 'track' && x.sample_rate === 8000);
  assert.deepEqual(tracks.map((x) => [x.track, x.state, x.samples]), [['inbound', 'complete', 1600], ['outbound', 'complete', 1600]]);
});
