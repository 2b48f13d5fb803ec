import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/postgres.js';
import { aCall, tempStore } from './helpers.js';

forEachEngine('upsert then get round-trips every field, nulls included', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  const inserted = await store.calls.upsert(aCall());
  const expected = {
    callSid: 'CA00000000000000000000000000000001',
    provider: 'twilio',
    providerCallId: null,
    accountSid: 'AC00000000000000000000000000000001',
    direction: 'inbound',
    fromNumber: '+15550100001',
    toNumber: '+15550100002',
    agentTrack: 'outbound',
    customerTrack: 'inbound',
    status: 'ringing',
    createdAt: '2025-01-02T03:04:05.006Z',
    updatedAt: '2025-01-02T03:04:05.006Z',
    endedAt: null,
  };
  assert.deepEqual(inserted, expected);
  assert.deepEqual(await store.calls.get(expected.callSid), expected);

  const bare = await store.calls.upsert({
    callSid: 'CA2',
    direction: 'outbound',
    agentTrack: 'inbound',
    customerTrack: 'outbound',
    status: 'queued',
  });
  assert.equal(bare.accountSid, null);
  assert.equal(bare.fromNumber, null);
  assert.equal(bare.toNumber, null);
  assert.match(bare.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(await store.calls.get('CA2'), bare);
});

forEachEngine('get of an unknown call is undefined', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  assert.equal(await store.calls.get('CA-none'), undefined);
});

forEachEngine('a repeated upsert keeps direction and tracks, moves only status and updatedAt', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  const again = await store.calls.upsert(
    aCall({
      direction: 'outbound',
      agentTrack: 'inbound',
      customerTrack: 'outbound',
      fromNumber: '+15550199999',
      status: 'in-progress',
      at: '2025-01-02T03:05:00.000Z',
    }),
  );
  assert.equal(again.direction, 'inbound');
  assert.equal(again.agentTrack, 'outbound');
  assert.equal(again.customerTrack, 'inbound');
  assert.equal(again.fromNumber, '+15550100001');
  assert.equal(again.status, 'in-progress');
  assert.equal(again.createdAt, '2025-01-02T03:04:05.006Z');
  assert.equal(again.updatedAt, '2025-01-02T03:05:00.000Z');
  assert.deepEqual(await store.calls.get(again.callSid), again);
});

forEachEngine('setStatus updates status, sets endedAt only when given', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  const sid = aCall().callSid;
  await store.calls.upsert(aCall());

  assert.equal(await store.calls.setStatus(sid, 'in-progress'), true);
  let row = await store.calls.get(sid);
  assert.equal(row?.status, 'in-progress');
  assert.equal(row?.endedAt, null);
  assert.ok((row?.updatedAt ?? '') > '2025-01-02T03:04:05.006Z');

  assert.equal(await store.calls.setStatus(sid, 'completed', '2025-01-02T03:10:00.000Z'), true);
  row = await store.calls.get(sid);
  assert.equal(row?.status, 'completed');
  assert.equal(row?.endedAt, '2025-01-02T03:10:00.000Z');
  assert.equal(row?.direction, 'inbound');

  assert.equal(await store.calls.setStatus('CA-none', 'completed'), false);
});

forEachEngine('list is newest first and pages with limit/offset', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  for (let i = 0; i < 5; i++) {
    await store.calls.upsert(aCall({ callSid: `CA${i}`, at: `2025-01-0${i + 1}T00:00:00.000Z` }));
  }
  const sids = async (limit: number, offset: number) =>
    (await store.calls.list({ limit, offset })).map((c) => c.callSid);
  assert.deepEqual(await sids(2, 0), ['CA4', 'CA3']);
  assert.deepEqual(await sids(2, 2), ['CA2', 'CA1']);
  assert.deepEqual(await sids(2, 4), ['CA0']);
  assert.deepEqual(await sids(2, 6), []);
  assert.equal((await store.calls.list()).length, 5);
});
