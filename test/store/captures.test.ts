import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { NewCapture } from '../../src/store/captures.js';
import { forEachEngine, type Engine } from '../helpers/postgres.js';
import { aCall, aStream, tempStore, VIOLATION } from './helpers.js';

const CALL = 'CA00000000000000000000000000000001';

function filesFor(streamSid: string, instanceId = 'gw-a'): NewCapture[] {
  const base = { streamSid, callSid: CALL, instanceId, createdAt: '2025-01-02T03:04:07.000Z' };
  return [
    { ...base, kind: 'track', track: 'inbound', sampleRate: 8000, channels: 1, path: `${CALL}/${streamSid}.inbound.8k.wav` },
    { ...base, kind: 'track', track: 'outbound', sampleRate: 16000, channels: 1, path: `${CALL}/${streamSid}.outbound.16k.wav` },
    { ...base, kind: 'stereo', track: null, sampleRate: 8000, channels: 2, path: `${CALL}/${streamSid}.stereo.8k.wav` },
  ];
}

async function withStreams(t: TestContext, engine: Engine, ...streams: [sid: string, instance: string][]) {
  const { store } = await tempStore(t, engine);
  await store.calls.upsert(aCall());
  for (const [streamSid, instanceId] of streams) await store.streams.insert(aStream({ streamSid, instanceId }));
  return store;
}

forEachEngine('insertMany returns rows with ids in input order, and they round-trip', async (t, engine) => {
  const store = await withStreams(t, engine, ['MZ1', 'gw-a']);
  const rows = await store.captures.insertMany(filesFor('MZ1'));
  assert.equal(rows.length, 3);
  assert.equal(new Set(rows.map((r) => r.id)).size, 3);
  assert.deepEqual(rows.map((r) => r.path), filesFor('MZ1').map((f) => f.path));
  assert.deepEqual(rows[2], {
    id: rows[2]?.id,
    streamSid: 'MZ1',
    callSid: CALL,
    kind: 'stereo',
    track: null,
    sampleRate: 8000,
    channels: 2,
    path: `${CALL}/MZ1.stereo.8k.wav`,
    state: 'recording',
    samples: 0,
    durationS: 0,
    stats: null,
    instanceId: 'gw-a',
    createdAt: '2025-01-02T03:04:07.000Z',
    updatedAt: '2025-01-02T03:04:07.000Z',
  });
  assert.deepEqual(await store.captures.listByStream('MZ1'), rows);
  assert.deepEqual(await store.captures.insertMany([]), []);
});

forEachEngine('insertMany is all or nothing', async (t, engine) => {
  const store = await withStreams(t, engine, ['MZ1', 'gw-a']);
  const files = filesFor('MZ1');
  const dup = { ...files[0]!, track: 'outbound' as const }; // same path: unique violation
  await assert.rejects(store.captures.insertMany([...files, dup]), VIOLATION.unique);
  assert.deepEqual(await store.captures.listByStream('MZ1'), []);
});

forEachEngine('finish records state, samples, duration and JSON stats exactly', async (t, engine) => {
  const store = await withStreams(t, engine, ['MZ1', 'gw-a']);
  const [inbound, outbound] = await store.captures.insertMany(filesFor('MZ1'));
  assert.ok(inbound && outbound);
  const stats = { frames: 3000, gaps: 2, gap_samples: 320, late_frames: 1 };
  // Past 2^32 to catch a 32-bit column; duration with a long fraction to catch float32.
  const samples = 2 ** 33 + 7;
  assert.equal(
    await store.captures.finish(inbound.id, { state: 'complete', samples, durationS: 60.123456789, stats }),
    true,
  );
  await store.captures.finish(outbound.id, { state: 'interrupted', samples: 1, durationS: 0.0000625, stats: null });

  const [a, b] = await store.captures.listByStream('MZ1');
  assert.equal(a?.state, 'complete');
  assert.equal(a?.samples, samples);
  assert.equal(a?.durationS, 60.123456789);
  assert.deepEqual(a?.stats, stats);
  assert.ok((a?.updatedAt ?? '') > (a?.createdAt ?? ''));
  assert.equal(b?.state, 'interrupted');
  assert.equal(b?.durationS, 0.0000625);
  assert.equal(b?.stats, null);
  assert.equal(await store.captures.finish(9999, { state: 'complete', samples: 0, durationS: 0, stats: null }), false);
});

forEachEngine('listByStream and listByCall group captures', async (t, engine) => {
  const store = await withStreams(t, engine, ['MZ1', 'gw-a'], ['MZ2', 'gw-a']);
  const first = await store.captures.insertMany(filesFor('MZ1'));
  const second = await store.captures.insertMany(filesFor('MZ2'));
  assert.deepEqual(await store.captures.listByStream('MZ2'), second);
  assert.deepEqual(await store.captures.listByCall(CALL), [...first, ...second]);
  assert.deepEqual(await store.captures.listByCall('CA-none'), []);
});

forEachEngine('listRecording filters by instance id and state', async (t, engine) => {
  const store = await withStreams(t, engine, ['MZ1', 'gw-a'], ['MZ2', 'gw-b']);
  const mine = await store.captures.insertMany(filesFor('MZ1', 'gw-a'));
  const theirs = await store.captures.insertMany(filesFor('MZ2', 'gw-b'));
  await store.captures.finish(mine[0]!.id, { state: 'complete', samples: 8000, durationS: 1, stats: null });
  await store.captures.finish(mine[1]!.id, { state: 'interrupted', samples: 80, durationS: 0.01, stats: null });

  assert.deepEqual((await store.captures.listRecording('gw-a')).map((c) => c.id), [mine[2]!.id]);
  assert.deepEqual((await store.captures.listRecording('gw-b')).map((c) => c.id), theirs.map((c) => c.id));
  assert.deepEqual(await store.captures.listRecording('gw-c'), []);
});
