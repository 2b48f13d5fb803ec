// The signed media route through the real app, on the files of a real captured and reconciled
// call: HTTP Range, content types, expired and tampered signatures, and path traversal in
// every id position (on /media and on /api/calls) that must never reach outside RECORDINGS_DIR.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { MediaSigner } from '../../src/api/media.js';
import { API_KEY, startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { connectStream, streamClosed } from '../helpers/stream-client.js';
import { api, local, quiet, signerOf, waitFor } from './helpers.js';

const SECRET = 'SENTINEL-OUTSIDE-RECORDINGS';
let gw: TestGateway;
let signer: MediaSigner;
let callSid: string;
let streamSid: string;
/** The folder that holds RECORDINGS_DIR, with files an attacker would like to reach. */
let parent: string;
const sentinels = ['sentinel.txt', 'reconciliation.json', 'final.stereo.wav'];

before(async () => {
  parent = tempDir('cv-media-');
  for (const name of sentinels) fs.writeFileSync(path.join(parent, name), SECRET);
  gw = await startGateway({ CLOUD_RECORDING: 'false' }, path.join(parent, 'recordings'));
  signer = await signerOf(gw);
  const client = await connectStream(gw);
  client.start();
  for (let i = 0; i < 50; i++) {
    const frame = Uint8Array.from({ length: 160 }, (_, k) => (i * 7 + k) & 0xff);
    client.media('inbound', i * 20, frame);
    client.media('outbound', i * 20, frame.map((x) => 255 - x));
  }
  client.stop();
  ({ callSid, streamSid } = client);
  await streamClosed(gw, streamSid);
  await waitFor('the reconciliation', () => gw.app.gateway.store.reconciliations.get(callSid));
  await quiet(gw, callSid);
});
after(async () => {
  await gw.close();
  fs.rmSync(parent, { recursive: true, force: true });
});

const file = () => `${streamSid}.inbound.8k.wav`;
const bytesOf = (name: string) => fs.readFileSync(path.join(gw.dir, callSid, name));
const get = (url: string, range?: string) => gw.app.inject({ url, headers: range ? { range } : {} });

test('no Range: 200, the whole file, Accept-Ranges, audio/wav', async () => {
  const res = await get(local(signer.url(callSid, file())));
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['accept-ranges'], 'bytes');
  assert.equal(res.headers['content-type'], 'audio/wav');
  assert.equal(Number(res.headers['content-length']), bytesOf(file()).length);
  assert.deepEqual(res.rawPayload, bytesOf(file()));
});

test('ranges: first byte, middle, suffix, open end', async () => {
  const whole = bytesOf(file());
  const size = whole.length;
  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0], ['bytes=100-299', 100, 299], [`bytes=-100`, size - 100, size - 1], ['bytes=100-', 100, size - 1],
    // a last byte past the end is clamped (RFC 9110 §14.1.2)
    [`bytes=${size - 10}-${size + 500}`, size - 10, size - 1],
  ];
  for (const [range, start, end] of cases) {
    const res = await get(local(signer.url(callSid, file())), range);
    assert.equal(res.statusCode, 206, range);
    assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
    assert.equal(Number(res.headers['content-length']), end - start + 1, range);
    assert.equal(res.headers['content-type'], 'audio/wav', range);
    assert.deepEqual(res.rawPayload, whole.subarray(start, end + 1), range);
  }
});

test('a range beyond the end is 416 with Content-Range: bytes */size', async () => {
  const size = bytesOf(file()).length;
  for (const range of [`bytes=${size}-`, `bytes=${size + 100}-${size + 200}`, 'bytes=-0']) {
    const res = await get(local(signer.url(callSid, file())), range);
    assert.equal(res.statusCode, 416, range);
    assert.equal(res.headers['content-range'], `bytes */${size}`, range);
    assert.equal(res.rawPayload.length, 0);
  }
});

test('an unparseable or multi-part Range is ignored: the whole file', async () => {
  for (const range of ['bytes=abc', 'items=0-10', 'bytes=0-1,5-6']) {
    const res = await get(local(signer.url(callSid, file())), range);
    assert.equal(res.statusCode, 200, range);
    assert.equal(res.rawPayload.length, bytesOf(file()).length);
  }
});

test('reconciliation.json is application/json; final and stereo files are audio/wav', async () => {
  const report = await get(local(signer.url(callSid, 'reconciliation.json')));
  assert.equal(report.statusCode, 200);
  assert.equal(report.headers['content-type'], 'application/json');
  assert.equal(report.json<{ call_sid: string }>().call_sid, callSid);
  for (const name of ['final.stereo.wav', 'final.agent.16k.wav', `${streamSid}.stereo.8k.wav`]) {
    const res = await get(local(signer.url(callSid, name)), 'bytes=0-11');
    assert.deepEqual([res.statusCode, res.headers['content-type'], res.rawPayload.subarray(8).toString()], [206, 'audio/wav', 'WAVE'], name);
  }
});

test('an expired or tampered link is 403', async () => {
  const expired = await get(local(signer.url(callSid, file(), Date.now() - 2 * gw.config.api.mediaUrlTtlS * 1000)));
  assert.equal(expired.statusCode, 403);
  assert.match(expired.json<{ error: string }>().error, /expired/);
  const good = new URL(signer.url(callSid, file()));
  const exp = Number(good.searchParams.get('exp'));
  const sig = good.searchParams.get('sig')!;
  const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
  const otherCall = `CA${'f'.repeat(32)}`;
  const tampered = [
    `/media/${callSid}/${file()}?exp=${exp}&sig=${flipped}`,
    `/media/${callSid}/${file()}?exp=${exp + 3600}&sig=${sig}`,
    `/media/${otherCall}/${file()}?exp=${exp}&sig=${sig}`,
    `/media/${callSid}/${streamSid}.outbound.8k.wav?exp=${exp}&sig=${sig}`,
    `/media/${callSid}/reconciliation.json?exp=${exp}&sig=${sig}`,
    `/media/${callSid}/${file()}?exp=${exp}`,
    `/media/${callSid}/${file()}?sig=${sig}`,
    `/media/${callSid}/${file()}`,
    `/media/${callSid}/${file()}?exp=${exp}&sig=${sig.slice(0, -1)}`,
  ];
  for (const url of tampered) {
    const res = await get(url);
    assert.equal(res.statusCode, 403, url);
    assert.match(res.json<{ error: string }>().error, /signature/, url);
  }
});

