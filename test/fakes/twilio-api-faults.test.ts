/**
 * Each injected fault must look on the wire the way its name says, or the gateway's retry and
 * integrity tests would be testing the fake. Raw node:http shows exactly what arrived.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fakeSid, startFakeTwilio, type FakeTwilio } from './twilio-api.js';
import { basic, rawGet } from './twilio-api/test-client.js';

const AC = fakeSid('AC', 0xf1);
const TOKEN = 'fault-token';
const RE = fakeSid('RE', 0xf1);
const RE2 = fakeSid('RE', 0xf2);
const ROOT = `/2010-04-01/Accounts/${AC}`;
const AUTH = { authorization: basic(AC, TOKEN) };
const WAV_PATH = `${ROOT}/Recordings/${RE}.wav?RequestedChannels=2`;
/** 1 s, 2 channels, 8 kHz, PCM16, plus the 44-byte header. */
const WAV_BYTES = 44 + 8000 * 2 * 2;

let tw: FakeTwilio;
const get = (path: string) => fetch(tw.url + path, { headers: AUTH });

before(async () => {
  tw = await startFakeTwilio({ accountSid: AC, authToken: TOKEN });
  tw.addRecording({ sid: RE, callSid: fakeSid('CA', 0xf1), channels: 2, durationS: 1 });
  tw.addRecording({ sid: RE2, callSid: fakeSid('CA', 0xf2), channels: 2, durationS: 1 });
});
after(() => tw.close());
beforeEach(() => {
  tw.faults.length = 0;
});

describe('status faults', () => {
  it('fail the first N matching requests, then service resumes', async () => {
    const rule = { kind: 'media' as const, times: 2, fault: { type: 'status' as const, status: 503 } };
    tw.faults.push(rule);
    const first = await get(WAV_PATH);
    assert.equal(first.status, 503);
    assert.deepEqual(await first.json(), {
      code: 20503, message: 'Service Unavailable', more_info: 'https://www.twilio.com/docs/errors/20503', status: 503,
    });
    assert.equal((await get(WAV_PATH)).status, 503);
    assert.equal((await get(WAV_PATH)).status, 200);
    assert.equal(rule.times, 0);
  });

  it('429 carries Retry-After; 404 carries Twilio’s not-found body naming the path', async () => {
    tw.faults.push({ times: 1, fault: { type: 'status', status: 429, retryAfter: 2 } });
    const r = await get(WAV_PATH);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.equal(((await r.json()) as { code: number }).code, 20429);
    tw.faults.push({ kind: 'metadata', times: 1, fault: { type: 'status', status: 404 } });
    const nf = await get(`${ROOT}/Recordings/${RE}.json`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { message: string }).message, `The requested resource ${ROOT}/Recordings/${RE}.json was not found`);
  });

  it('target by kind, by recording sid, and by predicate', async () => {
    tw.faults.push({ kind: 'list', times: 5, fault: { type: 'status', status: 500 } });
    tw.faults.push({ recordingSid: RE2, times: 5, fault: { type: 'status', status: 500 } });
    tw.faults.push({ match: (q) => q.query.get('RequestedChannels') === '1', times: 5, fault: { type: 'status', status: 502 } });
    assert.equal((await get(`${ROOT}/Recordings.json`)).status, 500);
    assert.equal((await get(`${ROOT}/Recordings/${RE2}.json`)).status, 500);
    assert.equal((await get(`${ROOT}/Recordings/${RE}.wav?RequestedChannels=1`)).status, 502);
    assert.equal((await get(`${ROOT}/Recordings/${RE}.json`)).status, 200);
    assert.equal((await get(WAV_PATH)).status, 200);
  });

  it('are not consumed by unauthenticated requests', async () => {
    tw.faults.push({ times: 1, fault: { type: 'status', status: 500 } });
    assert.equal((await fetch(tw.url + WAV_PATH)).status, 401);
    assert.equal((await get(WAV_PATH)).status, 500);
  });
});

