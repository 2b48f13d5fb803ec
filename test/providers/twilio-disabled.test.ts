// A gateway for a team that left Twilio (seed 001): TWILIO_ENABLED=false needs no Twilio
// setting, serves no Twilio route, and still takes Vonage and ElevenLabs webhooks and the API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { API_KEY, startGateway } from '../helpers/gateway.js';

test('TWILIO_ENABLED=false: the Twilio routes are gone, the other providers and the API stay', async (t) => {
  const gw = await startGateway({ TWILIO_ENABLED: 'false', TWILIO_AUTH_TOKEN: '', TWILIO_ACCOUNT_SID: '', VONAGE_SIGNATURE_SECRET: 'vonage-signature-secret-0123456789' });
  t.after(() => gw.app.close());
  for (const url of ['/twilio/voice', '/twilio/recording-status']) {
    assert.equal((await gw.app.inject({ method: 'POST', url, payload: 'CallSid=x' })).statusCode, 404, url);
  }
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/twilio/media-stream`);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => undefined);
  });
  assert.equal(refused, 404);
  // Vonage webhooks are there, and still demand a signature.
  const vonage = await gw.app.inject({ method: 'POST', url: '/vonage/recording', payload: { recording_uuid: 'x' } });
  assert.equal(vonage.statusCode, 401);
  const calls = await gw.app.inject({ url: '/api/calls', headers: { 'x-api-key': API_KEY } });
  assert.equal(calls.statusCode, 200);
  assert.equal((await gw.app.inject({ url: '/healthz/ready' })).statusCode, 200);
});
