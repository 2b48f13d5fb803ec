// The repositories the other store tests do not cover on their own (recordings, reconciliations,
// transcripts, provider events, the queries across a call's tables), on both engines: where
// SQLite and Postgres differ (upsert races, count types, LIKE, row locks) they must agree.
import assert from 'node:assert/strict';
import type { RecordingFacts } from '../../src/store/recordings.js';
import { forEachEngine } from '../helpers/postgres.js';
import { aCall, aStream, tempStore } from './helpers.js';

const CALL = aCall().callSid;
const REC = 'RE00000000000000000000000000000001';
const facts = (providerStatus: string, over: Partial<RecordingFacts> = {}): RecordingFacts => ({
  recordingSid: REC, callSid: CALL, accountSid: 'AC1', providerStatus, mediaPath: `/2010-04-01/Accounts/AC1/Recordings/${REC}`, ...over,
});

forEachEngine('recording callbacks racing on two connection pools: one row, the status only moves forward', async (t, engine) => {
  const { store, another } = await tempStore(t, engine);
  const other = await another();
  await store.calls.upsert(aCall());
  const statuses = ['in-progress', 'completed', 'in-progress', 'processing', 'completed', 'in-progress'];
  await Promise.all(statuses.map((s, i) => (i % 2 ? other : store).recordings.upsert(facts(s, i === 1 ? { durationS: 12.5, channels: 2 } : {}))));
  const rows = await store.recordings.listByCall(CALL);
  assert.equal(rows.length, 1);
  assert.deepEqual([rows[0]?.providerStatus, rows[0]?.state, rows[0]?.durationS, rows[0]?.channels], ['completed', 'pending', 12.5, 2]);
  const later = await store.recordings.upsert(facts('in-progress'));
  assert.equal(later.providerStatus, 'completed', 'a late in-progress does not undo completed');

  assert.equal(await store.recordings.addEvent(REC, 'completed', { a: '1' }), true);
  assert.equal(await other.recordings.addEvent(REC, 'completed', { a: '2' }), false, 'a retried callback changes nothing');
  assert.deepEqual((await store.recordings.listEvents(REC)).map((e) => e.params), [{ a: '1' }]);

  const big = 2 ** 33 + 1; // bigint column: a string from Postgres, a number here
  await store.recordings.markReady(REC, { filePath: 'x.wav', fileBytes: big, sha256: 'ab', fileChannels: 2, fileSampleRate: 8000, fileDurationS: 12.5 });
  const ready = await store.recordings.get(REC);
  assert.deepEqual([ready?.state, ready?.fileBytes, ready?.fileDurationS], ['ready', big, 12.5]);
});

forEachEngine('search filters, pages and counts; facts are batched per page', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  for (let i = 0; i < 5; i++) {
    await store.calls.upsert(aCall({ callSid: `CA${i}`, status: i % 2 ? 'completed' : 'no-answer', at: `2025-01-0${i + 1}T00:00:00.000Z` }));
  }
  const page = await store.calls.search({ status: 'no-answer', limit: 2, createdFrom: '2025-01-01T00:00:00.000Z', createdBefore: '2025-01-05T00:00:00.000Z' });
  assert.deepEqual([page.total, page.rows.map((r) => r.callSid)], [2, ['CA2', 'CA0']]);
  assert.equal((await store.calls.search({})).total, 5);
  assert.equal(typeof (await store.calls.search({})).total, 'number');

  await store.streams.insert(aStream({ callSid: 'CA1' }));
  const [mz] = [aStream().streamSid];
  const caps = await store.captures.insertMany([
    { streamSid: mz, callSid: 'CA1', kind: 'track', track: 'inbound', sampleRate: 8000, channels: 1, path: 'a.wav', instanceId: 'gw-a' },
    { streamSid: mz, callSid: 'CA1', kind: 'track', track: 'outbound', sampleRate: 8000, channels: 1, path: 'b.wav', instanceId: 'gw-a' },
  ]);
  await store.captures.finish(caps[0]!.id, { state: 'complete', samples: 8000, durationS: 1.25, stats: null });
  await store.captures.finish(caps[1]!.id, { state: 'complete', samples: 8000, durationS: 2.5, stats: null });
  await store.recordings.upsert(facts('completed', { callSid: 'CA1', durationS: 3 }));
  await store.reconciliations.save({ callSid: 'CA1', verdict: 'partial', streamSid: mz, recordingSid: REC, report: { timeline: { duration_s: 9 } } });
  await store.reconciliations.save({ callSid: 'CA1', verdict: 'match', streamSid: mz, recordingSid: REC, report: { timeline: { duration_s: 3 } } });
  const f = await store.calls.facts(['CA1', 'CA2']);
  assert.deepEqual(f.get('CA1'), {
    recordings: [{ state: 'pending', failureCode: null, failureReason: null, durationS: 3 }], verdict: 'match', reconciledS: 3, capturedS: 2.5,
  });
  assert.deepEqual(f.get('CA2'), { recordings: [], verdict: null, reconciledS: null, capturedS: null });
  assert.equal((await store.reconciliations.get('CA1'))?.verdict, 'match');
});

