import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/postgres.js';
import { tempStore } from './helpers.js';

forEachEngine('get, set and overwrite', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  assert.equal(await store.settings.get('k'), undefined);
  await store.settings.set('k', 'v1');
  assert.equal(await store.settings.get('k'), 'v1');
  await store.settings.set('k', '');
  assert.equal(await store.settings.get('k'), '');
  await store.settings.set('json', '{"a":[1,2]}');
  assert.equal(await store.settings.get('json'), '{"a":[1,2]}');
});

forEachEngine('getOrCreate returns an existing value without replacing it', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  await store.settings.set('secret', 'kept');
  assert.equal(await store.settings.getOrCreate('secret', () => 'new'), 'kept');
});

forEachEngine('getOrCreate: 20 concurrent callers all get the same single value', async (t, engine) => {
  const { store } = await tempStore(t, engine);
  let made = 0;
  const values = await Promise.all(
    Array.from({ length: 20 }, () => store.settings.getOrCreate('secret', () => `v${++made}`)),
  );
  assert.equal(new Set(values).size, 1);
  assert.equal(await store.settings.get('secret'), values[0]);
});

forEachEngine('getOrCreate is race-safe across two connection pools on one database', async (t, engine) => {
  const { store, another } = await tempStore(t, engine);
  const other = await another(); // closed by tempStore's hook, before the database goes
  let made = 0;
  const calls = Array.from({ length: 20 }, (_, i) =>
    (i % 2 ? store : other).settings.getOrCreate('instance-secret', () => `v${++made}`),
  );
  const values = await Promise.all(calls);
  assert.equal(new Set(values).size, 1);
  assert.ok(made >= 1);
});
