// GET /api/twilio/recordings/ (seed 004 §1) through the real app against the fake Twilio. Each test
// puts its recordings on its own day and lists that day, so the tests share one rig and one probe
// cache without seeing each other's recordings.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { NO_CREDENTIALS } from '../../src/api/recordings.js';
import { fakeSid, type AddRecordingInput } from '../fakes/twilio-api.js';
import { addCallRecording, postRecordingStatus, settled, sha256, startCloudRig, type CloudRig } from '../helpers/cloud.js';
import { API_KEY, AUTH_TOKEN, startGateway } from '../helpers/gateway.js';

let rig: CloudRig;
before(async () => {
  rig = await startCloudRig();
});
after(() => rig.close());

const KEY = { 'x-api-key': API_KEY };
const list = (query = '', headers: Record<string, string> = KEY, path = '/api/twilio/recordings/') =>
  rig.gw.app.inject({ method: 'GET', url: `${path}${query}`, headers });
const onDay = (day: string, extra = '') => `?date_created_after=${day}&date_created_before=${day}${extra}`;

type Body = { total_recordings: number; query_parameters: Record<string, unknown>; recordings: Array<Record<string, unknown>>; summary: Record<string, number> };
async function listOk(query: string): Promise<Body> {
  const res = await list(query);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<Body>();
}

let seq = 0x1000;
/** A recording created `offsetS` seconds into `day` (UTC). */
function addOn(day: string, offsetS: number, extra: Partial<AddRecordingInput> = {}): string {
  const n = seq++;
  const sid = fakeSid('RE', n);
  const startTime = new Date(Date.parse(`${day}T00:00:00Z`) + offsetS * 1000);
  rig.fake.addRecording({ sid, callSid: fakeSid('CA', n), channels: 1, durationS: 0.05, startTime, ...extra });
  return sid;
}
const sids = (b: Body) => b.recordings.map((r) => r.sid);
const mediaProbes = (sid: string) => rig.fake.requests.filter((r) => r.kind === 'media' && r.recordingSid === sid).length;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

test('every seed field, with its type; statuses in the seed vocabulary; newest first; summary', async () => {
  const done = addOn('2021-01-01', 300, { channels: 2, durationS: 2 });
  const live = addOn('2021-01-01', 200, { status: 'in-progress' });
  const absent = addOn('2021-01-01', 100, { status: 'absent' });
  const b = await listOk(onDay('2021-01-01'));
  assert.deepEqual(sids(b), [done, live, absent]);
  assert.equal(b.total_recordings, 3);
  assert.deepEqual(b.query_parameters, { limit: null, status: null, date_created_after: '2021-01-01', date_created_before: '2021-01-01' });
  assert.deepEqual(b.summary, { completed: 1, in_progress: 1, failed: 1, accessible_media: 1, inaccessible_media: 2 });
  const [c, p, a] = b.recordings as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  const path = `/2010-04-01/Accounts/${rig.fake.accountSid}/Recordings/${done}`;
  assert.deepEqual({ ...c, callvault: undefined }, {
    sid: done, account_sid: rig.fake.accountSid, call_sid: rig.fake.resourceOf(done).call_sid, duration: 2, status: 'completed',
    twilio_status: 'completed', channels: 2, source: 'StartCallRecordingTwiML', error_code: null, uri: `${path}.json`,
    media_location: null, media_url: `${rig.fake.url}${path}`, media_accessible: true, media_status_code: 206,
    date_created: '2021-01-01T00:05:00Z', date_updated: '2021-01-01T00:05:03Z', start_time: '2021-01-01T00:05:00Z',
    price: '-0.0025', price_unit: 'USD', track: 'both', callvault: undefined,
  });
  assert.deepEqual(c.callvault, { state: null, failure_reason: null, downloaded: false, sha256: null, local_url: null, reconciled: false, reconciliation_verdict: null });
  // Unfinished: Twilio's duration -1 and null price become null; its own status stays visible.
  assert.deepEqual([p.status, p.twilio_status, p.duration, p.price, p.media_accessible, p.media_status_code], ['in-progress', 'in-progress', null, null, false, 404]);
  assert.deepEqual([a.status, a.twilio_status, a.track], ['failed', 'absent', null]);
  for (const r of b.recordings) {
    for (const k of ['date_created', 'date_updated', 'start_time']) assert.match(String(r[k]), ISO_UTC);
    assert.doesNotMatch(String(r.media_url), /\.(json|mp3|wav)$|undefined|None/);
  }
});

