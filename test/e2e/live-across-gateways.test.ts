// Issue 10: a viewer gets a call's live transcript whichever gateway holds the call. Gateway A
// captures and transcribes a real-time call; a browser subscribed on gateway B (same Postgres)
// receives the lines through LISTEN/NOTIFY, not from the store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { simulateCall } from '../../src/cli/simulator/call.js';
import { startFakeOpenAI } from '../fakes/openai.js';
import { API_KEY, AUTH_TOKEN, startGateway } from '../helpers/gateway.js';
import { createDatabase } from '../helpers/postgres.js';
import { PUBLIC } from '../helpers/twilio-sign.js';

const OPENAI_KEY = 'sk-test-0123456789';

test('live transcript lines reach a viewer on the other gateway', { timeout: 60_000 }, async (t) => {
  const db = await createDatabase();
  const ai = await startFakeOpenAI({ apiKey: OPENAI_KEY });
  const shared = { DATABASE_URL: db.url, STREAM_TOKEN_SECRET: 'shared-stream-token-secret-0123456789', CLOUD_RECORDING: 'false' };
  const a = await startGateway({ ...shared, INSTANCE_ID: 'gw-a', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${ai.url}/v1`, LIVE_TRANSCRIPTION: 'true' });
  const b = await startGateway({ ...shared, INSTANCE_ID: 'gw-b' });
  const controller = new AbortController();
  t.after(async () => {
    controller.abort();
    await a.close();
    await b.close();
    await ai.close();
    await db.drop();
  });
  const agent = await speak('Good morning, this is the help desk, how can I help you today?');
  const customer = await speak('Hello, my order never arrived.', { voice: 'en-us' });
  // The customer's turn gives the agent's utterance the pause that ends it.
  const call = conversation([{ track: 'inbound', audio: agent, gapMs: 300 }, { track: 'outbound', audio: customer, gapMs: 800 }]);
  const callSid = `CA${'7'.repeat(32)}`;
  const sim = simulateCall({ gatewayUrl: a.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, direction: 'outbound', to: '+15551234567', callSid, ...call, realtime: true, end: 'none' });
  t.after(async () => (await sim.catch(() => null))?.socket?.close());

  // Subscribed on B as soon as A has the call, before any utterance has ended: nothing is stored
  // yet, so whatever arrives came over the channel.
  let before;
  for (let i = 0; i < 100; i++) {
    before = await b.app.inject({ url: `/api/calls/${callSid}/transcript`, headers: { 'x-api-key': API_KEY } });
    if (before.statusCode === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(before?.statusCode, 200);
  assert.deepEqual(before.json<{ lines: unknown[] }>().lines, []);
  const res = await fetch(`${b.url}/api/calls/${callSid}/transcript/live`, { headers: { 'x-api-key': API_KEY }, signal: controller.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  let text = '';
  const until = Date.now() + 20_000;
  while (!text.includes('event: line') && Date.now() < until) text += new TextDecoder().decode((await reader.read()).value);
  assert.match(text, /event: line\ndata: \{"speaker":"agent"/);
  const started = await sim;
  assert.equal((await a.app.gateway.store.streams.get(started.streamSid))?.instanceId, 'gw-a', 'gateway A holds the call');
  assert.equal(b.app.gateway.registry.get(started.streamSid), undefined, 'gateway B does not');
});