describe('timing faults', () => {
  it('latencyMs delays the answer, and composes with a status fault', async () => {
    tw.faults.push({ times: 1, fault: { type: 'latency', ms: 150 } });
    let t = performance.now();
    assert.equal((await get(WAV_PATH)).status, 200);
    assert.ok(performance.now() - t >= 140);
    tw.faults.push({ times: 1, fault: { type: 'latency', ms: 100 } }, { times: 1, fault: { type: 'status', status: 503 } });
    t = performance.now();
    assert.equal((await get(WAV_PATH)).status, 503);
    assert.ok(performance.now() - t >= 90);
  });

  it('slowBody sends part, stalls, then completes the body intact', async () => {
    tw.faults.push({ kind: 'media', times: 1, fault: { type: 'slowBody', stallMs: 200, afterBytes: 1000 } });
    const r = await rawGet(tw.url + WAV_PATH, AUTH);
    assert.equal(r.status, 200);
    assert.equal(r.ending, 'end');
    assert.equal(r.body.length, WAV_BYTES);
    assert.ok(r.maxGapMs >= 180, `gap ${r.maxGapMs}`);
    const clean = await rawGet(tw.url + WAV_PATH, AUTH);
    assert.ok(clean.body.equals(r.body));
  });

  it('stall sends headers and then nothing until the client gives up', async () => {
    tw.faults.push({ kind: 'media', times: 1, fault: { type: 'stall' } });
    const r = await rawGet(tw.url + WAV_PATH, AUTH, 300);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(WAV_BYTES));
    assert.equal(r.ending, 'timeout');
    assert.equal(r.body.length, 0);
    const ac = new AbortController();
    tw.faults.push({ kind: 'media', times: 1, fault: { type: 'stall' } });
    const res = await fetch(tw.url + WAV_PATH, { headers: AUTH, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(res.arrayBuffer());
  });
});

describe('body faults', () => {
  it('cutShort declares the full length, sends part, then drops the connection', async () => {
    tw.faults.push({ kind: 'media', times: 1, fault: { type: 'cutShort', afterBytes: 5000 } });
    const r = await rawGet(tw.url + WAV_PATH, AUTH);
    assert.equal(r.headers['content-length'], String(WAV_BYTES));
    assert.equal(r.ending, 'aborted');
    assert.equal(r.body.length, 5000);
    tw.faults.push({ kind: 'media', times: 1, fault: { type: 'cutShort' } });
    await assert.rejects((await get(WAV_PATH)).arrayBuffer());
  });

  it('wrongLength declares more than it sends and ends the connection', async () => {
    tw.faults.push({ kind: 'media', times: 1, fault: { type: 'wrongLength', extraBytes: 100 } });
    const r = await rawGet(tw.url + WAV_PATH, AUTH);
    assert.equal(r.headers['content-length'], String(WAV_BYTES + 100));
    assert.equal(r.ending, 'aborted');
    assert.equal(r.body.length, WAV_BYTES);
    tw.faults.push({ kind: 'media', times: 1, fault: { type: 'wrongLength' } });
    await assert.rejects((await get(WAV_PATH)).arrayBuffer());
  });

  it('truncatedWav is complete at HTTP level, but its header claims more data than sent', async () => {
    tw.faults.push({ kind: 'media', times: 1, fault: { type: 'truncatedWav', keepBytes: 3001 } });
    const r = await get(WAV_PATH);
    assert.equal(r.status, 200);
    const b = Buffer.from(await r.arrayBuffer());
    assert.equal(r.headers.get('content-length'), String(b.length));
    assert.equal(b.length, 44 + 3000, 'kept data is rounded down to whole samples');
    assert.equal(b.subarray(0, 4).toString('latin1'), 'RIFF');
    assert.equal(b.readUInt32LE(40), 8000 * 2 * 2, 'data chunk size still claims the whole recording');
  });

  it('apply to metadata JSON too', async () => {
    tw.faults.push({ kind: 'metadata', times: 1, fault: { type: 'cutShort', afterBytes: 10 } });
    const r = await rawGet(`${tw.url}${ROOT}/Recordings/${RE}.json`, AUTH);
    assert.equal(r.ending, 'aborted');
    assert.equal(r.body.toString(), '{"account_');
  });
});

describe('redirect with faults', () => {
  it('storage faults hit the redirect target only', async () => {
    tw.redirectMedia = true;
    tw.faults.push({ kind: 'storage', times: 1, fault: { type: 'status', status: 503 } });
    const first = await get(WAV_PATH);
    assert.equal(first.status, 503);
    assert.equal(tw.requests.at(-2)?.status, 302);
    assert.equal(tw.requests.at(-1)?.kind, 'storage');
    assert.equal((await get(WAV_PATH)).status, 200);
    tw.redirectMedia = false;
  });
});

describe('close', () => {
  it('returns promptly while a response is stalled', async () => {
    const other = await startFakeTwilio({ accountSid: AC, authToken: TOKEN });
    other.addRecording({ sid: RE, callSid: fakeSid('CA', 1), channels: 1, durationS: 1 });
    other.faults.push({ times: 1, fault: { type: 'stall' } });
    const pending = rawGet(other.url + WAV_PATH.replace('?RequestedChannels=2', ''), AUTH, 10_000);
    await new Promise((r) => setTimeout(r, 50));
    const t = performance.now();
    await other.close();
    assert.ok(performance.now() - t < 1000);
    assert.equal((await pending).ending, 'aborted');
  });
});