test('status: completed; in-progress covers paused, stopped, processing; failed = absent or a nonzero error_code', async () => {
  const day = '2021-02-01';
  const completed = [addOn(day, 1), addOn(day, 2, { errorCode: 0 })];
  const running = ['in-progress', 'paused', 'stopped', 'processing'].map((status, i) => addOn(day, 10 + i, { status }));
  const failed = [addOn(day, 20, { status: 'absent' }), addOn(day, 21, { errorCode: 13227 })];
  const by = async (status: string) => new Set(sids(await listOk(onDay(day, `&status=${status}`))));
  assert.deepEqual(await by('completed'), new Set(completed));
  assert.deepEqual(await by('in-progress'), new Set(running));
  assert.deepEqual(await by('failed'), new Set(failed));
  const all = await listOk(onDay(day));
  assert.deepEqual(all.summary, { completed: 2, in_progress: 4, failed: 2, accessible_media: 3, inaccessible_media: 5 });
  const codes = Object.fromEntries(all.recordings.map((r) => [r.sid, r.error_code]));
  assert.equal(codes[failed[1]!], 13227);
  assert.equal(codes[completed[1]!], null, 'error_code 0 is no error');
});

test('limit: 50 by default, up to 100, the newest; echoed as given', async () => {
  const day = '2021-03-01';
  const added = Array.from({ length: 60 }, (_, i) => addOn(day, i));
  const byDefault = await listOk(onDay(day));
  assert.equal(byDefault.total_recordings, 50);
  assert.equal(byDefault.query_parameters.limit, null);
  assert.equal((await listOk(onDay(day, '&limit=100'))).total_recordings, 60);
  const five = await listOk(onDay(day, '&limit=5'));
  assert.deepEqual(sids(five), added.slice(-5).reverse());
  assert.equal(five.query_parameters.limit, '5');
});

test('invalid parameters are 400s whose error names the parameter', async () => {
  const cases: Array<[string, RegExp]> = [
    ...['0', '101', '-1', 'abc', '2.5', '', '1e1'].map((v): [string, RegExp] => [`limit=${v}`, /^limit must be an integer from 1 to 100/]),
    ['limit=5&limit=6', /^limit may be given once/],
    ...['bogus', 'FAILED', 'absent', 'in_progress'].map((v): [string, RegExp] => [`status=${v}`, /^status must be one of completed, in-progress, failed/]),
    ...['yesterday', '2024-02-30', '2024-13-01', '2024-01-01T25:00:00Z', '2024-01-01T10:00:00+15:00', '01/02/2024'].map(
      (v): [string, RegExp] => [`date_created_after=${encodeURIComponent(v)}`, /^date_created_after must be an ISO 8601 date/]),
    ['date_created_before=2024-1-1', /^date_created_before must be an ISO 8601 date/],
    ['date_created_after=2024-02-01&date_created_before=2024-01-31', /^date_created_after must not be later than date_created_before/],
    ['date_created_after=2024-01-31T10:00:01Z&date_created_before=2024-01-31T10:00:00Z', /later than/],
  ];
  const before = rig.fake.requests.length;
  for (const [query, message] of cases) {
    const res = await list(`?${query}`);
    assert.equal(res.statusCode, 400, query);
    assert.match(res.json<{ error: string }>().error, message, query);
  }
  assert.equal(rig.fake.requests.length, before, 'a bad query never reaches Twilio');
});

test('date filters: inclusive whole days, date-times with zones, sent to Twilio as DateCreated> and DateCreated<', async () => {
  const [d1, d2, d3] = [addOn('2021-04-01', 36_000), addOn('2021-04-02', 36_000), addOn('2021-04-03', 36_000)]; // 10:00 UTC
  const q = (after: string, before: string) => `?date_created_after=${encodeURIComponent(after)}&date_created_before=${encodeURIComponent(before)}`;
  assert.deepEqual(sids(await listOk(q('2021-04-01', '2021-04-03'))), [d3, d2, d1]);
  assert.deepEqual(sids(await listOk(q('2021-04-01T10:00:01Z', '2021-04-03T09:59:59Z'))), [d2]);
  assert.deepEqual(sids(await listOk(q('2021-04-02T12:00:00+02:00', '2021-04-02T10:00:00Z'))), [d2], 'bounds are inclusive');
  assert.deepEqual(sids(await listOk(q('2021-04-02T11:00', '2021-04-03'))), [d3], 'no zone means UTC');
  const sent = rig.fake.requests.filter((r) => r.kind === 'list').at(-1)!;
  assert.deepEqual([sent.query['DateCreated>'], sent.query['DateCreated<']], ['2021-04-02T11:00:00Z', '2021-04-03']);
});

