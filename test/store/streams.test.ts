import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/postgres.js';
import type { StreamRow } from '../../src/store/streams.js';
import { aCall, aStream, tempStore } from './helpers.js';

forEachEngine('insert then get round-trips, JSON tracks and null fields included', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  const expected: StreamRow = {
    streamSid: 'MZ00000000000000000000000000000001',
    callSid: 'CA00000000000000000000000000000001',
    accountSid: 'AC00000000000000000000000000000001',
    tracks: ['inbound', 'outbound'],
    instanceId: 'gw-a',
    state: 'open',
    startedAt: '2025-01-02T03:04:06.000Z',
    endedAt: null,
    closeReason: null,
    events: null,
    storedAt: null,
  };
  assert.deepEqual(await store.streams.insert(aStream()), expected);
  assert.deepEqual(await store.streams.get(expected.streamSid), expected);
  assert.equal(await store.streams.get('MZ-none'), undefined);

  const one = await store.streams.insert(aStream({ streamSid: 'MZ2', accountSid: null, tracks: ['inbound'] }));
  assert.deepEqual(await store.streams.get('MZ2'), one);
  assert.equal(one.accountSid, null);
  assert.deepEqual(one.tracks, ['inbound']);
});

forEachEngine('close records state, end, reason and event counters', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  await store.streams.insert(aStream());
  const events = { malformed_json: 0, late_frames: 3, gaps_filled: 12 };
  const ok = await store.streams.close(aStream().streamSid, {
    state: 'closed',
    endedAt: '2025-01-02T03:09:00.000Z',
    closeReason: 'stop',
    events,
  });
  assert.equal(ok, true);
  const row = await store.streams.get(aStream().streamSid);
  assert.equal(row?.state, 'closed');
  assert.equal(row?.endedAt, '2025-01-02T03:09:00.000Z');
  assert.equal(row?.closeReason, 'stop');
  assert.deepEqual(row?.events, events);

  // The first close wins: a later close (say, crash repair racing a late stop) changes nothing.
  assert.equal(await store.streams.close(aStream().streamSid, { state: 'interrupted', closeReason: null, events: null }), false);
  const again = await store.streams.get(aStream().streamSid);
  assert.equal(again?.state, 'closed');
  assert.equal(again?.closeReason, 'stop');
  assert.deepEqual(again?.events, events);

  await store.streams.setEvents(aStream().streamSid, { binary_frame: 2 });
  assert.deepEqual((await store.streams.get(aStream().streamSid))?.events, { binary_frame: 2 });

  assert.equal(await store.streams.close('MZ-none', { state: 'closed', closeReason: null, events: null }), false);
});

forEachEngine('listByCall returns the call\'s streams oldest first', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  await store.calls.upsert(aCall({ callSid: 'CA-other' }));
  await store.streams.insert(aStream({ streamSid: 'MZb', startedAt: '2025-01-02T03:05:00.000Z' }));
  await store.streams.insert(aStream({ streamSid: 'MZa', startedAt: '2025-01-02T03:04:00.000Z' }));
  await store.streams.insert(aStream({ streamSid: 'MZc', callSid: 'CA-other' }));
  const sids = (await store.streams.listByCall(aCall().callSid)).map((s) => s.streamSid);
  assert.deepEqual(sids, ['MZa', 'MZb']);
  assert.deepEqual(await store.streams.listByCall('CA-none'), []);
});

forEachEngine('listOpen filters by instance id and state', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  await store.streams.insert(aStream({ streamSid: 'MZ1', instanceId: 'gw-a' }));
  await store.streams.insert(aStream({ streamSid: 'MZ2', instanceId: 'gw-a' }));
  await store.streams.insert(aStream({ streamSid: 'MZ3', instanceId: 'gw-b' }));
  await store.streams.insert(aStream({ streamSid: 'MZ4', instanceId: 'gw-a' }));
  await store.streams.close('MZ2', { state: 'closed', closeReason: 'stop', events: {} });
  await store.streams.close('MZ4', { state: 'interrupted', closeReason: 'crash', events: null });

  assert.deepEqual((await store.streams.listOpen('gw-a')).map((s) => s.streamSid), ['MZ1']);
  assert.deepEqual((await store.streams.listOpen('gw-b')).map((s) => s.streamSid), ['MZ3']);
  assert.deepEqual(await store.streams.listOpen('gw-c'), []);
  assert.deepEqual((await store.streams.get('MZ2'))?.events, {});
});

forEachEngine('finished streams stay unstored until marked, per instance; open ones are never listed', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  await store.streams.insert(aStream());
  await store.streams.insert(aStream({ streamSid: 'MZ00000000000000000000000000000002' }));
  await store.streams.insert(aStream({ streamSid: 'MZ00000000000000000000000000000003', instanceId: 'gw-b' }));
  assert.deepEqual(await store.streams.listUnstored('gw-a'), []);
  for (const sid of ['MZ00000000000000000000000000000001', 'MZ00000000000000000000000000000002', 'MZ00000000000000000000000000000003']) {
    await store.streams.close(sid, { state: 'closed', closeReason: 'stop' });
  }
  assert.deepEqual((await store.streams.listUnstored('gw-a')).map((s) => s.streamSid), ['MZ00000000000000000000000000000001', 'MZ00000000000000000000000000000002']);
  await store.streams.markStored('MZ00000000000000000000000000000001');
  assert.deepEqual((await store.streams.listUnstored('gw-a')).map((s) => s.streamSid), ['MZ00000000000000000000000000000002']);
  assert.match((await store.streams.get('MZ00000000000000000000000000000001'))!.storedAt ?? '', /^\d{4}-/);
});
