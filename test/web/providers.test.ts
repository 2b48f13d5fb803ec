// The browser app with provider calls, in Debian's Chromium (playwright-core) against the real
// gateway: a Vonage call and an ElevenLabs conversation seeded in the store (a real MP3 on disk)
// appear in the list with their provider and filter by it; the ElevenLabs page plays the MP3 and
// shows its transcript, with reconciliation "not applicable" and no endless polling; the Vonage
// dialer posts the right body, reports the placed call, and shows the server's 503 / 403 text.
// Screenshots go to /tmp/callvault-web-providers/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { API_KEY, startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = '/tmp/callvault-web-providers';
const APP_ID = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const FROM = '+447700900123';
const CUSTOMER = '+15557654321';
const AGENT = '+15551230000';

const VN_SID = `VN${'ab12'.repeat(8)}`;
const VN_CONV = 'CON-aaaabbbb-cccc-4ddd-8eee-ffff00001111';
const VR_SID = `VR${'cd34'.repeat(8)}`;
const EL_CONV = 'conv_01webtest';
const EL_SID = `EL-${EL_CONV}`;
const EL_FILE = `cloud.${EL_SID}.mp3`;
const MP3_S = 3;

interface FakeVonage {
  url: string;
  calls: Array<{ auth: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Vonage's POST /v1/calls, just enough: checks the RS256 application JWT and answers 201. */
async function startFakeVonage(publicKeyPem: string): Promise<FakeVonage> {
  const calls: FakeVonage['calls'] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/calls') return send(404, { title: 'Not found' });
      const auth = req.headers.authorization ?? '';
      const [head, claims, sig] = auth.replace(/^Bearer /, '').split('.');
      const signed = head && claims && sig && verify('RSA-SHA256', Buffer.from(`${head}.${claims}`), publicKeyPem, Buffer.from(sig, 'base64url'));
      const appId = claims ? (JSON.parse(Buffer.from(claims, 'base64url').toString()) as { application_id?: string }).application_id : undefined;
      if (!signed || appId !== APP_ID) return send(401, { title: 'Unauthorized', detail: 'bad application JWT' });
      calls.push({ auth, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> });
      n++;
      send(201, { uuid: `63f61863-4a51-4f6b-86e1-46edeb00000${n}`, status: 'started', direction: 'outbound', conversation_uuid: `CON-f972836a-550f-45fa-956c-12a2ab5b7d2${n}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((r) => server.close(() => r())) };
}

let vonage: FakeVonage;
let gw: TestGateway;
let bare: TestGateway;
let browser: Browser;
let page: Page;

type AudioEl = { readyState: number; duration: number; error: { code: number } | null; addEventListener(type: string, f: (e: unknown) => void, o?: object): void };

function sox(dir: string, name: string, format: string[], effects: string[]): string {
  const file = path.join(dir, name);
  execFileSync('sox', ['-n', ...format, file, ...effects]);
  return file;
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

async function seed(g: TestGateway) {
  const { store } = (g.app as unknown as { gateway: { store: import('../../src/store/db.js').Store } }).gateway;
  const work = tempDir('cv-audio-');
  const at = new Date(Date.now() - 10 * 60 * 1000).toISOString();

  // Vonage: a call placed to a customer, its stereo 16 kHz cloud recording on disk.
  await store.calls.upsert({
    callSid: VN_SID, provider: 'vonage', providerCallId: VN_CONV, direction: 'outbound', agentTrack: 'outbound', customerTrack: 'inbound',
    status: 'completed', fromNumber: FROM, toNumber: CUSTOMER, at,
  });
  const vnDir = path.join(g.dir, VN_SID);
  fs.mkdirSync(vnDir, { recursive: true });
  const vnWav = sox(work, 'vn.wav', ['-r', '16000', '-c', '2', '-b', '16'], ['synth', '2', 'sine', '300', 'sine', '500']);
  const vnFile = path.join(vnDir, `cloud.${VR_SID}.wav`);
  fs.copyFileSync(vnWav, vnFile);
  await store.recordings.upsert({ recordingSid: VR_SID, provider: 'vonage', callSid: VN_SID, accountSid: null, providerStatus: 'completed', mediaPath: 'https://api.nexmo.com/v1/files/x', channels: 2, durationS: 2 });
  await store.recordings.markReady(VR_SID, { filePath: vnFile, fileBytes: fs.statSync(vnFile).size, sha256: sha256(vnFile), fileChannels: 2, fileSampleRate: 16000, fileDurationS: 2 });

  // ElevenLabs: a web conversation (no phone numbers), one mixed MP3 and ElevenLabs' transcript.
  await store.calls.upsert({
    callSid: EL_SID, provider: 'elevenlabs', providerCallId: EL_CONV, direction: 'inbound', agentTrack: 'outbound', customerTrack: 'inbound',
    status: 'done', at,
  });
  const elDir = path.join(g.dir, EL_SID);
  fs.mkdirSync(elDir, { recursive: true });
  const elWav = sox(work, 'el.wav', ['-r', '44100', '-c', '1', '-b', '16'], ['synth', String(MP3_S), 'sine', '440']);
  const mp3 = path.join(elDir, EL_FILE);
  execFileSync('lame', ['--quiet', '-b', '64', elWav, mp3]);
  await store.recordings.upsert({ recordingSid: EL_SID, provider: 'elevenlabs', callSid: EL_SID, accountSid: null, providerStatus: 'fetched', mediaPath: `/v1/convai/conversations/${EL_CONV}/audio` });
  await store.recordings.markReady(EL_SID, { filePath: mp3, fileBytes: fs.statSync(mp3).size, sha256: sha256(mp3), fileChannels: 1, fileSampleRate: 44100, fileDurationS: MP3_S });
  await store.transcripts.replace(EL_SID, 'post_call', [
    { speaker: 'agent', start: 0, end: 1.4, text: 'Hello, you are through to the booking assistant.' },
    { speaker: 'customer', start: 1.4, end: 3, text: 'I would like to move my appointment to Friday.' },
  ]);
  fs.rmSync(work, { recursive: true, force: true });
}

async function signedIn(url: string, hash: string): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  await p.route((u) => !u.href.startsWith(url), (route) => route.abort());
  await p.goto(url);
  await p.evaluate(`sessionStorage.setItem('callvault.apiKey', ${JSON.stringify(API_KEY)})`);
  await p.goto(`${url}/${hash}`);
  return p;
}

before(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run ./scripts/test.sh, which installs Debian's chromium for the browser tests`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  vonage = await startFakeVonage(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  gw = await startGateway({
    VONAGE_API_BASE_URL: vonage.url, VONAGE_APPLICATION_ID: APP_ID, VONAGE_FROM_NUMBER: FROM,
    VONAGE_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    DIAL_ALLOWED_PREFIXES: '+1,+44', TWILIO_CALLER_ID: '+15550001111',
  });
  bare = await startGateway();
  await seed(gw);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  page = await signedIn(gw.url, '#/calls');
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await bare?.close();
  await vonage?.close();
});

const rows = (p: Page) => p.locator('table.calls tbody tr').evaluateAll((trs) =>
  (trs as unknown as Array<{ dataset: Record<string, string>; children: ArrayLike<{ textContent: string | null }> }>)
    .map((tr) => ({ sid: tr.dataset.callSid, provider: tr.dataset.provider, column: tr.children[2]?.textContent })));

test('calls list: a Provider column, and a provider filter kept in the URL', async () => {
  await page.locator(`tr[data-call-sid="${EL_SID}"]`).waitFor();
  const all = await rows(page);
  assert.deepEqual(all.map((r) => [r.sid, r.provider, r.column]).sort(), [[EL_SID, 'elevenlabs', 'ElevenLabs'], [VN_SID, 'vonage', 'Vonage']]);
  assert.equal(await page.locator('table.calls thead th').nth(2).textContent(), 'Provider');

  await page.getByLabel('Provider').selectOption('vonage');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/#\/calls\?provider=vonage$/);
  await page.getByText('Calls 1–1 of 1.').waitFor();
  assert.deepEqual((await rows(page)).map((r) => r.sid), [VN_SID]);
  await page.screenshot({ path: path.join(SHOTS, '1-calls-vonage.png'), fullPage: true });

  // The filter survives a reload, read back from the URL.
  await page.goto(`${gw.url}/#/calls?provider=elevenlabs`);
  await page.getByText('Calls 1–1 of 1.').waitFor();
  assert.deepEqual((await rows(page)).map((r) => r.sid), [EL_SID]);
  assert.equal(await page.getByLabel('Provider').inputValue(), 'elevenlabs');
  await page.getByLabel('Provider').selectOption('twilio');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('No calls match these filters.').waitFor();

  // Searching an ElevenLabs id opens its page.
  await page.goto(`${gw.url}/#/calls`);
  await page.getByLabel('Search').fill(EL_SID);
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(new RegExp(`#/calls/${EL_SID}$`));
  await page.getByRole('heading', { name: `ElevenLabs conversation ${EL_CONV}` }).waitFor();
});

test('ElevenLabs call page: the MP3 plays, its transcript shows, reconciliation is not applicable, no polling', async () => {
  await page.goto(`${gw.url}/#/calls`);
  await page.getByRole('heading', { name: 'Calls' }).waitFor();
  const apiCalls: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === `/api/calls/${EL_SID}`) apiCalls.push(r.url());
  });
  await page.goto(`${gw.url}/#/calls/${EL_SID}`);
  await page.getByRole('heading', { name: `ElevenLabs conversation ${EL_CONV}` }).waitFor();
  const facts = await page.locator('dl.facts').textContent();
  assert.match(facts!, /ProviderElevenLabs/);
  assert.match(facts!, new RegExp(`ElevenLabs conversation${EL_CONV}`));

  const audio = page.locator('audio[data-kind="cloud"]');
  assert.match((await page.locator('label[for="audio-cloud"]').textContent())!, /^ElevenLabs recording \(MP3\) · MP3, mono \(both speakers mixed\), 44\.1 kHz, 0:03$/);
  assert.equal(await page.locator('audio[data-kind="final"], audio[data-kind="capture"]').count(), 0, 'no empty capture or final players');
  const media = await audio.evaluate(async (a: AudioEl) => {
    if (a.readyState < 1 && !a.error) {
      await new Promise((r) => {
        a.addEventListener('loadedmetadata', r, { once: true });
        a.addEventListener('error', r, { once: true });
      });
    }
    return { duration: a.duration, error: a.error?.code ?? null };
  });
  assert.equal(media.error, null, 'no media error');
  assert.ok(Math.abs(media.duration - MP3_S) < 0.3, `the MP3 reports its duration (${media.duration})`);
  const src = (await audio.getAttribute('src'))!;
  assert.ok(src.startsWith(`/media/${EL_SID}/${EL_FILE}?`) || src.includes(EL_FILE), src);
  assert.ok(!src.includes(API_KEY));

  assert.match((await page.locator('#wave-note').textContent())!, /No waveform: the recording is one mixed MP3 channel/);
  assert.equal(await page.locator('#not-applicable').textContent(), 'Not applicable: ElevenLabs provides one mixed recording and its own transcript.');
  assert.equal(await page.locator('.verdict').count(), 0);
  assert.equal(await page.getByText('Not reconciled yet').count(), 0, 'no "pending" reconciliation');
  const lines = page.locator('.transcript .line-button');
  assert.equal(await lines.count(), 2);
  assert.match((await lines.nth(1).textContent())!, /Customer.*move my appointment to Friday/);
  await page.getByText('From ElevenLabs, after the conversation.').waitFor();

  // Clicking a line plays the MP3 from there.
  await lines.nth(1).click();
  await page.waitForFunction("document.querySelector('audio[data-kind=\"cloud\"]').currentTime >= 1.3");
  await audio.evaluate((a) => (a as unknown as { pause(): void }).pause());
  await page.screenshot({ path: path.join(SHOTS, '2-call-elevenlabs.png'), fullPage: true });

  // The page does not keep asking: one load, then silence (it polls every 2 s while work runs).
  await new Promise((r) => setTimeout(r, 4500));
  assert.equal(apiCalls.length, 1, `one request for the call (${apiCalls.length})`);
});

test('Vonage call page: the provider, its conversation id and the "Vonage recording" player', async () => {
  await page.goto(`${gw.url}/#/calls/${VN_SID}`);
  await page.getByRole('heading', { name: `Call to ${CUSTOMER}` }).waitFor();
  const facts = (await page.locator('dl.facts').textContent())!;
  assert.match(facts, /ProviderVonage/);
  assert.match(facts, new RegExp(`Vonage conversation${VN_CONV}`));
  assert.match((await page.locator('label[for="audio-cloud"]').textContent())!, /^Vonage recording · stereo, 16 kHz, 0:02$/);
  const d = await page.locator('audio[data-kind="cloud"]').evaluate(async (a: AudioEl) => {
    if (a.readyState < 1) await new Promise((r) => a.addEventListener('loadedmetadata', r, { once: true }));
    return a.duration;
  });
  assert.ok(Math.abs(d - 2) < 0.1, `the Vonage WAV loads (${d})`);
  await page.getByText('Not reconciled yet').waitFor();
  await page.screenshot({ path: path.join(SHOTS, '3-call-vonage.png'), fullPage: true });
});

test('dialer, phone bridge (Vonage): the right body, the placed call linked; live capture', async () => {
  const p = await signedIn(gw.url, '#/dial');
  await p.getByRole('radio', { name: 'Phone bridge (Vonage)' }).check();
  assert.equal(await p.locator('#dial-to').count(), 0, 'the browser dialer is put away');
  await p.getByLabel("Customer's number").fill(CUSTOMER);
  await p.getByLabel("Agent's phone number").fill(AGENT);
  const posted = p.waitForRequest((r) => r.url().endsWith('/api/vonage/calls') && r.method() === 'POST');
  await p.getByRole('button', { name: 'Place call' }).click();
  assert.deepEqual((await posted).postDataJSON(), { to: CUSTOMER, agent_number: AGENT });
  await p.locator('#vonage-status[data-status="placed"]').waitFor();
  const link = p.locator('#vonage-call-link');
  const href = (await link.getAttribute('href'))!;
  assert.match(href, /^#\/calls\/VN[0-9a-f]{32}$/);
  assert.match((await p.locator('#vonage-placed').textContent())!, /Vonage answered: started \(bridged to the agent\)\..*CON-f972836a/);
  assert.equal(await p.locator('#vonage-status').getAttribute('role'), 'status');
  assert.equal(vonage.calls.length, 1);
  const sent = vonage.calls[0]!.body as { to: Array<{ number: string }>; ncco: Array<{ action: string; split?: string; endpoint?: Array<{ type: string; number?: string }> }> };
  assert.equal(sent.to[0]!.number.replace(/^\+/, ''), CUSTOMER.slice(1));
  assert.equal(sent.ncco[0]!.action, 'record');
  assert.equal(sent.ncco[0]!.split, 'conversation');
  assert.equal(sent.ncco[1]!.action, 'connect');
  assert.equal(sent.ncco[1]!.endpoint![0]!.type, 'phone');
  assert.equal(sent.ncco[1]!.endpoint![0]!.number!.replace(/^\+/, ''), AGENT.slice(1));
  await p.screenshot({ path: path.join(SHOTS, '4-dialer-vonage-placed.png'), fullPage: true });

  // Live capture: no agent number is asked for, and the body says so.
  await p.getByRole('radio', { name: 'Capture live (no agent phone)' }).check();
  assert.equal(await p.getByLabel("Agent's phone number").isDisabled(), true);
  const posted2 = p.waitForRequest((r) => r.url().endsWith('/api/vonage/calls') && r.method() === 'POST');
  await p.getByRole('button', { name: 'Place call' }).click();
  assert.deepEqual((await posted2).postDataJSON(), { to: CUSTOMER, live_capture: true });
  await p.getByText('(captured live).').waitFor();
  assert.equal(vonage.calls.at(-1)!.body.ncco && (vonage.calls.at(-1)!.body as { ncco: Array<{ endpoint?: Array<{ type: string }> }> }).ncco[1]!.endpoint![0]!.type, 'websocket');

  // A number outside DIAL_ALLOWED_PREFIXES: the server's 403 text.
  await p.getByLabel("Customer's number").fill('+33612345678');
  await p.getByRole('button', { name: 'Place call' }).click();
  await p.locator('#vonage-error').waitFor();
  assert.equal(await p.locator('#vonage-error').textContent(), 'Not allowed: the number is not in DIAL_ALLOWED_PREFIXES.');
  assert.equal(vonage.calls.length, 2, 'nothing sent to Vonage');

  // The placed call opens from the link.
  await p.getByLabel("Customer's number").fill(CUSTOMER);
  await p.getByRole('radio', { name: "The agent's phone" }).check();
  await p.getByRole('button', { name: 'Place call' }).click();
  await p.locator('#vonage-status[data-status="placed"]').waitFor();
  const sid = (await p.locator('#vonage-call-link').getAttribute('href'))!.split('/').pop()!;
  await p.locator('#vonage-call-link').click();
  await p.getByRole('heading', { name: `Call to ${CUSTOMER}` }).waitFor();
  assert.match((await p.locator('dl.facts').textContent())!, new RegExp(`${sid}.*ProviderVonage`));
  await p.close();
});

test('dialer, phone bridge (Vonage) without VONAGE_* settings: the 503 text names them', async () => {
  const p = await signedIn(bare.url, '#/dial');
  await p.getByRole('radio', { name: 'Phone bridge (Vonage)' }).check();
  await p.getByLabel("Customer's number").fill(CUSTOMER);
  await p.getByLabel("Agent's phone number").fill(AGENT);
  await p.getByRole('button', { name: 'Place call' }).click();
  const error = p.locator('#vonage-error[role="alert"]');
  await error.waitFor();
  assert.equal(await error.textContent(),
    'Vonage calls are not configured: set VONAGE_APPLICATION_ID, VONAGE_PRIVATE_KEY, VONAGE_FROM_NUMBER.');
  assert.equal(await p.locator('#vonage-status').getAttribute('data-status'), 'refused');
  await p.screenshot({ path: path.join(SHOTS, '5-dialer-vonage-unconfigured.png'), fullPage: true });
  // The browser (Twilio) choice still behaves as before.
  await p.getByRole('radio', { name: 'Browser (Twilio)' }).check();
  await p.locator('#dial-not-configured').waitFor();
  await p.close();
});
