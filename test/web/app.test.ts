// The browser app in Debian's Chromium (playwright-core) against the real gateway, the fake
// Twilio REST API and the fake OpenAI: sign in, watch a real-time simulated call live, open it
// when it ends (audio, waveforms with gaps, report, transcript), and the dialer with a stubbed
// Twilio Device. Screenshots go to test-artifacts/web/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { simulateCall, type SimulateResult } from '../../src/cli/simulator/call.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { fakeSid } from '../fakes/twilio-api.js';
import { postRecordingStatus, settled, startCloudRig, type CloudRig } from '../helpers/cloud.js';
import { API_KEY, AUTH_TOKEN } from '../helpers/gateway.js';
import { streamClosed } from '../helpers/stream-client.js';
import { PUBLIC } from '../helpers/twilio-sign.js';
import { APP_SID, verifyJwt } from './jwt.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve('test-artifacts/web');
const OPENAI_KEY = 'sk-test-0123456789';
const TO = '+15557654321';

let ai: FakeOpenAI;
let rig: CloudRig;
let browser: Browser;
let page: Page;
let callSid = '';

// The shapes used inside page functions (the project's TS lib has no DOM types).
type AudioEl = { readyState: number; duration: number; currentTime: number; pause(): void; addEventListener(type: string, f: (e: unknown) => void, o?: object): void };
type MarkEl = { dataset: Record<string, string | undefined>; getBoundingClientRect(): { left: number } };
type CanvasEl = { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };

/** Stands in for the Voice SDK's Device and Call, recording what the page asks of them. The SDK
 *  bundle keeps a Device that is already defined (Twilio.Device = Twilio.Device || ...). */
const DEVICE_STUB = `
  class Emitter {
    constructor() { this.handlers = {}; }
    on(event, f) { (this.handlers[event] ??= []).push(f); return this; }
    emit(event, ...args) { for (const f of this.handlers[event] ?? []) f(...args); }
  }
  const log = { token: null, connects: [], muted: [], disconnects: 0 };
  class FakeCall extends Emitter {
    mute(m) { log.muted.push(m); this.emit('mute', m, this); }
    disconnect() { log.disconnects++; this.emit('disconnect', this); }
  }
  class FakeDevice extends Emitter {
    constructor(token) { super(); log.token = token; }
    async connect(opts) {
      log.connects.push(opts);
      const call = new FakeCall();
      setTimeout(() => call.emit('accept', call), 50);
      return call;
    }
    updateToken() {}
  }
  window.Twilio = { Device: FakeDevice };
  window.__dialer = log;
`;

