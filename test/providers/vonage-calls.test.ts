// POST /api/vonage/calls against the fake Vonage: the exact create-call body and NCCO, the
// WebSocket token only where Vonage needs it, dial prefixes, Vonage's refusals, and each missing
// variable named.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { vonageRecordingIdOf } from '../../src/ids.js';
import { checkStreamToken } from '../../src/twilio/signature.js';
import { API_KEY, startGateway } from '../helpers/gateway.js';
import { applicationKeys, startVonageRig, vonageSettled, VONAGE_API_KEY, VONAGE_SECRET, type VonageRig } from '../fakes/vonage-rig.js';
import { postWebhook } from '../fakes/vonage-webhook.js';

const TOKEN_SECRET = 'stream-token-secret-for-vonage-tests';
const PUBLIC = 'https://gateway.example.com';

let rig: VonageRig;
before(async () => {
  rig = await startVonageRig({ STREAM_TOKEN_SECRET: TOKEN_SECRET });
});
after(() => rig.close());

const store = () => rig.gw.app.gateway.store;
const place = (payload: unknown, app = rig.gw.app) =>
  app.inject({ method: 'POST', url: '/api/vonage/calls', headers: { 'x-api-key': API_KEY }, payload: payload as Record<string, unknown> });

const RECORD = { action: 'record', split: 'conversation', format: 'wav', eventUrl: [`${PUBLIC}/vonage/recording`], eventMethod: 'POST' };

test('a call to the agent: the exact body Vonage receives, and the call on record', async () => {
  const res = await place({ to: '+15551230001', agent_number: '+447700900123' });
  assert.equal(res.statusCode, 201, res.body);
  const out = res.json<Record<string, unknown>>();
  const sent = rig.fake.calls.at(-1)!;
  const connect = { action: 'connect', from: '447700900000', endpoint: [{ type: 'phone', number: '447700900123' }] };
  assert.deepEqual(sent.body, {
    to: [{ type: 'phone', number: '15551230001' }], from: { type: 'phone', number: '447700900000' },
    ncco: [RECORD, connect], event_url: [`${PUBLIC}/vonage/event`], event_method: 'POST',
  });
  assert.deepEqual(out, {
    call_sid: out.call_sid, provider: 'vonage', conversation_uuid: sent.conversationUuid, vonage_uuid: sent.uuid,
    status: 'started', live_capture: false, ncco: [RECORD, connect],
  });
  assert.match(String(out.call_sid), /^VN[0-9a-f]{32}$/);
  const call = await store().calls.get(String(out.call_sid));
  assert.equal(call?.provider, 'vonage');
  assert.equal(call?.providerCallId, sent.conversationUuid);
  assert.equal(call?.status, 'started');
  assert.deepEqual([call?.direction, call?.agentTrack, call?.customerTrack], ['outbound', 'outbound', 'inbound']);
  assert.deepEqual([call?.fromNumber, call?.toNumber], ['+447700900000', '+15551230001']);

  // Its status events now find it.
  const ev = await rig.post('/vonage/event', { uuid: sent.uuid, conversation_uuid: sent.conversationUuid, status: 'answered', timestamp: new Date().toISOString() });
  assert.equal(ev.statusCode, 204);
  assert.equal((await store().calls.get(String(out.call_sid)))?.status, 'answered');
});

test('live capture: the customer leg goes to the gateway WebSocket, the token only in its headers', async () => {
  const res = await place({ to: '+15551230002', live_capture: true });
  assert.equal(res.statusCode, 201, res.body);
  const out = res.json<{ call_sid: string; ncco: unknown[] }>();
  const sent = rig.fake.calls.at(-1)!;
  const ncco = sent.body.ncco as Array<Record<string, unknown>>;
  assert.deepEqual(ncco[0], RECORD);
  const endpoint = (ncco[1]?.endpoint as Array<Record<string, unknown>>)[0]!;
  const headers = endpoint.headers as Record<string, string>;
  assert.deepEqual({ ...endpoint, headers: { ...headers, callvault_token: 'T' } }, {
    type: 'websocket', uri: 'wss://gateway.example.com/vonage/media-stream', 'content-type': 'audio/l16;rate=16000',
    headers: { callvault_call: out.call_sid, callvault_token: 'T', callvault_track: 'inbound' },
  });
  assert.equal(ncco[1]?.action, 'connect');
  assert.ok(checkStreamToken(TOKEN_SECRET, out.call_sid, headers.callvault_token), 'the token is the per-call stream token');
  const token = headers.callvault_token!;
  assert.equal(JSON.stringify(sent.body).split(token).length, 2, 'the token appears once, in the endpoint headers');
  assert.ok(!res.body.includes(token), 'the API answer does not show the token');
  assert.deepEqual(out.ncco[1], { action: 'connect', endpoint: [{ ...endpoint, headers: { callvault_call: out.call_sid, callvault_track: 'inbound' } }] });
});

