// Vonage's signed webhooks against the real gateway: only a JWT signed with the signature secret,
// for this account, fresh, and whose payload_hash matches the exact body, gets in; everything else
// is 401 with nothing stored. Call status events move a placed call forward and end it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { vonageCallIdOf, vonageRecordingIdOf } from '../../src/ids.js';
import { startGateway } from '../helpers/gateway.js';
import { startVonageRig, VONAGE_API_KEY, VONAGE_SECRET, type VonageRig } from '../fakes/vonage-rig.js';
import { postWebhook } from '../fakes/vonage-webhook.js';

let rig: VonageRig;
before(async () => {
  rig = await startVonageRig();
});
after(() => rig.close());

const store = () => rig.gw.app.gateway.store;

/** A recording event whose file the fake does not hold (these tests do not download). */
function recordingEvent() {
  const conv = `CON-${randomUUID()}`;
  const body = {
    start_time: '2025-11-04T03:20:00Z', end_time: '2025-11-04T03:20:05Z', recording_url: `${rig.fake.url}/v1/files/${randomUUID()}`,
    size: 320_044, recording_uuid: randomUUID(), conversation_uuid: conv, timestamp: '2025-11-04T03:20:05Z',
  };
  return { body, callSid: vonageCallIdOf(conv)!, recordingSid: vonageRecordingIdOf(body.recording_uuid)! };
}

async function nothingStored(e: ReturnType<typeof recordingEvent>) {
  assert.equal(await store().providerEvents.get('vonage', `recording:${e.body.recording_uuid}`), undefined, 'no event stored');
  assert.equal(await store().recordings.get(e.recordingSid), undefined, 'no recording stored');
  assert.equal(await store().calls.get(e.callSid), undefined, 'no call stored');
}

test('a signed recording event is stored and its call created, with the duration end - start', async () => {
  const e = recordingEvent();
  const res = await rig.post('/vonage/recording', e.body);
  assert.equal(res.statusCode, 204, res.body);
  const event = await store().providerEvents.get('vonage', `recording:${e.body.recording_uuid}`);
  assert.deepEqual(event?.payload, e.body);
  const call = await store().calls.get(e.callSid);
  assert.equal(call?.provider, 'vonage');
  assert.equal(call?.providerCallId, e.body.conversation_uuid);
  const rec = await store().recordings.get(e.recordingSid);
  assert.equal(rec?.provider, 'vonage');
  assert.equal(rec?.callSid, e.callSid);
  assert.equal(rec?.durationS, 5);
  assert.equal(rec?.mediaPath, e.body.recording_url);
  assert.ok(await store().jobs.getByKey(`vonage-download:${e.recordingSid}`), 'download queued');
});

const refusals: Array<[string, (rig: VonageRig, body: Record<string, unknown>) => ReturnType<VonageRig['post']>]> = [
  ['unsigned', (r, b) => r.post('/vonage/recording', b, null)],
  ['signed with another secret', (r, b) => r.post('/vonage/recording', b, { secret: 'not-the-secret' })],
  ['signed for another api_key', (r, b) => r.post('/vonage/recording', b, { apiKey: 'other999' })],
  ['tampered body (payload_hash of another body)', (r, b) => r.post('/vonage/recording', b, { hashOf: JSON.stringify({ ...b, size: 1 }) })],
  ['replayed: issued 10 minutes ago', (r, b) => r.post('/vonage/recording', b, { iat: Math.floor(Date.now() / 1000) - 600 })],
  ['issued in the future', (r, b) => r.post('/vonage/recording', b, { iat: Math.floor(Date.now() / 1000) + 600 })],
  ['alg none', (r, b) => r.post('/vonage/recording', b, { alg: 'none' })],
  ['no payload_hash', (r, b) => r.post('/vonage/recording', b, { extraClaims: { payload_hash: undefined } })],
  ['expired (exp in the past)', (r, b) => r.post('/vonage/recording', b, { extraClaims: { exp: Math.floor(Date.now() / 1000) - 5 } })],
];

for (const [name, send] of refusals) {
  test(`refused with 401, nothing stored: ${name}`, async () => {
    const e = recordingEvent();
    const res = await send(rig, e.body);
    assert.equal(res.statusCode, 401, res.body);
    assert.match(res.json<{ error: string }>().error, /invalid Vonage webhook signature/);
    await nothingStored(e);
  });
}

test('a body changed after signing (one space) fails the payload_hash', async () => {
  const e = recordingEvent();
  const raw = JSON.stringify(e.body);
  const res = await postWebhook(rig.gw.app, '/vonage/recording', `${raw} `, { ...rig.sign, hashOf: raw });
  assert.equal(res.statusCode, 401);
  assert.match(res.body, /payload_hash/);
  await nothingStored(e);
});

