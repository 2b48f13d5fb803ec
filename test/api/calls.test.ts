// /api/calls through the real app: real calls (voice webhook, WebSocket stream, cloud download
// from the fake Twilio, reconciliation) listed, filtered, paged, shown in full with playable
// artifacts, and deleted with and without their cloud copies.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { CallDetailT, CallSummaryT } from '../../src/api/call-schemas.js';
import { CALL_ID_PATTERN } from '../../src/ids.js';
import { fakeSid } from '../fakes/twilio-api.js';
import { postRecordingStatus, settled, startCloudRig, type CloudRig } from '../helpers/cloud.js';
import { ACCOUNT_SID, startGateway } from '../helpers/gateway.js';
import { connectStream, streamClosed } from '../helpers/stream-client.js';
import { signedForm } from '../helpers/twilio-sign.js';
import { api, fullCall, local, quiet, waitFor, type FullCall } from './helpers.js';

type List = { calls: CallSummaryT[]; total: number; limit: number; offset: number };

let rig: CloudRig;
/** A browser-placed call that stays; B and C (from the phone network, placed) get deleted. */
let A: FullCall;
let B: FullCall;
let C: FullCall;
/** Calls of early 2024, one a day, newest last; the first has an encrypted (failed) recording. */
const old = [1, 2, 3, 4].map((d) => ({ callSid: fakeSid('CA', 0x5eed0 + d), at: `2024-01-0${d}T12:00:00.000Z` }));

async function seedOldCalls() {
  const { store } = rig.gw.app.gateway;
  for (const [i, c] of old.entries()) {
    await store.calls.upsert({
      callSid: c.callSid, direction: i % 2 ? 'inbound' : 'outbound', agentTrack: 'inbound', customerTrack: 'outbound',
      fromNumber: '+15550000001', toNumber: '+15550000002', status: i < 2 ? 'completed' : 'no-answer', at: c.at,
    });
  }
  const recordingSid = fakeSid('RE', 0x5eed1);
  rig.fake.addRecording({ sid: recordingSid, callSid: old[0]!.callSid, channels: 2, durationS: 2, encrypted: true });
  assert.equal((await postRecordingStatus(rig, recordingSid, 'completed')).statusCode, 204);
  assert.equal((await settled(rig, recordingSid)).state, 'failed');
}

before(async () => {
  rig = await startCloudRig();
  [A, B, C] = await Promise.all([fullCall(rig, 0xa1, 'outbound'), fullCall(rig, 0xb1, 'inbound'), fullCall(rig, 0xc1, 'outbound')]);
  recent = await newestFirst([A, B, C]);
  // Twilio tells the end of A (its stream's end already scheduled the recording sweep).
  await rig.gw.app.inject(signedForm('/twilio/call-status', { CallSid: A.callSid, AccountSid: ACCOUNT_SID, CallStatus: 'completed' }));
  await seedOldCalls();
});
after(() => rig.close());

/** The three real calls as the list must order them (they were made at once). */
let recent: string[];
async function newestFirst(calls: FullCall[]): Promise<string[]> {
  const rows = await Promise.all(calls.map((c) => rig.gw.app.gateway.store.calls.get(c.callSid)));
  const key = (r: (typeof rows)[number]) => `${r!.createdAt}|${r!.callSid}`;
  return rows.sort((x, y) => key(y).localeCompare(key(x))).map((r) => r!.callSid);
}

