import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { GENERATED_KEY_FILE } from '../../src/api/auth.js';
import { API_KEY, startGateway, tempDir } from '../helpers/gateway.js';

test('without API_KEYS the first start creates a key, says once where it is, and never logs it', async () => {
  const dir = tempDir();
  const first = await startGateway({ API_KEYS: '' }, dir);
  const file = path.join(dir, GENERATED_KEY_FILE);
  const key = fs.readFileSync(file, 'utf8').trim();
  try {
    assert.match(key, /^cv_[A-Za-z0-9_-]{32}$/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'only the gateway user can read it');
    const told = first.logs.filter((l) => l.file === file);
    assert.equal(told.length, 1);
    assert.ok(!JSON.stringify(first.logs).includes(key), 'the key itself is never logged');
    const ok = await first.app.inject({ method: 'GET', url: '/api/calls', headers: { 'x-api-key': key } });
    assert.notEqual(ok.statusCode, 401);
  } finally {
    await first.close();
  }
  const second = await startGateway({ API_KEYS: '' }, dir);
  try {
    assert.equal(second.logs.filter((l) => l.file === file).length, 0, 'told once, not at every start');
    assert.equal(fs.readFileSync(file, 'utf8').trim(), key, 'the same key');
    const ok = await second.app.inject({ method: 'GET', url: `/api/calls?api_key=${key}` });
    assert.notEqual(ok.statusCode, 401);
  } finally {
    await second.close();
  }
});

test('no key, a wrong key or another key gets 401 with a JSON error; the header and the query both work', async () => {
  const gw = await startGateway();
  try {
    for (const headers of [{}, { 'x-api-key': 'wrong-key-0123456789' }, { 'x-api-key': `${API_KEY}x` }]) {
      const res = await gw.app.inject({ method: 'GET', url: '/api/calls', headers });
      assert.equal(res.statusCode, 401);
      assert.equal(typeof res.json().error, 'string');
    }
    assert.equal((await gw.app.inject({ method: 'GET', url: `/api/calls?api_key=nope` })).statusCode, 401);
    assert.notEqual((await gw.app.inject({ method: 'GET', url: '/api/calls', headers: { 'x-api-key': API_KEY } })).statusCode, 401);
    assert.notEqual((await gw.app.inject({ method: 'GET', url: `/api/calls?api_key=${API_KEY}` })).statusCode, 401);
    assert.ok(!JSON.stringify(gw.logs).includes(API_KEY), 'keys never reach the log, not even from the query string');
  } finally {
    await gw.close();
  }
});

test('short API_KEYS are refused at startup', async () => {
  await assert.rejects(startGateway({ API_KEYS: 'short' }), /at least 16 characters/);
});

test('the OpenAPI document is served at /docs', async () => {
  const gw = await startGateway();
  try {
    const doc = await gw.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(doc.statusCode, 200);
    const spec = doc.json() as { openapi: string; components: { securitySchemes: Record<string, unknown> } };
    assert.match(spec.openapi, /^3\./);
    assert.ok(spec.components.securitySchemes.apiKey);
    assert.equal((await gw.app.inject({ method: 'GET', url: '/docs' })).statusCode < 400, true);
  } finally {
    await gw.close();
  }
});
