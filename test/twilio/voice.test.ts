import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ACCOUNT_SID, startGateway, type TestGateway } from '../helpers/gateway.js';
import { randomSid, signedForm } from '../helpers/twilio-sign.js';

let gw: TestGateway;
before(async () => {
  gw = await startGateway();
});
after(() => gw.close());

const browserCall = (to: string, callSid = randomSid('CA')) => ({
  CallSid: callSid, AccountSid: ACCOUNT_SID, From: 'client:agent', To: to, CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01',
});

test('a browser-placed call gets stream, dual recording and a dial to its number', async () => {
  const params = browserCall('+1 (555) 123-4567');
  const res = await gw.app.inject(signedForm('/twilio/voice', params));
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /xml/);
  const xml = res.body;
  assert.match(xml, /<Start><Stream url="wss:\/\/gateway\.example\.com\/twilio\/media-stream" track="both_tracks" statusCallback="https:\/\/gateway\.example\.com\/twilio\/stream-status"/);
  assert.match(xml, /<Parameter name="token" value="[A-Za-z0-9_-]{43}"\/>/);
  assert.match(xml, /<Start><Recording channels="dual" track="both" trim="do-not-trim" recordingStatusCallback="https:\/\/gateway\.example\.com\/twilio\/recording-status" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="in-progress completed absent"\/><\/Start>/);
  assert.match(xml, /<Dial callerId="\+15550001111" action="https:\/\/gateway\.example\.com\/twilio\/call-status" method="POST"><Number>\+15551234567<\/Number><\/Dial>/);
  assert.ok(xml.indexOf('<Stream') < xml.indexOf('<Recording') && xml.indexOf('<Recording') < xml.indexOf('<Dial'));
  const row = await gw.app.gateway.store.calls.get(params.CallSid);
  assert.equal(row?.direction, 'outbound');
  assert.equal(row?.toNumber, '+15551234567');
  assert.equal(row?.agentTrack, 'inbound', 'the browser is the parent leg');
  assert.equal(row?.customerTrack, 'outbound');
});

test('a call from the phone network rings the agent client; outbound is the agent', async () => {
  const params = { CallSid: randomSid('CA'), AccountSid: ACCOUNT_SID, From: '+447700900123', To: '+15550001111', CallStatus: 'ringing', Direction: 'inbound' };
  const res = await gw.app.inject(signedForm('/twilio/voice', params));
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /<Dial action="[^"]+" method="POST"><Client>agent<\/Client><\/Dial>/);
  const row = await gw.app.gateway.store.calls.get(params.CallSid);
  assert.equal(row?.direction, 'inbound');
  assert.equal(row?.agentTrack, 'outbound');
  assert.equal(row?.customerTrack, 'inbound');
});

test('unsigned, mis-signed and wrongly-keyed webhooks get 403 and no TwiML', async () => {
  const params = browserCall('+15551234567');
  const unsigned = signedForm('/twilio/voice', params);
  delete (unsigned.headers as Record<string, string>)['x-twilio-signature'];
  const tampered = signedForm('/twilio/voice', params);
  tampered.payload = new URLSearchParams({ ...params, To: '+19005550000' }).toString();
  const wrongKey = signedForm('/twilio/voice', params, 'another-token');
  for (const req of [unsigned, tampered, wrongKey]) {
    const res = await gw.app.inject(req);
    assert.equal(res.statusCode, 403);
    assert.doesNotMatch(res.body, /<Response|<Dial/);
  }
  assert.equal(await gw.app.gateway.store.calls.get(params.CallSid), undefined, 'no call row was created');
});

test('a missing, malformed or disallowed To gets a spoken error, not a 500', async () => {
  for (const [to, words] of [['', /No number/], ['call mom', /not valid/], ['+33123456789', /not allowed/]] as const) {
    const params = browserCall(to);
    const res = await gw.app.inject(signedForm('/twilio/voice', params));
    assert.equal(res.statusCode, 200, `To=${to}`);
    assert.match(res.body, /<Say>/);
    assert.match(res.body, words);
    assert.match(res.body, /<Hangup\/>/);
    assert.doesNotMatch(res.body, /<Dial|<Stream/);
  }
});

test('a retried webhook keeps the call as first recorded', async () => {
  const params = browserCall('+15551234567');
  await gw.app.inject(signedForm('/twilio/voice', params));
  const again = await gw.app.inject(signedForm('/twilio/voice', { ...params, CallStatus: 'in-progress' }));
  assert.equal(again.statusCode, 200);
  const row = await gw.app.gateway.store.calls.get(params.CallSid);
  assert.equal(row?.direction, 'outbound');
  assert.equal(row?.status, 'in-progress');
});

test('call-status records the end of the call and answers TwiML', async () => {
  const params = browserCall('+15551234567');
  await gw.app.inject(signedForm('/twilio/voice', params));
  const res = await gw.app.inject(signedForm('/twilio/call-status', { CallSid: params.CallSid, DialCallStatus: 'no-answer', AccountSid: ACCOUNT_SID }));
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /<Hangup\/>/);
  const row = await gw.app.gateway.store.calls.get(params.CallSid);
  assert.equal(row?.status, 'no-answer');
  assert.ok(row?.endedAt);
  const unsigned = await gw.app.inject({ method: 'POST', url: '/twilio/stream-status', payload: 'CallSid=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(unsigned.statusCode, 403);
});

test('healthz reports the store and open streams', async () => {
  const res = await gw.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok', instance_id: 'test-instance', active_streams: 0 });
});

test('no phone number or secret reaches a log line', () => {
  const text = JSON.stringify(gw.logs);
  for (const secret of ['+15551234567', '+447700900123', '555) 123', 'test-auth-token']) {
    assert.ok(!text.includes(secret), `log lines must not contain ${secret}`);
  }
  assert.ok(gw.logs.some((l) => l.callSid), 'call logs carry the callSid');
});

test('with TWILIO_VALIDATE_SIGNATURES=false unsigned webhooks pass and the startup log says so', async () => {
  const local = await startGateway({ TWILIO_VALIDATE_SIGNATURES: 'false', TWILIO_AUTH_TOKEN: '', CLOUD_RECORDING: 'false' });
  try {
    const warning = local.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('NOT checked'));
    assert.ok(warning, 'a plain warning at startup');
    assert.equal(warning.level, 40);
    const res = await local.app.inject({
      method: 'POST', url: '/twilio/voice', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(browserCall('+15551234567')).toString(),
    });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<Stream/);
  } finally {
    await local.close();
  }
});
