import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, loadSimulatorEnv } from '../src/config.js';

const base = { TWILIO_AUTH_TOKEN: 'tok', PUBLIC_URL: 'https://gw.example.com', CLOUD_RECORDING: 'false' };

test('defaults follow DESIGN.md', () => {
  const c = loadConfig(base);
  assert.equal(c.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.recordingsDir, path.resolve('recordings'));
  assert.equal(c.databasePath, path.resolve('recordings', 'callvault.sqlite'));
  assert.equal(c.twilio.apiBaseUrl, 'https://api.twilio.com');
  assert.equal(c.twilio.validateSignatures, true);
  assert.equal(c.agentIdentity, 'agent');
  assert.deepEqual(c.dialAllowedPrefixes, []);
  assert.equal(c.capture.jitterMs, 200);
  assert.ok(c.capture.flushMs <= 500, 'headers are patched at least every 0.5 s');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.twilio), 'config is frozen');
});

test('fails closed: no auth token stops startup unless checks are explicitly off', () => {
  assert.throws(() => loadConfig({ PUBLIC_URL: 'https://gw.example.com', CLOUD_RECORDING: 'false' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /TWILIO_AUTH_TOKEN/);
    return true;
  });
  const local = loadConfig({ TWILIO_VALIDATE_SIGNATURES: 'false', CLOUD_RECORDING: 'false' });
  assert.equal(local.twilio.validateSignatures, false);
  assert.equal(local.publicUrl, 'http://localhost:8080', 'local development gets a local public URL');
});

test('one error names every bad or missing variable', () => {
  try {
    loadConfig({
      PORT: 'eighty',
      TWILIO_ACCOUNT_SID: 'None',
      TWILIO_CALLER_ID: '555-1234',
      DIAL_ALLOWED_PREFIXES: '+1,44',
      LOG_LEVEL: 'loud',
      TWILIO_VALIDATE_SIGNATURES: 'maybe',
      CAPTURE_JITTER_MS: '5',
    });
    assert.fail('expected a ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    for (const name of ['PORT', 'TWILIO_ACCOUNT_SID', 'TWILIO_CALLER_ID', 'DIAL_ALLOWED_PREFIXES', 'LOG_LEVEL', 'TWILIO_VALIDATE_SIGNATURES', 'CAPTURE_JITTER_MS', 'PUBLIC_URL', 'TWILIO_AUTH_TOKEN']) {
      assert.ok(e.problems.some((p) => p.includes(name)), `${name} is named in: ${e.message}`);
    }
  }
});

test('dialling out needs a caller ID', () => {
  assert.throws(() => loadConfig({ ...base, DIAL_ALLOWED_PREFIXES: '+1' }), /TWILIO_CALLER_ID is required/);
  const c = loadConfig({ ...base, DIAL_ALLOWED_PREFIXES: '+1, +4420', TWILIO_CALLER_ID: '+15550001111' });
  assert.deepEqual(c.dialAllowedPrefixes, ['+1', '+4420']);
});

test('PUBLIC_URL must be a plain http(s) base; a trailing slash is dropped', () => {
  assert.equal(loadConfig({ ...base, PUBLIC_URL: 'https://gw.example.com/' }).publicUrl, 'https://gw.example.com');
  assert.throws(() => loadConfig({ ...base, PUBLIC_URL: 'ftp://x' }), /PUBLIC_URL/);
  assert.throws(() => loadConfig({ ...base, PUBLIC_URL: 'https://x/?a=1' }), /PUBLIC_URL/);
});

test('simulator defaults come from the same variables', () => {
  assert.deepEqual(loadSimulatorEnv({ PORT: '9000', TWILIO_AUTH_TOKEN: 't' }), { port: 9000, authToken: 't' });
});

test('cloud recording on (the default) needs credentials; the error names them', () => {
  assert.throws(() => loadConfig({ ...base, CLOUD_RECORDING: 'true' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.ok(e.problems.some((p) => p.startsWith('TWILIO_ACCOUNT_SID is required to download cloud recordings')));
    return true;
  });
  assert.throws(() => loadConfig({ ...base, CLOUD_RECORDING: 'true', TWILIO_ACCOUNT_SID: 'AC' + '1'.repeat(32), TWILIO_API_KEY_SID: 'SK' + '1'.repeat(32) }), /must be set together/);
  const c = loadConfig({ ...base, CLOUD_RECORDING: 'true', TWILIO_ACCOUNT_SID: 'AC' + '1'.repeat(32) });
  assert.equal(c.cloud.enabled, true);
  assert.equal(c.cloud.sweepAfterS, 300);
  assert.equal(c.cloud.deleteAfterDownload, false);
  assert.equal(loadConfig({ ...base, CLOUD_RECORDING: 'false' }).cloud.enabled, false);
});

test('TWILIO_ENABLED=false: a Vonage/ElevenLabs-only gateway needs no Twilio setting; only an explicit false turns it off', () => {
  const env = { TWILIO_ENABLED: 'false', PUBLIC_URL: 'https://gw.example.com', DIAL_ALLOWED_PREFIXES: '+44' };
  const c = loadConfig(env);
  assert.equal(c.twilio.enabled, false);
  assert.equal(c.cloud.enabled, false, "Twilio's cloud recording goes with it");
  assert.deepEqual(c.dialAllowedPrefixes, ['+44']);
  // Without the switch, the same environment is refused and the message names the way out.
  assert.throws(() => loadConfig({ PUBLIC_URL: 'https://gw.example.com' }), (err: unknown) =>
    err instanceof ConfigError && err.problems.some((p) => p.includes('TWILIO_AUTH_TOKEN') && p.includes('TWILIO_ENABLED=false')));
  assert.throws(() => loadConfig({ ...env, TWILIO_ENABLED: 'maybe' }), /TWILIO_ENABLED must be true or false/);
});