test('bad requests: both or neither target 400, a malformed number 400, outside DIAL_ALLOWED_PREFIXES 403; nothing placed', async () => {
  const calls = rig.fake.calls.length;
  const rows = (await store().calls.search({ limit: 100, offset: 0, provider: 'vonage' })).total;
  const cases: Array<[unknown, number]> = [
    [{ to: '+15551230003', agent_number: '+15551230004', live_capture: true }, 400],
    [{ to: '+15551230003' }, 400],
    [{ to: '+15551230003', live_capture: false }, 400],
    [{ to: '5551230003', live_capture: true }, 400],
    [{ to: '+15551230003', agent_number: 'agent', live_capture: false }, 400],
    [{ to: '+33612345678', live_capture: true }, 403],
    [{ to: '+15551230003', agent_number: '+33612345678' }, 403],
  ];
  for (const [payload, status] of cases) {
    const res = await place(payload);
    assert.equal(res.statusCode, status, `${JSON.stringify(payload)}: ${res.body}`);
    assert.ok(res.json<{ error: string }>().error);
  }
  assert.match((await place({ to: '+33612345678', live_capture: true })).body, /DIAL_ALLOWED_PREFIXES/);
  assert.equal(rig.fake.calls.length, calls, 'Vonage was not asked');
  assert.equal((await store().calls.search({ limit: 100, offset: 0, provider: 'vonage' })).total, rows, 'no call row');
  const noKey = await rig.gw.app.inject({ method: 'POST', url: '/api/vonage/calls', payload: { to: '+15551230003', live_capture: true } });
  assert.equal(noKey.statusCode, 401);
});

test("Vonage's refusals are 502 with their detail, and the call is on record as failed", async () => {
  rig.fake.callErrors.push({ status: 400, title: 'Bad Request', detail: 'The destination number is barred' });
  const res = await place({ to: '+15551230005', live_capture: true });
  assert.equal(res.statusCode, 502);
  assert.match(res.json<{ error: string }>().error, /The destination number is barred/);
  rig.fake.callErrors.push({ status: 401, title: 'Unauthorized', detail: 'You did not provide correct credentials.' });
  const auth = await place({ to: '+15551230006', live_capture: true });
  assert.equal(auth.statusCode, 502);
  assert.match(auth.json<{ error: string }>().error, /VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY/);
  const { rows } = await store().calls.search({ limit: 100, offset: 0, provider: 'vonage', status: 'failed' });
  const failed = rows.filter((r) => r.toNumber === '+15551230005' || r.toNumber === '+15551230006');
  assert.equal(failed.length, 2);
  assert.ok(failed.every((r) => r.endedAt !== null && r.providerCallId === null));
});

test('missing configuration: 503 naming each missing variable; downloads fail naming the key variables', async () => {
  const bare = await startGateway({ CLOUD_RECORDING: 'false', VONAGE_SIGNATURE_SECRET: VONAGE_SECRET, VONAGE_API_KEY, JOB_POLL_MS: '20' });
  try {
    const res = await place({ to: '+15551230007', live_capture: true }, bare.app);
    assert.equal(res.statusCode, 503);
    const error = res.json<{ error: string }>().error;
    for (const name of ['VONAGE_APPLICATION_ID', 'VONAGE_PRIVATE_KEY', 'VONAGE_FROM_NUMBER']) assert.match(error, new RegExp(name));

    const recordingUuid = randomUUID();
    const event = {
      start_time: '2025-11-04T03:20:00Z', end_time: '2025-11-04T03:20:02Z', recording_url: 'https://api.nexmo.com/v1/files/aaaaaaaa-0000-0000-0000-000000000000',
      size: 128_044, recording_uuid: recordingUuid, conversation_uuid: `CON-${randomUUID()}`, timestamp: '2025-11-04T03:20:02Z',
    };
    assert.equal((await postWebhook(bare.app, '/vonage/recording', event, { secret: VONAGE_SECRET, apiKey: VONAGE_API_KEY })).statusCode, 204);
    const { row, job } = await vonageSettled({ gw: bare } as VonageRig, vonageRecordingIdOf(recordingUuid)!);
    assert.equal(row.failureCode, 'vonage_credentials');
    assert.match(row.failureReason ?? '', /VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY/);
    assert.equal(job.attempts, 1, 'permanent: not retried');
  } finally {
    await bare.close();
  }
  const noFrom = await startGateway({
    CLOUD_RECORDING: 'false', VONAGE_APPLICATION_ID: randomUUID(), VONAGE_PRIVATE_KEY: applicationKeys().privateKey, VONAGE_API_BASE_URL: rig.fake.url,
  });
  try {
    const res = await place({ to: '+15551230008', live_capture: true }, noFrom.app);
    assert.equal(res.statusCode, 503);
    assert.equal(res.json<{ error: string }>().error, 'Vonage calls are not configured: set VONAGE_FROM_NUMBER');
  } finally {
    await noFrom.close();
  }
});
