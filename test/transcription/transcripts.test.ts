// Transcripts through the real app, the fake Twilio and the fake OpenAI: post-call per speaker on
// the call's timeline, live lines during a real-time call, error paths, and the seed's endpoint.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { simulateCall } from '../../src/cli/simulator/call.js';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { fakeSid } from '../fakes/twilio-api.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { postRecordingStatus, settled, startCloudRig, type CloudRig } from '../helpers/cloud.js';
import { API_KEY, AUTH_TOKEN } from '../helpers/gateway.js';
import { streamClosed } from '../helpers/stream-client.js';
import { PUBLIC } from '../helpers/twilio-sign.js';

const OPENAI_KEY = 'sk-test-0123456789';
let ai: FakeOpenAI;
let rig: CloudRig;
let turns: { agent: [number, number]; customer: [number, number] };
let call: { inbound: Uint8Array; outbound: Uint8Array };

const api = (method: 'GET' | 'POST', url: string, body?: unknown) =>
  rig.gw.app.inject({ method, url, headers: { 'x-api-key': API_KEY }, ...(body ? { payload: body as object } : {}) });

before(async () => {
  ai = await startFakeOpenAI({ apiKey: OPENAI_KEY });
  rig = await startCloudRig({ OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${ai.url}/v1`, LIVE_TRANSCRIPTION: 'true' });
  const agent = await speak('Good morning, this is the help desk.');
  const customer = await speak('Hello, my order never arrived.', { voice: 'en-us' });
  call = conversation([{ track: 'inbound', audio: agent, gapMs: 500 }, { track: 'outbound', audio: customer, gapMs: 800 }]);
  const agentStart = 0.5;
  const customerStart = agentStart + agent.length / 8000 + 0.8;
  turns = { agent: [agentStart, agentStart + agent.length / 8000], customer: [customerStart, customerStart + customer.length / 8000] };
});
after(async () => {
  await rig.close();
  await ai.close();
});

/** A browser call (agent = inbound) through capture, cloud download and reconciliation. */
async function fullCall(realtime: boolean) {
  const sim = await simulateCall({ gatewayUrl: rig.gw.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, direction: 'outbound', to: '+15551234567', ...call, realtime });
  await streamClosed(rig.gw, sim.streamSid);
  const decode = (b: Uint8Array) => Int16Array.from(b, (x) => MULAW_TO_PCM16[x]!);
  const recordingSid = fakeSid('RE', 500 + Math.floor(Math.random() * 1000));
  rig.fake.addRecording({ sid: recordingSid, callSid: sim.callSid, channels: 2, durationS: Math.round(sim.tracks.inbound.length / 8000), audio: { left: decode(sim.tracks.inbound), right: decode(sim.tracks.outbound) } });
  await postRecordingStatus(rig, recordingSid, 'completed');
  await settled(rig, recordingSid);
  return { sim, recordingSid };
}

async function transcriptOf(callSid: string, source: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await api('GET', `/api/calls/${callSid}/transcript`);
    const body = res.json() as { source: string | null; status: string; lines: Array<{ speaker: string; start: number; end: number; text: string }> };
    if (body.source === source && (source !== 'post_call' || body.status === 'complete')) return body;
    if (Date.now() > until) throw new Error(`no ${source} transcript: ${res.body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('post-call: each speaker transcribed, merged on the call timeline, silence never sent', async () => {
  const { sim } = await fullCall(false);
  const t = await transcriptOf(sim.callSid, 'post_call');
  assert.deepEqual([...new Set(t.lines.map((l) => l.speaker))], ['agent', 'customer'], 'agent first, then the customer');
  for (const l of t.lines) {
    const [from, to] = turns[l.speaker as 'agent' | 'customer'];
    assert.ok(l.start >= from - 0.3 && l.end <= to + 0.3, `${l.speaker} line ${l.start}-${l.end} lies in its turn ${from}-${to}`);
  }
  assert.deepEqual(ai.silentUploads, [], 'no upload was silence');
  assert.ok(ai.requests.every((r) => r.model === 'whisper-1' && r.responseFormat === 'verbose_json'));
});

test('live: lines arrive over SSE while a real-time call is still running', async () => {
  const sim = simulateCall({ gatewayUrl: rig.gw.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, direction: 'outbound', to: '+15551234567', ...call, realtime: true, end: 'none' });
  const started = await sim;
  const controller = new AbortController();
  const res = await fetch(`${rig.gw.url}/api/calls/${started.callSid}/transcript/live`, { headers: { 'x-api-key': API_KEY }, signal: controller.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  let text = '';
  const until = Date.now() + 10_000;
  while (!text.includes('event: line') && Date.now() < until) text += new TextDecoder().decode((await reader.read()).value);
  assert.match(text, /event: line\ndata: \{"speaker":"(agent|customer)"/);
  assert.equal(rig.gw.app.gateway.registry.get(started.streamSid) !== undefined, true, 'the call was still being captured');
  controller.abort();
  started.socket?.close();
  const t = await transcriptOf(started.callSid, 'live');
  assert.ok(t.lines.length >= 1);
});

test('transcription errors are job errors: 429 and 500 are retried, then it completes', async () => {
  ai.faults.push({ times: 1, fault: { type: 'status', status: 429, retryAfter: 0 } }, { times: 1, fault: { type: 'status', status: 500 } });
  const { sim } = await fullCall(false);
  const t = await transcriptOf(sim.callSid, 'post_call');
  assert.ok(t.lines.length > 0);
});

test('the seed endpoint: errors of its contract, a transcript from recording_sid, cached', async () => {
  assert.deepEqual((await api('POST', '/api/twilio/transcript/', {})).json(), { error: 'Either recording_sid or audio_url is required' });
  const missing = await api('POST', '/api/twilio/transcript/', { recording_sid: fakeSid('RE', 4242) });
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { error: 'Failed to fetch recording details: Recording not found' });
  const busySid = fakeSid('RE', 4243);
  rig.fake.addRecording({ sid: busySid, callSid: fakeSid('CA', 4243), channels: 2, durationS: 2, status: 'in-progress' });
  const busy = await api('POST', '/api/twilio/transcript/', { recording_sid: busySid });
  assert.deepEqual(busy.json(), { error: 'Unexpected error occurred', details: 'Transcription failed: Recording not completed (status=in-progress)' });
  const ssrf = await api('POST', '/api/twilio/transcript/', { audio_url: 'http://169.254.169.254/latest/meta-data' });
  assert.equal(ssrf.statusCode, 400);

  const { recordingSid } = await fullCall(false);
  const before = ai.requests.length;
  const res = await api('POST', '/api/twilio/transcript', { recording_sid: recordingSid });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['audio_url', 'recording_details', 'recording_sid', 'status', 'timestamp', 'transcript']);
  assert.equal(body.status, 'completed');
  assert.ok(typeof body.transcript === 'string' && body.transcript.length > 0);
  assert.ok(ai.requests.length > before);
  const afterFirst = ai.requests.length;
  const again = await api('POST', '/api/twilio/transcript', { audio_url: `${rig.fake.url}/2010-04-01/Accounts/${rig.fake.accountSid}/Recordings/${recordingSid}.mp3` });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal((again.json() as { transcript: string }).transcript, body.transcript);
  assert.equal(ai.requests.length, afterFirst, 'answered from the cache: no new upload');
});

test('the call detail carries the transcript and says which one it is', async () => {
  const { sim } = await fullCall(false);
  await transcriptOf(sim.callSid, 'post_call');
  const detail = (await api('GET', `/api/calls/${sim.callSid}`)).json() as { transcript: { source: string; lines: unknown[] } | null };
  assert.equal(detail.transcript?.source, 'post_call');
  assert.ok((detail.transcript?.lines.length ?? 0) > 0);
});
