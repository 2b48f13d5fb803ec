import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamParser } from '../../src/twilio/messages.js';

const SID = { stream: 'MZ' + 'a'.repeat(32), call: 'CA' + 'b'.repeat(32), account: 'AC' + 'c'.repeat(32) };
const parser = new StreamParser(4000);

function media(payload: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    event: 'media', sequenceNumber: '3', streamSid: SID.stream,
    media: { track: 'inbound', chunk: '2', timestamp: '40', payload, ...extra },
  });
}

test('media: decoded payload, numeric timestamp, track', () => {
  const payload = Buffer.from([0, 1, 2, 0x7f, 0xff]).toString('base64');
  const r = parser.parse(media(payload));
  assert.ok(r.ok && r.message.event === 'media');
  assert.equal(r.message.timestampMs, 40);
  assert.equal(r.message.track, 'inbound');
  assert.deepEqual([...r.message.payload], [0, 1, 2, 0x7f, 0xff]);
});

test('start: sids, tracks and custom parameters; rejects SIDs that could escape a folder', () => {
  const msg = {
    event: 'start', sequenceNumber: '1', streamSid: SID.stream,
    start: {
      streamSid: SID.stream, accountSid: SID.account, callSid: SID.call, tracks: ['inbound', 'outbound'],
      customParameters: { token: 'abc' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  };
  const r = parser.parse(JSON.stringify(msg));
  assert.ok(r.ok && r.message.event === 'start');
  assert.deepEqual(r.message.tracks, ['inbound', 'outbound']);
  assert.equal(r.message.customParameters.token, 'abc');
  const evil = parser.parse(JSON.stringify({ ...msg, start: { ...msg.start, callSid: '../../etc' } }));
  assert.ok(!evil.ok && evil.problem === 'missing_fields');
});

test('each kind of bad input is classified, never thrown', () => {
  const cases: Array<[string, string]> = [
    ['{not json', 'malformed_json'],
    ['[1,2]', 'malformed_json'],
    [JSON.stringify({ event: 'media', streamSid: SID.stream }), 'missing_fields'],
    [media('AAAA', { track: 'sideways' }), 'missing_fields'],
    [media('AAAA', { timestamp: 'soon' }), 'missing_fields'],
    [media('AAAA', { timestamp: '-20' }), 'missing_fields'],
    [media('AAAA', { timestamp: undefined }), 'missing_fields'],
    [media('AA*A'), 'bad_base64'],
    [media('AAA'), 'bad_base64'],
    [media(Buffer.alloc(4001).toString('base64')), 'oversized_frame'],
    [JSON.stringify({ event: 'teleport' }), 'unknown_event'],
  ];
  for (const [text, problem] of cases) {
    const r = parser.parse(text);
    assert.ok(!r.ok, `rejected: ${text.slice(0, 60)}`);
    assert.equal(r.problem, problem, text.slice(0, 60));
  }
});

test('the payload view is reused: no allocation per frame', () => {
  const a = parser.parse(media(Buffer.from([1, 2, 3]).toString('base64')));
  const b = parser.parse(media(Buffer.from([4, 5, 6]).toString('base64')));
  assert.ok(a.ok && b.ok && a.message.event === 'media' && b.message.event === 'media');
  assert.equal(a.message.payload.buffer, b.message.payload.buffer);
});
