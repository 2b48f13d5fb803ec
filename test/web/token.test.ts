// GET /token: behind the API key, 503 naming what is missing, and a Voice grant for the TwiML
// app, signed with the API key secret.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ACCOUNT_SID, API_KEY, startGateway, type TestGateway } from '../helpers/gateway.js';
import { APP_SID, KEY_SECRET, KEY_SID, verifyJwt } from './jwt.js';

let configured: TestGateway;
let bare: TestGateway;

before(async () => {
  configured = await startGateway({
    TWILIO_API_KEY_SID: KEY_SID, TWILIO_API_KEY_SECRET: KEY_SECRET, TWILIO_TWIML_APP_SID: APP_SID, AGENT_IDENTITY: 'desk-7',
  });
  bare = await startGateway();
});
after(async () => {
  await configured.close();
  await bare.close();
});

test('/token needs the API key', async () => {
  const none = await configured.app.inject({ url: '/token' });
  assert.equal(none.statusCode, 401);
  assert.match((none.json() as { error: string }).error, /API key required/);
  const wrong = await configured.app.inject({ url: '/token', headers: { 'x-api-key': 'not-the-key-0123456789' } });
  assert.equal(wrong.statusCode, 401);
});

test('/token without Twilio credentials: 503 naming the missing variables', async () => {
  const res = await bare.app.inject({ url: '/token', headers: { 'x-api-key': API_KEY } });
  assert.equal(res.statusCode, 503);
  const body = res.json() as { error: string; missing: string[] };
  assert.deepEqual(body.missing, ['TWILIO_API_KEY_SID', 'TWILIO_API_KEY_SECRET', 'TWILIO_TWIML_APP_SID']);
  assert.match(body.error, /not configured: set TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET, TWILIO_TWIML_APP_SID/);
});

test('/token: a Voice grant for the TwiML app and the agent identity, short-lived', async () => {
  const res = await configured.app.inject({ url: '/token', headers: { 'x-api-key': API_KEY } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['cache-control'], 'no-store');
  const body = res.json() as { token: string; identity: string; ttl_s: number };
  assert.equal(body.identity, 'desk-7');
  const { header, claims } = verifyJwt(body.token, KEY_SECRET);
  assert.equal(header.alg, 'HS256');
  assert.equal(header.cty, 'twilio-fpa;v=1');
  assert.equal(claims.iss, KEY_SID);
  assert.equal(claims.sub, ACCOUNT_SID);
  const ttl = (claims.exp as number) - Math.floor(Date.now() / 1000);
  assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
  const grants = claims.grants as { identity: string; voice: { outgoing: { application_sid: string } } };
  assert.equal(grants.identity, 'desk-7');
  assert.equal(grants.voice.outgoing.application_sid, APP_SID);
});
