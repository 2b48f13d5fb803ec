/**
 * Keeps the fake Twilio honest: the gateway's tests trust it, so its strictness is tested here
 * with plain fetch, one behaviour at a time. Faults are in twilio-api-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fakeSid, mixToMono, MSG_16113, startFakeTwilio, type FakeTwilio } from './twilio-api.js';
import { basic, decodeWav } from './twilio-api/test-client.js';

const AC = fakeSid('AC', 0xa1);
const TOKEN = 'auth-token-secret';
const KEY = { sid: fakeSid('SK', 0x51), secret: 'api-key-secret' };
const CA = fakeSid('CA', 1);
const RE_DUAL = fakeSid('RE', 1);
const RE_MONO = fakeSid('RE', 2);
const ROOT = `/2010-04-01/Accounts/${AC}`;
const AUTH = { authorization: basic(AC, TOKEN) };

let tw: FakeTwilio;
const get = (path: string, headers: Record<string, string> = AUTH, init: RequestInit = {}) =>
  fetch(path.startsWith('http') ? path : tw.url + path, { headers, ...init });

before(async () => {
  tw = await startFakeTwilio({ accountSid: AC, authToken: TOKEN, apiKey: KEY });
  tw.addRecording({ sid: RE_DUAL, callSid: CA, channels: 2, durationS: 2, startTime: new Date('2024-05-01T10:00:00Z') });
  tw.addRecording({ sid: RE_MONO, callSid: CA, channels: 1, durationS: 1, startTime: new Date('2024-05-01T10:05:00Z') });
});
after(() => tw.close());
beforeEach(() => {
  tw.suspicious.length = 0;
  tw.redirectMedia = false;
});

describe('auth', () => {
  it('answers 401 with WWW-Authenticate and 20003 when no credentials are sent', async () => {
    const r = await get(`${ROOT}/Recordings/${RE_DUAL}.json`, {});
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Basic realm="Twilio API"');
    const body = (await r.json()) as Record<string, unknown>;
    assert.equal(body.code, 20003);
    assert.equal(body.status, 401);
    assert.equal(body.more_info, 'https://www.twilio.com/docs/errors/20003');
  });

  it('rejects a wrong token, a wrong user and a wrong key secret; media too', async () => {
    for (const h of [basic(AC, 'nope'), basic(fakeSid('AC', 9), TOKEN), basic(KEY.sid, TOKEN), 'Bearer x']) {
      for (const p of [`${ROOT}/Recordings/${RE_DUAL}.json`, `${ROOT}/Recordings/${RE_DUAL}.wav`, `${ROOT}/Recordings.json`]) {
        const r = await get(p, { authorization: h });
        assert.equal(r.status, 401, `${h} ${p}`);
        assert.equal(((await r.json()) as { code: number }).code, 20003);
      }
    }
  });

  it('accepts the API key, and logs the user name but never a secret', async () => {
    const r = await get(`${ROOT}/Recordings/${RE_DUAL}.json`, { authorization: basic(KEY.sid, KEY.secret) });
    assert.equal(r.status, 200);
    assert.equal(tw.requests.at(-1)?.authUser, KEY.sid);
    const log = JSON.stringify(tw.requests);
    assert.ok(!log.includes(TOKEN) && !log.includes(KEY.secret));
  });

  it('does not open another account with valid credentials (401 20003)', async () => {
    const r = await get(`/2010-04-01/Accounts/${fakeSid('AC', 0xb2)}/Recordings/${RE_DUAL}.json`);
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { code: number }).code, 20003);
  });
});

describe('Recording resource', () => {
  it('has exactly Twilio’s snake_case fields with Twilio’s types', async () => {
    const r = await get(`${ROOT}/Recordings/${RE_DUAL}.json`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const j = (await r.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(j).sort(), [
      'account_sid', 'api_version', 'call_sid', 'channels', 'conference_sid', 'date_created', 'date_updated', 'duration',
      'encryption_details', 'error_code', 'media_url', 'price', 'price_unit', 'sid', 'source', 'start_time', 'status',
      'subresource_uris', 'uri',
    ]);
    assert.equal(j.start_time, 'Wed, 01 May 2024 10:00:00 +0000');
    assert.equal(j.duration, '2');
    assert.equal(j.channels, 2);
    assert.equal(j.conference_sid, null);
    assert.equal(j.error_code, null);
    assert.equal(j.encryption_details, null);
    assert.equal(j.source, 'StartCallRecordingTwiML');
    assert.equal(j.uri, `${ROOT}/Recordings/${RE_DUAL}.json`);
    assert.equal(j.media_url, `${tw.url}${ROOT}/Recordings/${RE_DUAL}`);
    assert.equal((await get(j.media_url as string)).status, 200, 'media_url is followable');
  });

  it('answers an unknown recording with Twilio’s 404 body', async () => {
    const path = `${ROOT}/Recordings/${fakeSid('RE', 0xdead)}.json`;
    const r = await get(path);
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), {
      code: 20404, message: `The requested resource ${path} was not found`,
      more_info: 'https://www.twilio.com/docs/errors/20404', status: 404,
    });
  });

  it('reports an unfinished recording with duration -1 and no media until it completes', async () => {
    const sid = fakeSid('RE', 0x10);
    tw.addRecording({ sid, callSid: fakeSid('CA', 0x10), channels: 2, durationS: 1, status: 'processing' });
    const j = (await (await get(`${ROOT}/Recordings/${sid}.json`)).json()) as Record<string, unknown>;
    assert.equal(j.duration, '-1');
    assert.equal(j.price, null);
    const early = await get(`${ROOT}/Recordings/${sid}.wav`);
    assert.equal(early.status, 404);
    assert.equal(((await early.json()) as { code: number }).code, 20404);
    tw.updateRecording(sid, { status: 'completed' });
    assert.equal((await get(`${ROOT}/Recordings/${sid}.wav`)).status, 200);
  });

  it('refuses methods Twilio does not allow (405)', async () => {
    assert.equal((await get(`${ROOT}/Recordings/${RE_DUAL}.json`, AUTH, { method: 'POST' })).status, 405);
    assert.equal((await get(`${ROOT}/Recordings.json`, AUTH, { method: 'DELETE' })).status, 405);
    assert.equal((await get(`${ROOT}/Recordings/${RE_DUAL}.wav`, AUTH, { method: 'DELETE' })).status, 405);
  });
});

describe('media', () => {
  const wav = async (path: string) => {
    const r = await get(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('content-type'), 'audio/x-wav');
    return decodeWav(new Uint8Array(await r.arrayBuffer()));
  };

  it('serves mono 8 kHz (the mixdown) without RequestedChannels, with or without .wav', async () => {
    const { left, right } = tw.audioOf(RE_DUAL);
    for (const p of [`${ROOT}/Recordings/${RE_DUAL}`, `${ROOT}/Recordings/${RE_DUAL}.wav`, `${ROOT}/Recordings/${RE_DUAL}.wav?RequestedChannels=1`]) {
      const w = await wav(p);
      assert.equal(w.rate, 8000);
      assert.equal(w.channels.length, 1);
      assert.deepEqual(w.channels[0], mixToMono(left, right!));
      assert.equal(w.channels[0]!.length, 16000);
    }
  });

  it('serves dual only with RequestedChannels=2, left = first channel', async () => {
    const w = await wav(`${ROOT}/Recordings/${RE_DUAL}.wav?RequestedChannels=2`);
    assert.equal(w.channels.length, 2);
    assert.deepEqual(w.channels[0], tw.audioOf(RE_DUAL).left);
    assert.deepEqual(w.channels[1], tw.audioOf(RE_DUAL).right);
    assert.notDeepEqual(w.channels[0], w.channels[1]);
  });

  it('answers 16113 for a dual presentation of a mono recording, and mono without the parameter', async () => {
    for (const p of [`${ROOT}/Recordings/${RE_MONO}.wav?RequestedChannels=2`, `${ROOT}/Recordings/${RE_MONO}?RequestedChannels=2`]) {
      const r = await get(p);
      assert.equal(r.status, 400);
      assert.deepEqual(await r.json(), { code: 16113, message: MSG_16113, more_info: 'https://www.twilio.com/docs/errors/16113', status: 400 });
    }
    const w = await wav(`${ROOT}/Recordings/${RE_MONO}.wav`);
    assert.deepEqual(w.channels, [tw.audioOf(RE_MONO).left]);
  });

  it('serves given audio exactly', async () => {
    const sid = fakeSid('RE', 0x20);
    const left = Int16Array.from({ length: 800 }, (_, i) => (i * 37) % 30000 - 15000);
    const right = Int16Array.from({ length: 800 }, (_, i) => -i);
    tw.addRecording({ sid, callSid: fakeSid('CA', 0x20), channels: 2, durationS: 0.1, audio: { left, right } });
    assert.deepEqual((await wav(`${ROOT}/Recordings/${sid}.wav?RequestedChannels=2`)).channels, [left, right]);
  });

  it('serves .mp3 as audio/mpeg that is not WAV, and refuses it for encrypted recordings', async () => {
    const r = await get(`${ROOT}/Recordings/${RE_DUAL}.mp3`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'audio/mpeg');
    const b = Buffer.from(await r.arrayBuffer());
    assert.equal(b.readUInt16BE(0), 0xfffb);
    assert.notEqual(b.subarray(0, 4).toString('latin1'), 'RIFF');
    const sid = fakeSid('RE', 0x30);
    const res = tw.addRecording({ sid, callSid: fakeSid('CA', 0x30), channels: 2, durationS: 1, encrypted: true });
    assert.equal(typeof res.encryption_details?.encryption_cek, 'string');
    assert.equal((await get(`${ROOT}/Recordings/${sid}.mp3`)).status, 400);
    assert.equal((await get(`${ROOT}/Recordings/${sid}.wav`)).status, 200);
  });

  it('honours one byte range, on the API host and on storage; past the end is 416', async () => {
    const whole = Buffer.from(await (await get(`${ROOT}/Recordings/${RE_DUAL}`)).arrayBuffer());
    for (const redirect of [false, true]) {
      tw.redirectMedia = redirect;
      const r = await get(`${ROOT}/Recordings/${RE_DUAL}`, { ...AUTH, range: 'bytes=0-0' });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-range'), `bytes 0-0/${whole.length}`);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), whole.subarray(0, 1));
    }
    tw.redirectMedia = false;
    assert.equal((await get(`${ROOT}/Recordings/${RE_DUAL}`, { ...AUTH, range: `bytes=${whole.length}-` })).status, 416);
  });

  it('counts media requests in flight, and the most at once', async () => {
    tw.maxInFlight.media = 0;
    tw.faults.push({ kind: 'media', times: 3, fault: { type: 'latency', ms: 50 } });
    await Promise.all([1, 2, 3].map(() => get(`${ROOT}/Recordings/${RE_MONO}`).then((r) => r.arrayBuffer())));
    assert.equal(tw.maxInFlight.media, 3);
    assert.equal(tw.inFlight.media, 0);
  });
});

describe('list', () => {
  const CA_LIST = fakeSid('CA', 0x40);
  const sids = Array.from({ length: 7 }, (_, i) => fakeSid('RE', 0x400 + i));
  before(() => {
    sids.forEach((sid, i) =>
      tw.addRecording({ sid, callSid: CA_LIST, channels: 2, durationS: 1, startTime: new Date(Date.UTC(2024, 0, 1 + i, 12)) }));
  });
  const page = async (path: string) => {
    const r = await get(path);
    assert.equal(r.status, 200, path);
    return (await r.json()) as { recordings: { sid: string }[]; next_page_uri: string | null; previous_page_uri: string | null; page: number; page_size: number; start: number; end: number; first_page_uri: string; uri: string };
  };

  it('pages by following next_page_uri to the end, newest first, and back with previous_page_uri', async () => {
    const seen: string[] = [];
    let p = await page(`${ROOT}/Recordings.json?CallSid=${CA_LIST}&PageSize=3`);
    assert.equal(p.previous_page_uri, null);
    assert.equal(p.first_page_uri, `${ROOT}/Recordings.json?CallSid=${CA_LIST}&PageSize=3&Page=0`);
    const pages = [p];
    for (;;) {
      seen.push(...p.recordings.map((r) => r.sid));
      if (p.next_page_uri === null) break;
      p = await page(p.next_page_uri);
      pages.push(p);
    }
    assert.deepEqual(seen, [...sids].reverse());
    assert.deepEqual(pages.map((x) => [x.page, x.page_size, x.start, x.end, x.recordings.length]),
      [[0, 3, 0, 2, 3], [1, 3, 3, 5, 3], [2, 3, 6, 6, 1]]);
    const back = await page(pages[2]!.previous_page_uri!);
    assert.deepEqual(back.recordings.map((r) => r.sid), pages[1]!.recordings.map((r) => r.sid));
  });

  it('filters with Twilio’s DateCreated>/DateCreated< (inclusive) and by date', async () => {
    const q = new URLSearchParams({ CallSid: CA_LIST, 'DateCreated>': '2024-01-03T12:00:00Z', 'DateCreated<': '2024-01-05' });
    const p = await page(`${ROOT}/Recordings.json?${q.toString()}`);
    assert.deepEqual(p.recordings.map((r) => r.sid), [sids[4], sids[3], sids[2]]);
    const day = await page(`${ROOT}/Recordings.json?DateCreated=2024-01-02`);
    assert.deepEqual(day.recordings.map((r) => r.sid), [sids[1]]);
    assert.equal((await get(`${ROOT}/Recordings.json?DateCreated%3E=yesterday`)).status, 400);
  });

  it('ignores (and flags) DateCreatedAfter, a name Twilio does not know', async () => {
    const p = await page(`${ROOT}/Recordings.json?CallSid=${CA_LIST}&DateCreatedAfter=2024-01-06`);
    assert.equal(p.recordings.length, 7);
    assert.match(tw.suspicious[0]?.reason ?? '', /DateCreatedAfter/);
  });

  it('refuses Page>0 without a PageToken', async () => {
    assert.equal((await get(`${ROOT}/Recordings.json?PageSize=2&Page=1`)).status, 400);
  });
});

describe('delete', () => {
  it('answers 204, records it, and the recording is then gone', async () => {
    const sid = fakeSid('RE', 0x50);
    tw.addRecording({ sid, callSid: fakeSid('CA', 0x50), channels: 1, durationS: 1 });
    const r = await get(`${ROOT}/Recordings/${sid}.json`, AUTH, { method: 'DELETE' });
    assert.equal(r.status, 204);
    assert.equal((await r.text()).length, 0);
    assert.deepEqual(tw.deleted.map((d) => d.sid), [sid]);
    for (const p of [`${ROOT}/Recordings/${sid}.json`, `${ROOT}/Recordings/${sid}.wav`, `${ROOT}/Recordings/${sid}`]) {
      assert.equal((await get(p)).status, 404, p);
    }
    assert.equal((await get(`${ROOT}/Recordings/${sid}.json`, AUTH, { method: 'DELETE' })).status, 404);
    const list = (await (await get(`${ROOT}/Recordings.json?CallSid=${fakeSid('CA', 0x50)}`)).json()) as { recordings: unknown[] };
    assert.equal(list.recordings.length, 0);
    const soft = (await (await get(`${ROOT}/Recordings/${sid}.json?IncludeSoftDeleted=true`)).json()) as { status: string };
    assert.equal(soft.status, 'deleted');
  });
});

describe('suspicious requests', () => {
  it('answers 404 to undefined/None in the path and records them', async () => {
    for (const p of [`${ROOT}/Recordings/undefined.json`, `/2010-04-01/Accounts/undefined/Recordings/${RE_DUAL}.wav`, `${ROOT}/Recordings/None`]) {
      assert.equal((await get(p)).status, 404, p);
    }
    assert.equal(tw.suspicious.length, 3);
    await get(`${ROOT}/Recordings.json?CallSid=undefined`);
    assert.equal(tw.suspicious.length, 4);
  });

  it('records nothing for correct requests', async () => {
    await get(`${ROOT}/Recordings/${RE_DUAL}.wav?RequestedChannels=2`);
    await get(`${ROOT}/Recordings.json?CallSid=${CA}&PageSize=50`);
    assert.deepEqual(tw.suspicious, []);
  });
});

describe('redirect to storage', () => {
  it('answers 302 to another host that needs no auth, keeping the presentation', async () => {
    tw.redirectMedia = true;
    const r = await get(`${ROOT}/Recordings/${RE_DUAL}.wav?RequestedChannels=2`, AUTH, { redirect: 'manual' });
    assert.equal(r.status, 302);
    const location = new URL(r.headers.get('location')!);
    assert.notEqual(location.host, new URL(tw.url).host);
    const media = await fetch(location);
    assert.equal(media.status, 200);
    assert.equal(decodeWav(new Uint8Array(await media.arrayBuffer())).channels.length, 2);
    assert.deepEqual(tw.storageAuthLeaks, []);
    assert.equal((await get(`${ROOT}/Recordings/${RE_MONO}.wav?RequestedChannels=2`, AUTH, { redirect: 'manual' })).status, 400);
  });

  it('records and refuses a storage request that carries Authorization', async () => {
    tw.redirectMedia = true;
    const r = await get(`${ROOT}/Recordings/${RE_DUAL}`, AUTH, { redirect: 'manual' });
    const leaked = await fetch(r.headers.get('location')!, { headers: AUTH });
    assert.equal(leaked.status, 400);
    assert.equal(tw.storageAuthLeaks.length, 1);
    assert.equal(tw.storageAuthLeaks[0]!.authUser, AC);
    tw.storageAuthLeaks.length = 0;
  });

  it('is followed by fetch, which drops Authorization across hosts; a forged signature is refused', async () => {
    tw.redirectMedia = true;
    const r = await get(`${ROOT}/Recordings/${RE_DUAL}.wav`);
    assert.equal(r.status, 200);
    assert.equal(decodeWav(new Uint8Array(await r.arrayBuffer())).channels.length, 1);
    assert.deepEqual(tw.storageAuthLeaks, []);
    assert.equal((await fetch(`${tw.storageBaseUrl}/media-store/${RE_DUAL}.wav?X-Amz-Signature=forged`)).status, 403);
  });
});