test('failed is filtered on our side across several Twilio pages until limit, then pages run out', async () => {
  const day = '2021-05-01';
  const failed = [5, 6, 7, 8].map((s) => addOn(day, s, { status: 'absent' }));
  for (let i = 0; i < 246; i++) addOn(day, 100 + i);
  const pages = () => rig.fake.requests.filter((r) => r.kind === 'list').length;
  let start = pages();
  const three = await listOk(onDay(day, '&status=failed&limit=3'));
  assert.deepEqual(sids(three), failed.slice(1).reverse());
  assert.equal(pages() - start, 3, 'the failed ones are on the third page of 100');
  assert.ok(rig.fake.requests.slice(-10).some((r) => r.kind === 'list' && r.query.PageToken?.startsWith('PA')), 'followed next_page_uri');
  start = pages();
  assert.equal((await listOk(onDay(day, '&status=failed&limit=10'))).total_recordings, 4);
  assert.equal(pages() - start, 3);
});

test('trailing slash optional; API key by header or query; no key or a wrong key is a 401 in JSON', async () => {
  const day = '2021-01-01';
  for (const path of ['/api/twilio/recordings/', '/api/twilio/recordings']) {
    assert.equal((await list(onDay(day), KEY, path)).statusCode, 200, path);
  }
  assert.equal((await list(`${onDay(day)}&api_key=${API_KEY}`, {})).statusCode, 200);
  for (const headers of [{}, { 'x-api-key': 'wrong-key-0123456789' }] as Array<Record<string, string>>) {
    const res = await list(onDay(day), headers);
    assert.equal(res.statusCode, 401);
    assert.match(res.headers['content-type'] as string, /application\/json/);
    assert.equal(typeof res.json<{ error: string }>().error, 'string');
  }
  assert.equal((await list(`${onDay(day)}&api_key=nope-nope-nope-nope`, {})).statusCode, 401);
});

test('media accessibility: reachable, 404, stalled (timeout), via a storage redirect; cached, except timeouts', async () => {
  const day = '2021-06-01';
  const [ok, gone, slow, stalled] = [addOn(day, 1), addOn(day, 2), addOn(day, 3), addOn(day, 4)];
  rig.fake.faults.push({ kind: 'media', recordingSid: gone, times: 99, fault: { type: 'status', status: 404 } });
  rig.fake.faults.push({ kind: 'media', recordingSid: slow, times: 2, fault: { type: 'latency', ms: 1200 } });
  // Headers, then no byte: the server answered but the media does not flow.
  rig.fake.faults.push({ kind: 'media', recordingSid: stalled, times: 2, fault: { type: 'stall' } });
  const probe = (b: Body) => Object.fromEntries(b.recordings.map((r) => [r.sid, [r.media_accessible, r.media_status_code]]));
  const first = await listOk(onDay(day));
  assert.deepEqual(probe(first), { [ok]: [true, 206], [gone]: [false, 404], [slow]: [false, null], [stalled]: [false, null] });
  assert.deepEqual([first.summary.accessible_media, first.summary.inaccessible_media], [1, 3]);
  const second = await listOk(onDay(day));
  assert.deepEqual(probe(second), probe(first));
  assert.deepEqual([ok, gone, slow, stalled].map(mediaProbes), [1, 1, 2, 2], 'answers are cached, a timeout is asked again');
  rig.fake.updateRecording(gone, { durationS: 1 }); // a new date_updated: the recording changed
  await listOk(onDay(day));
  assert.equal(mediaProbes(gone), 2);

  const moved = addOn('2021-06-02', 1);
  rig.fake.redirectMedia = true;
  try {
    const b = await listOk(onDay('2021-06-02'));
    assert.deepEqual(probe(b), { [moved]: [true, 206] });
    assert.deepEqual(rig.fake.storageAuthLeaks, [], 'no credentials to the storage host');
  } finally {
    rig.fake.redirectMedia = false;
  }
});