forEachEngine('deleteCall refuses while a job of the call runs, then removes every row of it', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  await store.calls.upsert(aCall({ callSid: 'CA-other' }));
  await store.streams.insert(aStream());
  await store.recordings.upsert(facts('completed'));
  await store.transcripts.replace(CALL, 'post_call', [{ speaker: 'agent', start: 0.5, end: 1.25, text: 'hello' }]);
  await store.providerEvents.add({ provider: 'vonage', eventKey: 'e1', callSid: CALL, kind: 'status', payload: { s: 1 } });
  assert.equal(await store.providerEvents.add({ provider: 'vonage', eventKey: 'e1', callSid: CALL, kind: 'status', payload: {} }), false);
  const mine = await store.jobs.enqueue({ kind: 'download', key: `download:${REC}`, payload: {}, runAt: 0, maxAttempts: 3 });
  // Case matters: a call SID that differs only in case is another call.
  const notMine = await store.jobs.enqueue({ kind: 'sweep', key: `sweep:${CALL.toLowerCase()}`, payload: {}, runAt: 0, maxAttempts: 3 });
  assert.deepEqual(await store.calls.relatedJobIds(CALL), [mine.job.id]);

  assert.deepEqual(await store.calls.deleteCall(CALL), { outcome: 'busy', reason: 'a live capture of this call is still open' });
  await store.streams.close(aStream().streamSid, { state: 'closed', closeReason: 'stop' });
  await store.jobs.claim('gw-a', 1, 60_000, ['download']);
  assert.deepEqual(await store.calls.deleteCall(CALL), { outcome: 'busy', reason: 'a job for this call is running' });
  await store.jobs.succeed(mine.job.id, 'gw-a', null);

  const out = await store.calls.deleteCall(CALL);
  assert.equal(out.outcome, 'deleted');
  assert.deepEqual(out.outcome === 'deleted' ? out.rows : {}, {
    captures: 0, streams: 1, recording_events: 0, recordings: 1, reconciliations: 0, transcript_lines: 1,
    recording_transcripts: 0, jobs: 1, provider_events: 1, calls: 1,
  });
  assert.deepEqual(await store.calls.deleteCall(CALL), { outcome: 'not_found' });
  assert.ok(await store.calls.get('CA-other'));
  assert.ok(await store.jobs.get(notMine.job.id));
});

forEachEngine('transcripts: replace is whole, lines come back in timeline order, the post-call one is preferred', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  assert.equal(await store.transcripts.preferred(CALL), null);
  await store.transcripts.append(CALL, 'live', [{ speaker: 'customer', start: 2, end: 3, text: 'b' }, { speaker: 'agent', start: 0.125, end: 1, text: 'a' }]);
  assert.deepEqual((await store.transcripts.preferred(CALL))?.lines.map((l) => [l.text, l.start]), [['a', 0.125], ['b', 2]]);
  const many = Array.from({ length: 250 }, (_, i) => ({ speaker: 'agent' as const, start: i / 10, end: i / 10 + 0.05, text: `l${i}` }));
  await store.transcripts.replace(CALL, 'post_call', many);
  await store.transcripts.replace(CALL, 'post_call', many.slice(0, 120));
  const preferred = await store.transcripts.preferred(CALL);
  assert.deepEqual([preferred?.source, preferred?.lines.length, preferred?.lines[119]?.start], ['post_call', 120, 11.9]);
  await store.transcripts.saveRecording(REC, 'whisper-1', 'one');
  await store.transcripts.saveRecording(REC, 'whisper-2', 'two');
  assert.deepEqual([(await store.transcripts.getRecording(REC))?.model, (await store.transcripts.getRecording(REC))?.text], ['whisper-2', 'two']);
});