test('malformed JSON with a valid signature is 400; a wrong shape is 400; nothing stored', async () => {
  const bad = await rig.post('/vonage/recording', '{"recording_uuid": ');
  assert.equal(bad.statusCode, 400);
  const e = recordingEvent();
  for (const body of [{ ...e.body, recording_uuid: 'nope' }, { ...e.body, size: -1 }, { ...e.body, end_time: 'yesterday' }, { ...e.body, recording_url: 5 }]) {
    const res = await rig.post('/vonage/recording', body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
  }
  assert.equal((await rig.post('/vonage/recording', [e.body])).statusCode, 400, 'an array is not an event');
  await nothingStored(e);
});

test('a body over 64 KB is refused with 413 before anything is read', async () => {
  const e = recordingEvent();
  const res = await rig.post('/vonage/recording', { ...e.body, padding: 'x'.repeat(70 * 1024) });
  assert.equal(res.statusCode, 413);
  await nothingStored(e);
});

test('a duplicate recording event changes nothing and queues nothing twice', async () => {
  const e = recordingEvent();
  assert.equal((await rig.post('/vonage/recording', e.body)).statusCode, 204);
  // (The download job runs meanwhile and moves `state`: the fake holds no such file.)
  const facts = (r: Awaited<ReturnType<ReturnType<typeof store>['recordings']['get']>>) =>
    r && { callSid: r.callSid, mediaPath: r.mediaPath, durationS: r.durationS, startTime: r.startTime, createdAt: r.createdAt };
  const first = facts(await store().recordings.get(e.recordingSid));
  assert.equal((await rig.post('/vonage/recording', { ...e.body, end_time: '2025-11-04T03:21:00Z' })).statusCode, 204);
  assert.equal((await rig.post('/vonage/recording', e.body)).statusCode, 204);
  assert.deepEqual(facts(await store().recordings.get(e.recordingSid)), first);
  assert.equal((await store().jobs.listByKeyPrefix(`vonage-download:${e.recordingSid}`)).length, 1);
  assert.equal((await store().providerEvents.listByCall(e.callSid)).length, 1);
});

test('call status events move the call forward only, and the first final status ends it', async () => {
  const callSid = 'VN' + 'c'.repeat(32);
  const conv = `CON-${randomUUID()}`;
  const leg = randomUUID();
  await store().calls.upsert({ callSid, provider: 'vonage', providerCallId: conv, direction: 'outbound', agentTrack: 'outbound', customerTrack: 'inbound', status: 'initiated' });
  const event = (status: string, extra: Record<string, unknown> = {}) =>
    rig.post('/vonage/event', { from: '447700900000', to: '447700900001', uuid: leg, conversation_uuid: conv, status, direction: 'outbound', timestamp: '2025-11-04T03:22:00.000Z', ...extra });
  assert.equal((await event('ringing')).statusCode, 204);
  assert.equal((await store().calls.get(callSid))?.status, 'ringing');
  assert.equal((await event('answered')).statusCode, 204);
  assert.equal((await event('started')).statusCode, 204, 'a late started');
  assert.equal((await store().calls.get(callSid))?.status, 'answered');
  assert.equal((await event('completed', { duration: '42', timestamp: '2025-11-04T03:22:42.000Z' })).statusCode, 204);
  const ended = await store().calls.get(callSid);
  assert.equal(ended?.status, 'completed');
  assert.equal(ended?.endedAt, '2025-11-04T03:22:42.000Z');
  assert.equal((await event('failed')).statusCode, 204);
  assert.equal((await store().calls.get(callSid))?.status, 'completed', 'a later final status does not overwrite');
  const stored = await store().providerEvents.get('vonage', `event:${leg}:completed`);
  assert.equal((stored?.payload as { from?: string }).from, undefined, 'phone numbers are not kept with events');
  // The post-call hook ran for a Vonage call without scheduling Twilio's sweep.
  assert.deepEqual(await store().jobs.listByKeyPrefix(`sweep:${callSid}`), []);
});

test('call events: unsigned 401; not a status event 204 and ignored; bad conversation_uuid 400', async () => {
  const conv = `CON-${randomUUID()}`;
  assert.equal((await rig.post('/vonage/event', { status: 'answered', conversation_uuid: conv }, null)).statusCode, 401);
  assert.equal((await rig.post('/vonage/event', { type: 'transfer', conversation_uuid_from: conv })).statusCode, 204);
  assert.equal((await rig.post('/vonage/event', { status: 'answered', conversation_uuid: 'x' })).statusCode, 400);
  assert.equal((await rig.post('/vonage/event', '{oops')).statusCode, 400);
});

test('without VONAGE_SIGNATURE_SECRET every webhook is 401 naming the variable, logged as an error', async () => {
  const gw = await startGateway({ CLOUD_RECORDING: 'false' });
  try {
    const res = await postWebhook(gw.app, '/vonage/recording', { recording_uuid: randomUUID() }, { secret: VONAGE_SECRET, apiKey: VONAGE_API_KEY });
    assert.equal(res.statusCode, 401);
    assert.match(res.json<{ error: string }>().error, /VONAGE_SIGNATURE_SECRET/);
    assert.ok(gw.logs.some((l) => l.level === 50 && String(l.msg).includes('VONAGE_SIGNATURE_SECRET')), 'logged at error level');
  } finally {
    await gw.close();
  }
});

test("with Twilio's cloud recording on, a Vonage call's end schedules no Twilio sweep", async () => {
  const both = await startVonageRig({ CLOUD_RECORDING: 'true' });
  try {
    const callSid = 'VN' + 'd'.repeat(32);
    const conv = `CON-${randomUUID()}`;
    const { store: s } = both.gw.app.gateway;
    await s.calls.upsert({ callSid, provider: 'vonage', providerCallId: conv, direction: 'outbound', agentTrack: 'outbound', customerTrack: 'inbound', status: 'answered' });
    assert.equal((await both.post('/vonage/event', { uuid: randomUUID(), conversation_uuid: conv, status: 'completed' })).statusCode, 204);
    assert.equal((await s.calls.get(callSid))?.status, 'completed');
    assert.deepEqual(await s.jobs.listByKeyPrefix(`sweep:${callSid}`), []);
  } finally {
    await both.close();
  }
});
