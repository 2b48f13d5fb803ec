import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../../src/store/db.js';
import { tempStore } from './helpers.js';

test('get, set and overwrite', async (t) => {
  const { store } = await tempStore(t);
  assert.equal(await store.settings.get('k'), undefined);
  await store.settings.set('k', 'v1');
  assert.equal(await store.settings.get('k'), 'v1');
  await store.settings.set('k', '');
  assert.equal(await store.settings.get('k'), '');
  await store.settings.set('json', '{"a":[1,2]}');
  assert.equal(await store.settings.get('json'), '{"a":[1,2]}');
});

test('getOrCreate returns an existing value without replacing it', async (t) => {
  const { store } = await tempStore(t);
  await store.settings.set('secret', 'kept');
  assert.equal(await store.settings.getOrCreate('secret', () => 'new'), 'kept');
});

test('getOrCreate: 20 concurrent callers all get the same single value', async (t) => {
  const { store } = await tempStore(t);
  let made = 0;
  const values = await Promise.all(
    Array.from({ length: 20 }, () => store.settings.getOrCreate('secret', () => `v${++made}`)),
  );
  assert.equal(new Set(values).size, 1);
  assert.equal(await store.settings.get('secret'), values[0]);
});

test('getOrCreate is race-safe across two connections to the same file', async (t) => {
  const { store, path } = await tempStore(t);
  const other = await openStore({ databasePath: path });
  try {
    let made = 0;
    const calls = Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? store : other).settings.getOrCreate('instance-secret', () => `v${++made}`),
    );
    const values = await Promise.all(calls);
    assert.equal(new Set(values).size, 1);
    assert.ok(made >= 1);
  } finally {
    await other.close(); // before tempStore's hook removes the folder
  }
});