const list = async (query: string) => {
  const res = await api(rig.gw, 'GET', `/api/calls${query}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<List>();
};
const sids = (l: List) => l.calls.map((c) => c.call_sid);
const filesOf = (callSid: string) => fs.readdirSync(path.join(rig.gw.dir, callSid)).length;

test('the list shows real calls newest first, with their derived state', async () => {
  const all = await list('');
  assert.equal(all.total, 7);
  assert.deepEqual({ limit: all.limit, offset: all.offset }, { limit: 50, offset: 0 });
  assert.deepEqual(sids(all), [...recent, ...old.map((c) => c.callSid).reverse()]);
  const a = all.calls.find((c) => c.call_sid === A.callSid)!;
  assert.equal(a.direction, 'outbound');
  assert.equal(a.status, 'completed');
  assert.match(a.ended_at ?? '', /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual([a.agent_track, a.customer_track], ['inbound', 'outbound']);
  assert.deepEqual([a.cloud_recording_state, a.cloud_recording_failure], ['ready', null]);
  assert.ok(['match', 'repaired'].includes(a.reconciliation_verdict ?? ''), String(a.reconciliation_verdict));
  assert.ok(a.duration_s! > 3 && a.duration_s! < 10, String(a.duration_s));
  const b = all.calls.find((c) => c.call_sid === B.callSid)!;
  assert.deepEqual([b.direction, b.agent_track], ['inbound', 'outbound']);
  const failed = all.calls.find((c) => c.call_sid === old[0]!.callSid)!;
  assert.equal(failed.cloud_recording_state, 'failed');
  assert.match(failed.cloud_recording_failure ?? '', /encrypted/);
  assert.deepEqual([failed.reconciliation_verdict, failed.duration_s], [null, 2]);
  assert.equal(all.calls.find((c) => c.call_sid === old[1]!.callSid)!.cloud_recording_state, null);
});

test('filters: direction, status, and dates (a bare date_to covers its day)', async () => {
  assert.deepEqual(sids(await list('?direction=inbound')), [B.callSid, old[3]!.callSid, old[1]!.callSid]);
  assert.deepEqual(sids(await list('?status=no-answer')), [old[3]!.callSid, old[2]!.callSid]);
  assert.deepEqual(sids(await list('?status=completed&direction=outbound')), [A.callSid, old[0]!.callSid]);
  assert.deepEqual(sids(await list('?direction=outbound&date_from=2025-01-01')), recent.filter((sid) => sid !== B.callSid));
  assert.deepEqual(sids(await list('?date_from=2024-01-02&date_to=2024-01-03')), [old[2]!.callSid, old[1]!.callSid]);
  assert.deepEqual(sids(await list('?date_from=2024-01-02T12:00:00Z&date_to=2024-01-03T11:59:59.999Z')), [old[1]!.callSid]);
  // An unencoded "+" arrives as a space; 13:00+01:00 is 12:00 UTC.
  assert.deepEqual(sids(await list('?date_to=2024-01-01T13:00:00+01:00')), [old[0]!.callSid]);
  const lastHour = await list(`?date_from=${new Date(Date.now() - 3600_000).toISOString()}`);
  assert.deepEqual(sids(lastHour), recent);
});

test('paging by limit and offset never overlaps and counts every match', async () => {
  const first = await list('?date_to=2024-12-31&limit=3');
  const second = await list('?date_to=2024-12-31&limit=3&offset=3');
  assert.deepEqual([first.total, second.total, first.calls.length, second.calls.length], [4, 4, 3, 1]);
  assert.deepEqual([...sids(first), ...sids(second)], old.map((c) => c.callSid).reverse());
  assert.deepEqual(sids(await list('?offset=10')), []);
});

test('bad list parameters are 400 with a JSON error', async () => {
  for (const q of ['limit=0', 'limit=101', 'offset=-1', 'direction=sideways', 'date_from=yesterday', 'date_from=2025-02-30', 'status=DROP%20TABLE']) {
    const res = await api(rig.gw, 'GET', `/api/calls?${q}`);
    assert.equal(res.statusCode, 400, q);
    assert.match(res.json<{ error: string }>().error, /Invalid request/, q);
  }
});

test('the detail has every section, and every artifact URL plays', async () => {
  const res = await api(rig.gw, 'GET', `/api/calls/${A.callSid}`);
  assert.equal(res.statusCode, 200);
  const d = res.json<CallDetailT>();
  assert.equal(d.call_sid, A.callSid);
  assert.equal(d.transcript, null);
  const [stream] = d.streams;
  assert.ok(stream && d.streams.length === 1);
  assert.equal(stream.stream_sid, A.streamSid);
  assert.equal(stream.state, 'closed');
  assert.equal(stream.captures.length, 5);
  const inbound8k = stream.captures.find((c) => c.track === 'inbound' && c.sample_rate === 8000)!;
  assert.equal(inbound8k.speaker, 'agent', 'inbound is the agent on a browser-placed call');
  assert.ok(inbound8k.stats && inbound8k.stats.frames! > 100 && inbound8k.stats.lost_ms === 0 && Array.isArray(inbound8k.stats.gaps));
  assert.equal(stream.captures.find((c) => c.kind === 'stereo')!.speaker, null);

  const [rec] = d.cloud_recordings;
  assert.ok(rec);
  assert.deepEqual([rec.recording_sid, rec.state, rec.file_channels, rec.file], [A.recordingSid, 'ready', 2, `cloud.${A.recordingSid}.wav`]);
  assert.match(rec.sha256 ?? '', /^[0-9a-f]{64}$/);

  assert.ok(d.reconciliation);
  assert.equal(d.reconciliation.verdict, d.reconciliation_verdict);
  assert.equal(d.reconciliation.report.call_sid, A.callSid);
  const report = await rig.gw.app.inject({ url: local(d.reconciliation.report_url!) });
  assert.deepEqual([report.statusCode, report.headers['content-type']], [200, 'application/json']);

  const jobs = new Map(d.jobs.map((j) => [j.kind, j]));
  assert.equal(jobs.get('recording-download')?.key, `download:${A.recordingSid}`);
  assert.equal(jobs.get('recording-download')?.state, 'succeeded');
  assert.equal(jobs.get('reconcile')?.state, 'succeeded');
  assert.equal(jobs.get('recording-sweep')?.state, 'queued', 'the sweep after the call ended waits');
  for (const j of d.jobs) assert.match(j.run_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const byFile = new Map(d.artifacts.map((x) => [x.file, x]));
  assert.deepEqual(d.artifacts.map((x) => x.kind), ['final', 'final', 'final', 'capture', 'capture', 'capture', 'capture', 'capture', 'cloud']);
  assert.deepEqual(byFile.get('final.agent.16k.wav'), { ...byFile.get('final.agent.16k.wav'), track: null, speaker: 'agent', rate: 16000, channels: 1 });
  assert.deepEqual(byFile.get(`${A.streamSid}.outbound.16k.wav`), {
    ...byFile.get(`${A.streamSid}.outbound.16k.wav`), kind: 'capture', track: 'outbound', speaker: 'customer', stream_sid: A.streamSid, rate: 16000,
  });
  assert.equal(byFile.get(`${A.streamSid}.stereo.8k.wav`)?.channels, 2);
  assert.equal(byFile.get(`cloud.${A.recordingSid}.wav`)?.recording_sid, A.recordingSid);
  for (const x of d.artifacts) {
    assert.equal(x.bytes, fs.statSync(path.join(rig.gw.dir, A.callSid, x.file)).size);
    assert.ok(Math.abs(x.duration_s! - d.duration_s!) < 1.5, `${x.file} lasts ${x.duration_s} s`);
    const whole = await rig.gw.app.inject({ url: local(x.url) });
    assert.deepEqual([whole.statusCode, whole.headers['content-type'], whole.rawPayload.length], [200, 'audio/wav', x.bytes], x.file);
    const part = await rig.gw.app.inject({ url: local(x.url), headers: { range: 'bytes=0-3' } });
    assert.deepEqual([part.statusCode, part.body], [206, 'RIFF'], x.file);
  }
});

test('auth: 401 JSON without a key or with a wrong one; ?api_key= works', async () => {
  for (const headers of [{}, { 'x-api-key': 'not-the-key-0123456789' }] as Array<Record<string, string>>) {
    const res = await api(rig.gw, 'GET', '/api/calls', headers);
    assert.equal(res.statusCode, 401);
    assert.match(res.json<{ error: string }>().error, /API key/);
  }
  const res = await api(rig.gw, 'DELETE', `/api/calls/${A.callSid}`, {});
  assert.equal(res.statusCode, 401);
  assert.equal((await api(rig.gw, 'GET', `/api/calls/${A.callSid}?api_key=test-api-key-0123456789`, {})).statusCode, 200);
});

test('an unknown call is 404 JSON for GET and DELETE', async () => {
  for (const method of ['GET', 'DELETE'] as const) {
    const res = await api(rig.gw, method, `/api/calls/${fakeSid('CA', 0xdead)}`);
    assert.equal(res.statusCode, 404);
    assert.match(res.json<{ error: string }>().error, /Unknown call/);
  }
});

test('delete is refused while a capture is open or a job runs, then goes through', async () => {
  const { store, queue } = rig.gw.app.gateway;
  const client = await connectStream(rig.gw);
  client.start();
  for (let i = 0; i < 10; i++) client.media('inbound', i * 20, new Uint8Array(160).fill(0x7f));
  await waitFor('the stream row', () => store.streams.get(client.streamSid));
  const open = await api(rig.gw, 'DELETE', `/api/calls/${client.callSid}`);
  assert.equal(open.statusCode, 409);
  assert.match(open.json<{ error: string }>().error, /live capture/);
  client.stop();
  await streamClosed(rig.gw, client.streamSid);
  await quiet(rig.gw, client.callSid);

  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  queue.register('test-hold', () => held);
  await queue.enqueue('test-hold', `test-hold:${client.callSid}`, {});
  await waitFor('the job to run', async () => (await store.jobs.getByKey(`test-hold:${client.callSid}`))?.state === 'running');
  const running = await api(rig.gw, 'DELETE', `/api/calls/${client.callSid}`);
  assert.equal(running.statusCode, 409);
  assert.match(running.json<{ error: string }>().error, /job/);
  assert.ok(fs.existsSync(path.join(rig.gw.dir, client.callSid)), 'nothing was removed');
  release();
  await quiet(rig.gw, client.callSid);

  const files = filesOf(client.callSid);
  assert.ok(files >= 5, 'the five capture files at least');
  const done = await api(rig.gw, 'DELETE', `/api/calls/${client.callSid}`);
  assert.equal(done.statusCode, 200, done.body);
  assert.deepEqual(done.json(), { deleted: true, call_sid: client.callSid, files_removed: files, cloud_deleted: [] });
  assert.equal(await store.jobs.getByKey(`test-hold:${client.callSid}`), undefined);
});

async function rowsOf(call: FullCall) {
  const k = rig.gw.app.gateway.store.knex;
  const count = async (table: string, where: Record<string, string>) => Number((await k(table).where(where).count({ n: '*' }))[0]?.n);
  return {
    calls: await count('calls', { call_sid: call.callSid }),
    streams: await count('streams', { call_sid: call.callSid }),
    captures: await count('captures', { call_sid: call.callSid }),
    recordings: await count('recordings', { call_sid: call.callSid }),
    recording_events: await count('recording_events', { recording_sid: call.recordingSid }),
    reconciliations: await count('reconciliations', { call_sid: call.callSid }),
    transcript_lines: await count('transcript_lines', { call_sid: call.callSid }),
    recording_transcripts: await count('recording_transcripts', { recording_sid: call.recordingSid }),
    provider_events: await count('provider_events', { call_sid: call.callSid }),
    jobs: (await rig.gw.app.gateway.store.calls.relatedJobIds(call.callSid)).length,
  };
}

test('delete without cloud removes the folder and every row, keeps the cloud copy, and logs it', async () => {
  const rows = await rowsOf(B);
  // Later post-call work (transcription) may add jobs; the sweep, download and reconciliation are there.
  assert.deepEqual({ ...rows, jobs: rows.jobs >= 3 }, { calls: 1, streams: 1, captures: 5, recordings: 1, recording_events: 1, reconciliations: 1, transcript_lines: 0, recording_transcripts: 0, provider_events: 0, jobs: true });
  const files = filesOf(B.callSid);
  assert.ok(files >= 10, 'capture, cloud and final files and the report');
  const res = await api(rig.gw, 'DELETE', `/api/calls/${B.callSid}?cloud=false`);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { deleted: true, call_sid: B.callSid, files_removed: files, cloud_deleted: [] });
  assert.deepEqual(await rowsOf(B), { calls: 0, streams: 0, captures: 0, recordings: 0, recording_events: 0, reconciliations: 0, transcript_lines: 0, recording_transcripts: 0, provider_events: 0, jobs: 0 });
  assert.equal(fs.existsSync(path.join(rig.gw.dir, B.callSid)), false);
  assert.ok(fs.existsSync(path.join(rig.gw.dir, A.callSid, 'final.stereo.wav')), 'other calls are untouched');
  assert.deepEqual(rig.fake.deleted, []);
  assert.equal((await api(rig.gw, 'GET', `/api/calls/${B.callSid}`)).statusCode, 404);

  const line = rig.gw.logs.find((l) => l.msg === 'call deleted' && l.callSid === B.callSid);
  assert.ok(line, 'the delete is logged');
  assert.equal(line.level, 30);
  assert.equal(line.filesRemoved, files);
  assert.deepEqual(line.rowsRemoved, rows);
  assert.doesNotMatch(JSON.stringify(line), /\+1555|client:agent/, 'no phone numbers');
});

test('delete with cloud=true deletes the recording at Twilio too; a Twilio error keeps everything', async () => {
  rig.fake.faults.push({ kind: 'delete', recordingSid: C.recordingSid, times: 1, fault: { type: 'status', status: 500 } });
  const failed = await api(rig.gw, 'DELETE', `/api/calls/${C.callSid}?cloud=true`);
  assert.equal(failed.statusCode, 502);
  assert.match(failed.json<{ error: string }>().error, new RegExp(`${C.recordingSid}.*Nothing local was removed`));
  assert.equal((await api(rig.gw, 'GET', `/api/calls/${C.callSid}`)).statusCode, 200);

  const files = filesOf(C.callSid);
  const res = await api(rig.gw, 'DELETE', `/api/calls/${C.callSid}?cloud=true`);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { deleted: true, call_sid: C.callSid, files_removed: files, cloud_deleted: [C.recordingSid] });
  assert.equal(fs.existsSync(path.join(rig.gw.dir, C.callSid)), false);
  assert.deepEqual(rig.fake.deleted.map((d) => d.sid), [C.recordingSid]);
  assert.ok(rig.fake.requests.some((r) => r.method === 'DELETE' && r.path.endsWith(`/Recordings/${C.recordingSid}.json`)));
  assert.deepEqual(rig.gw.logs.find((l) => l.msg === 'call deleted' && l.callSid === C.callSid)?.cloudDeleted, [C.recordingSid]);
});

test('cloud=true without Twilio credentials is 503 and removes nothing', async () => {
  const gw = await startGateway({ CLOUD_RECORDING: 'false', TWILIO_ACCOUNT_SID: '' });
  try {
    const client = await connectStream(gw);
    client.start();
    client.media('outbound', 0, new Uint8Array(160).fill(0x7f));
    client.stop();
    await streamClosed(gw, client.streamSid);
    await waitFor('the local-only reconciliation', () => gw.app.gateway.store.reconciliations.get(client.callSid));
    await quiet(gw, client.callSid);
    const refused = await api(gw, 'DELETE', `/api/calls/${client.callSid}?cloud=true`);
    assert.equal(refused.statusCode, 503);
    assert.match(refused.json<{ error: string }>().error, /TWILIO_ACCOUNT_SID/);
    assert.ok(fs.existsSync(path.join(gw.dir, client.callSid, 'final.stereo.wav')));
    const files = fs.readdirSync(path.join(gw.dir, client.callSid)).length;
    const ok = await api(gw, 'DELETE', `/api/calls/${client.callSid}`);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { deleted: true, call_sid: client.callSid, files_removed: files, cloud_deleted: [] });
  } finally {
    await gw.close();
  }
});

test('the routes and their schemas are in the OpenAPI document', async () => {
  const res = await rig.gw.app.inject({ url: '/docs/json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json<{ paths: Record<string, Record<string, { tags?: string[]; parameters?: Array<{ name: string; schema?: { pattern?: string } }> }>> }>();
  assert.deepEqual(doc.paths['/api/calls']?.get?.tags, ['calls']);
  assert.ok(doc.paths['/api/calls']?.get?.parameters?.some((p) => p.name === 'date_from'));
  const one = doc.paths['/api/calls/{callSid}'];
  assert.ok(one?.get && one.delete);
  assert.equal(one.delete.parameters?.find((p) => p.name === 'callSid')?.schema?.pattern, CALL_ID_PATTERN);
});