before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run ./scripts/test.sh, which installs Debian's chromium for the browser tests`);
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  ai = await startFakeOpenAI({ apiKey: OPENAI_KEY });
  rig = await startCloudRig({
    OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${ai.url}/v1`, LIVE_TRANSCRIPTION: 'true',
    TWILIO_API_KEY_SID: fakeSid('SK', 1), TWILIO_API_KEY_SECRET: 'key-secret', TWILIO_TWIML_APP_SID: APP_SID,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  // Nothing leaves the machine: any request to another host fails the test loudly.
  await page.route((url) => !url.href.startsWith(rig.gw.url), (route) => route.abort());
});

after(async () => {
  await browser?.close();
  await rig?.close();
  await ai?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

test('sign in: a wrong key is refused, the right one shows the calls', async () => {
  await page.goto(rig.gw.url);
  await page.getByLabel('API key').fill('wrong-key-0123456789');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That API key was not accepted.').waitFor();
  assert.equal(await page.locator('#nav').isHidden(), true, 'no navigation without a key');
  await shot('1-sign-in-error');
  await page.getByLabel('API key').fill(API_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Calls' }).waitFor();
  assert.equal(await page.evaluate("sessionStorage.getItem('callvault.apiKey')"), API_KEY);
  assert.equal(await page.evaluate('localStorage.length'), 0, 'nothing kept beyond the tab');
});

test('live: the call appears with its levels and its transcript grows; then the call page', async () => {
  const agent = await speak('Good morning, this is the help desk. How can I help you today?');
  const customer = await speak('Hello, my order never arrived and I would like a refund.', { voice: 'en-us' });
  const audio = conversation([{ track: 'inbound', audio: agent, gapMs: 500 }, { track: 'outbound', audio: customer, gapMs: 800 }]);
  await page.getByRole('link', { name: 'Live' }).click();
  await page.getByText('No calls in progress.').waitFor();
  const running = simulateCall({
    gatewayUrl: rig.gw.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, direction: 'outbound', to: TO, ...audio,
    realtime: true, end: 'none', impairments: { lossRate: 0.03, seed: 7 },
  });
  const card = page.locator('article.live-call');
  await card.waitFor({ timeout: 10_000 });
  callSid = (await card.getAttribute('data-call-sid'))!;
  await page.waitForFunction("[...document.querySelectorAll('meter')].some((m) => Number(m.dataset.rms) > 0.001)");
  await card.locator('.transcript li').first().waitFor({ timeout: 15_000 });
  const firstCount = await card.locator('.transcript li').count();
  await shot('2-live');
  const sim: SimulateResult = await running;
  assert.equal(sim.callSid, callSid);
  assert.equal(await card.getAttribute('data-ended'), null, 'still live when the audio has all been sent');
  sim.socket?.close();
  await streamClosed(rig.gw, sim.streamSid);
  await page.locator('article.live-call[data-ended]').waitFor();
  // The customer's last words are transcribed as the stream ends, and still reach the page.
  await page.waitForFunction(`document.querySelectorAll('article.live-call .transcript li').length > ${firstCount}`, undefined, { timeout: 15_000 });
  await shot('2b-live-ended');

  const decode = (b: Uint8Array) => Int16Array.from(b, (x) => MULAW_TO_PCM16[x]!);
  const recordingSid = fakeSid('RE', 700);
  rig.fake.addRecording({ sid: recordingSid, callSid, channels: 2, durationS: Math.round(sim.tracks.inbound.length / 8000), audio: { left: decode(sim.tracks.inbound), right: decode(sim.tracks.outbound) } });
  await postRecordingStatus(rig, recordingSid, 'completed');
  await settled(rig, recordingSid);

  await card.getByRole('link', { name: 'Open call' }).click();
  await page.getByRole('heading', { name: `Call to ${TO}` }).waitFor();
  // The page refreshes itself while post-call work runs: the verdict and the waveform arrive.
  const verdict = page.locator('.verdict[data-verdict]');
  await verdict.waitFor({ timeout: 30_000 });
  assert.equal(await verdict.getAttribute('data-verdict'), 'repaired');
  const gaps = page.locator('.wave .gap[data-gap-source="local"]');
  await gaps.first().waitFor({ timeout: 10_000 });
  assert.ok((await gaps.count()) >= 2, 'lost frames of both tracks are marked');
  // Each marker sits at its time: positions differ and follow data-start.
  const placed = await gaps.evaluateAll((els) => (els as unknown as MarkEl[]).map((e) => ({ start: Number(e.dataset.start), left: e.getBoundingClientRect().left, speaker: e.dataset.speaker })));
  assert.ok(new Set(placed.map((p) => Math.round(p.left))).size > 1, 'markers are spread along the timeline');
  assert.deepEqual(new Set(placed.map((p) => p.speaker)), new Set(['agent', 'customer']));
  const agentMarks = placed.filter((p) => p.speaker === 'agent');
  assert.deepEqual(agentMarks.map((p) => p.left), [...agentMarks].sort((a, b) => a.start - b.start).map((p) => p.left));
  const canvas = await page.locator('canvas.wave-canvas').evaluate((c: CanvasEl) => {
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let inked = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) inked++;
    return { width: c.width, inked };
  });
  assert.ok(canvas.width > 500 && canvas.inked > 1000, `the waveform is drawn (${JSON.stringify(canvas)})`);

  const final = page.locator('audio[data-kind="final"]');
  const duration = await final.evaluate(async (a: AudioEl) => {
    if (a.readyState < 1) await new Promise((r) => a.addEventListener('loadedmetadata', r, { once: true }));
    return a.duration;
  });
  assert.ok(Math.abs(duration - sim.tracks.inbound.length / 8000) < 0.5, `final audio reports its duration (${duration})`);
  for (const kind of ['capture', 'cloud']) {
    const d = await page.locator(`audio[data-kind="${kind}"]`).evaluate(async (a: AudioEl) => {
      if (a.readyState < 1) await new Promise((r) => a.addEventListener('loadedmetadata', r, { once: true }));
      return a.duration;
    });
    assert.ok(d > 1, `${kind} audio loads (${d})`);
  }
  assert.ok(!(await final.getAttribute('src'))!.includes(API_KEY), 'no API key in media URLs');

  // The post-call transcript replaces the live one; clicking a line seeks the final audio.
  await page.getByText('Transcribed after the call.').waitFor({ timeout: 30_000 });
  const line = page.locator('.line-button').nth(1);
  const start = Number(await line.getAttribute('data-start'));
  await line.click();
  await page.waitForFunction(`document.querySelector('audio[data-kind="final"]').currentTime >= ${start - 0.05}`);
  await page.locator('audio[data-kind="final"]').evaluate((a: AudioEl) => a.pause());
  await shot('3-call');
  await page.locator('#jobs[aria-busy="false"]').waitFor({ timeout: 30_000 });
  assert.ok(await page.locator('#jobs tr[data-state="succeeded"]').count() >= 2);
  await shot('3-call');
});

test('calls list: the call is listed and the filters narrow it', async () => {
  await page.goto(`${rig.gw.url}/#/calls`);
  await page.locator(`tr[data-call-sid="${callSid}"]`).waitFor();
  await page.getByLabel('Direction').selectOption('inbound');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('No calls match these filters.').waitFor();
  await page.getByLabel('Direction').selectOption('outbound');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator(`tr[data-call-sid="${callSid}"]`).waitFor();
  await shot('4-calls');
});

