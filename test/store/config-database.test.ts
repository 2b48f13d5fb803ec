// DATABASE_URL: which store the gateway opens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { TWILIO_AUTH_TOKEN: 'tok', PUBLIC_URL: 'https://gw.example.com', CLOUD_RECORDING: 'false' };

test('without DATABASE_URL the store is the SQLite file', () => {
  const c = loadConfig(base);
  assert.equal(c.databaseUrl, undefined);
  assert.match(c.databasePath, /callvault\.sqlite$/);
});

test('DATABASE_URL takes postgres:// and postgresql:// URLs, sockets included', () => {
  for (const url of ['postgres://cv:s3cret@db.internal:5432/callvault', 'postgresql://db/callvault?sslmode=require', 'postgres:///callvault?host=/var/run/postgresql']) {
    assert.equal(loadConfig({ ...base, DATABASE_URL: url }).databaseUrl, url);
  }
});

test('any other DATABASE_URL is a clear startup error that does not echo it', () => {
  for (const url of ['mysql://cv:s3cret@db/callvault', 'sqlite:///data/cv.sqlite', '/data/cv.sqlite', 'postgres://cv:s3 cret@db/x']) {
    assert.throws(() => loadConfig({ ...base, DATABASE_URL: url }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /DATABASE_URL must be a Postgres URL: postgres:\/\//);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    });
  }
});

test('DATABASE_URL and DATABASE_PATH together are ambiguous', () => {
  assert.throws(() => loadConfig({ ...base, DATABASE_URL: 'postgres://db/cv', DATABASE_PATH: '/data/cv.sqlite' }), /DATABASE_URL and DATABASE_PATH are both set/);
});