/** Over a real socket with the path sent byte for byte: inject() and fetch() would resolve
 *  `.` and `..` segments before the gateway ever saw them. */
function raw(method: string, pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.url}/`, { method, path: pathAndQuery, headers: { 'x-api-key': API_KEY, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every attempt is answered 400 or 404 and shows nothing from outside RECORDINGS_DIR. */
async function refused(method: string, pathAndQuery: string, headers: Record<string, string> = {}) {
  const res = await raw(method, pathAndQuery, headers);
  const what = `${method} ${pathAndQuery}`;
  assert.ok([400, 404].includes(res.status), `${what}: ${res.status}`);
  assert.doesNotMatch(res.body, new RegExp(SECRET), what);
}

function outsideUntouched() {
  for (const name of sentinels) assert.equal(fs.readFileSync(path.join(parent, name), 'utf8'), SECRET, name);
  assert.deepEqual(fs.readdirSync(parent).sort(), [...sentinels, 'recordings'].sort());
  assert.ok(fs.existsSync(path.join(gw.dir, callSid, 'final.stereo.wav')), "the call's own files are still there");
}

test('traversal on /media: every id position, raw, encoded, and even when signed', async () => {
  const attempts: Array<[string, string]> = [
    ['..', 'sentinel.txt'], ['..', 'reconciliation.json'], ['%2e%2e', 'final.stereo.wav'], ['.', 'reconciliation.json'],
    [callSid, '..%2F..%2Freconciliation.json'], [callSid, '%2e%2e%2f%2e%2e%2ffinal.stereo.wav'], [callSid, '..%5C..%5Csentinel.txt'],
    [`${callSid}%2F..%2F..`, 'reconciliation.json'], [`..%2F..%2F${callSid}`, 'final.stereo.wav'],
    [callSid, '..%2Fcallvault.sqlite'], [callSid, 'api-key.txt'], [callSid, 'passwd'], [callSid, 'final.stereo.wav%00.json'],
    [callSid, `${streamSid}.inbound.8k.wav.part`], [callSid, `${streamSid}.inbound.32k.wav`],
    [`MZ${callSid.slice(2)}`, 'reconciliation.json'], [`CA${'0'.repeat(31)}`, 'reconciliation.json'], ['%2Fetc', 'passwd'],
  ];
  for (const [sidPart, filePart] of attempts) {
    const url = `/media/${sidPart}/${filePart}`;
    // Signed for the decoded names, so only the name checks stand in the way.
    const signedQuery = new URL(signer.url(decodeURIComponent(sidPart), decodeURIComponent(filePart))).search;
    await refused('GET', url);
    await refused('GET', url + signedQuery);
    await refused('GET', url + signedQuery, { range: 'bytes=0-10' });
    await refused('HEAD', url + signedQuery);
  }
  for (const url of ['/media/../sentinel.txt', '/media/../../sentinel.txt', '/media/%2e%2e/%2e%2e/sentinel.txt', `/media/${callSid}/../../sentinel.txt`]) {
    await refused('GET', url);
  }
  outsideUntouched();
});

test('traversal on /api/calls/:callSid: GET and DELETE answer 400/404 and remove nothing', async () => {
  const ids = [
    '..', '%2e%2e', '.', '..%2F..', '..%2Frecordings', '%2e%2e%2f%2e%2e%2fsentinel.txt', `${callSid}%2F..`, `${callSid}%2F..%2F..`,
    `..%2F${callSid}`, `${callSid}%00`, `MZ${callSid.slice(2)}`, `CA${'0'.repeat(31)}`, `CA${'g'.repeat(32)}`, `${callSid}0`, '%2Fetc',
  ];
  for (const id of ids) {
    for (const method of ['GET', 'DELETE'] as const) {
      await refused(method, `/api/calls/${id}`);
      await refused(method, `/api/calls/${id}?cloud=true`);
    }
  }
  outsideUntouched();
  // The call itself is still whole and listed.
  const res = await api(gw, 'GET', `/api/calls/${callSid}`);
  assert.equal(res.statusCode, 200);
  assert.equal(res.json<{ artifacts: unknown[] }>().artifacts.length, 8);
});

test('links are never followed: a linked call folder or file is 404 even with a valid signature', async () => {
  const outside = tempDir('cv-outside-');
  fs.writeFileSync(path.join(outside, 'reconciliation.json'), '{"secret":true}');
  const linkedCall = 'CA' + 'd'.repeat(32);
  fs.symlinkSync(outside, path.join(gw.dir, linkedCall));
  const viaFolder = await get(local(signer.url(linkedCall, 'reconciliation.json')));
  assert.equal(viaFolder.statusCode, 404);
  fs.symlinkSync(path.join(outside, 'reconciliation.json'), path.join(gw.dir, callSid, 'transcript.json'));
  const viaFile = await get(local(signer.url(callSid, 'transcript.json')));
  assert.equal(viaFile.statusCode, 404);
  assert.doesNotMatch(viaFile.body, /secret/);
  fs.unlinkSync(path.join(gw.dir, callSid, 'transcript.json'));
});