test('never more than 3 media probes in flight', async () => {
  const day = '2021-07-01';
  const added = new Set(Array.from({ length: 10 }, (_, i) => addOn(day, i)));
  rig.fake.faults.push({ kind: 'media', match: (r) => added.has(r.recordingSid ?? ''), times: 10, fault: { type: 'latency', ms: 60 } });
  rig.fake.maxInFlight.media = 0;
  const b = await listOk(onDay(day));
  assert.equal(b.summary.accessible_media, 10);
  assert.equal(rig.fake.maxInFlight.media, 3);
});

test('the callvault join: a downloaded recording is ready, with a working signed local URL', async () => {
  const since = new Date(Date.now() - 5000).toISOString();
  const { callSid, recordingSid } = addCallRecording(rig, 2, 1);
  assert.equal((await postRecordingStatus(rig, recordingSid, 'completed')).statusCode, 204);
  const row = await settled(rig, recordingSid);
  assert.equal(row.state, 'ready');
  const b = await listOk(`?date_created_after=${encodeURIComponent(since)}`);
  const r = b.recordings.find((x) => x.sid === recordingSid)!;
  const cv = r.callvault as Record<string, unknown>;
  assert.deepEqual([cv.state, cv.downloaded, cv.sha256, cv.failure_reason], ['ready', true, sha256(`${rig.gw.dir}/${row.filePath}`), null]);
  assert.equal(r.media_location, cv.local_url);
  assert.equal(r.track, 'both');
  assert.equal(typeof cv.reconciled, 'boolean');
  assert.equal(cv.reconciliation_verdict === null, !cv.reconciled);
  const local = new URL(String(cv.local_url));
  assert.equal(local.pathname, `/media/${callSid}/cloud.${recordingSid}.wav`);
  const media = await rig.gw.app.inject({ method: 'GET', url: `${local.pathname}${local.search}` });
  assert.equal(media.statusCode, 200);
  assert.equal(media.headers['content-type'], 'audio/wav');
  assert.equal(media.rawPayload.subarray(0, 4).toString('latin1'), 'RIFF');
});

test('Twilio 5xx and timeouts are 502 "Twilio API unavailable", with no stack or secret', async () => {
  for (const fault of [{ type: 'status', status: 503 }, { type: 'latency', ms: 1000 }] as const) {
    rig.fake.faults.push({ kind: 'list', times: 1, fault });
    const res = await list(onDay('2021-01-01'));
    assert.equal(res.statusCode, 502, fault.type);
    const body = res.json<{ error: string; details: string }>();
    assert.equal(body.error, 'Twilio API unavailable');
    assert.equal(typeof body.details, 'string');
    assert.doesNotMatch(res.body, new RegExp(`${AUTH_TOKEN}|stack|at .*\\.ts`));
  }
});

test('Twilio refusing the credentials is a 502 naming the variables to check', async () => {
  const gw = await startGateway({
    TWILIO_API_BASE_URL: rig.fake.url, CLOUD_RECORDING: 'false',
    TWILIO_API_KEY_SID: fakeSid('SK', 1), TWILIO_API_KEY_SECRET: 'not-the-secret',
  });
  try {
    const res = await gw.app.inject({ method: 'GET', url: '/api/twilio/recordings/', headers: KEY });
    assert.equal(res.statusCode, 502);
    assert.match(res.json<{ error: string }>().error, /Twilio refused the credentials.*check TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET/);
    assert.doesNotMatch(res.body, /not-the-secret/);
  } finally {
    await gw.close();
  }
});

test('without Twilio credentials: 503 saying what to set', async () => {
  const gw = await startGateway({ TWILIO_VALIDATE_SIGNATURES: 'false', CLOUD_RECORDING: 'false', TWILIO_AUTH_TOKEN: '', TWILIO_ACCOUNT_SID: '' });
  try {
    const res = await gw.app.inject({ method: 'GET', url: '/api/twilio/recordings', headers: KEY });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { error: NO_CREDENTIALS });
  } finally {
    await gw.close();
  }
});

test('the route is in the OpenAPI document with its query parameters', async () => {
  const doc = (await rig.gw.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, { get?: { tags?: string[]; parameters?: Array<{ name: string }> } }> }>();
  const op = (doc.paths['/api/twilio/recordings'] ?? doc.paths['/api/twilio/recordings/'])?.get;
  assert.deepEqual(op?.tags, ['recordings']);
  assert.deepEqual(op?.parameters?.map((p) => p.name).sort(), ['date_created_after', 'date_created_before', 'limit', 'status']);
});

test('no request to Twilio ever named undefined, None or null, or a parameter Twilio ignores', () => {
  assert.deepEqual(rig.fake.suspicious, []);
});