test('dialer: a valid token, connect with the number typed, mute and hang up (Device stubbed)', async () => {
  const dial = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  await dial.route((url) => !url.href.startsWith(rig.gw.url), (route) => route.abort());
  // A string, not a function: tsx's transforms (e.g. __name helpers) do not exist in the page.
  await dial.addInitScript({ content: DEVICE_STUB });
  await dial.goto(rig.gw.url);
  await dial.evaluate(`sessionStorage.setItem('callvault.apiKey', ${JSON.stringify(API_KEY)})`);
  await dial.goto(`${rig.gw.url}/#/dial`);
  const sdk = await dial.request.get(`${rig.gw.url}/vendor/twilio-voice.min.js`);
  assert.equal(sdk.status(), 200, 'the Voice SDK bundle is served');
  await dial.getByLabel('Number to call').fill(TO);
  await dial.getByRole('button', { name: 'Call' }).click();
  await dial.locator('#dial-status[data-status="in progress"]').waitFor();
  const log = (await dial.evaluate('window.__dialer')) as { token: string; connects: unknown[] };
  assert.deepEqual(log.connects, [{ params: { To: TO } }]);
  const { claims } = verifyJwt(log.token, 'key-secret');
  assert.equal((claims.grants as { voice: { outgoing: { application_sid: string } } }).voice.outgoing.application_sid, APP_SID);
  await dial.getByRole('button', { name: 'Mute' }).click();
  await dial.getByRole('button', { name: 'Unmute' }).waitFor();
  assert.equal(await dial.getByRole('button', { name: 'Unmute' }).getAttribute('aria-pressed'), 'true');
  await dial.screenshot({ path: path.join(SHOTS, '5-dialer.png') });
  await dial.getByRole('button', { name: 'Hang up' }).click();
  await dial.locator('#dial-status[data-status="ended"]').waitFor();
  const after = (await dial.evaluate('window.__dialer')) as { muted: boolean[]; disconnects: number };
  assert.deepEqual(after.muted, [true]);
  assert.equal(after.disconnects, 1);
  await dial.close();
});

test('dialer without Twilio credentials says dialling is not configured', async () => {
  const { startGateway } = await import('../helpers/gateway.js');
  const bare = await startGateway();
  try {
    const p = await browser.newPage({ viewport: { width: 1366, height: 700 } });
    await p.route((url) => !url.href.startsWith(bare.url), (route) => route.abort());
    await p.goto(bare.url);
    await p.evaluate(`sessionStorage.setItem('callvault.apiKey', ${JSON.stringify(API_KEY)})`);
    await p.goto(`${bare.url}/#/dial`);
    await p.locator('#dial-not-configured').waitFor();
    assert.match((await p.locator('#dial-not-configured').textContent())!, /not configured on this gateway\. Missing settings: TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET, TWILIO_TWIML_APP_SID\./);
    await p.screenshot({ path: path.join(SHOTS, '6-dialer-unconfigured.png') });
    await p.close();
  } finally {
    await bare.close();
  }
});
