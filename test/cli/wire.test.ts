import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import twilio from 'twilio';
import { localStreamUrl, mediaMessage, parseStreamTwiml } from '../../src/cli/simulator/wire.js';

describe('wire', () => {
  it('reads the Stream url and its Parameters from twilio-generated TwiML', () => {
    const r = new twilio.twiml.VoiceResponse();
    const s = r.start().stream({ url: 'wss://h.example/twilio/media-stream', track: 'both_tracks', statusCallback: 'https://h.example/s?a=1&b=2' });
    s.parameter({ name: 'token', value: 'a&b"c<d>e' });
    s.parameter({ name: 'empty', value: '' });
    r.start().recording({ recordingStatusCallback: 'https://h.example/twilio/recording-status' });
    r.dial().number('+15558675310');
    assert.deepEqual(parseStreamTwiml(r.toString()), {
      url: 'wss://h.example/twilio/media-stream', parameters: { token: 'a&b"c<d>e', empty: '' },
    });
  });

  it('handles a self-closing Stream, single quotes, numeric entities and Connect', () => {
    assert.deepEqual(parseStreamTwiml(`<Response><Start><Stream url='wss://x/y&#x3F;' /></Start><Parameter name="no" value="x"/></Response>`),
      { url: 'wss://x/y?', parameters: {} });
    assert.deepEqual(parseStreamTwiml(`<Response><Connect><Stream name="s" url="wss://x/&#47;z"><Parameter value="1" name="k"/></Stream></Connect></Response>`),
      { url: 'wss://x//z', parameters: { k: '1' } });
    assert.equal(parseStreamTwiml('<Response><Say>hi</Say></Response>'), undefined);
    assert.equal(parseStreamTwiml('<Response><Start><Stream track="both_tracks"/></Start></Response>'), undefined);
  });

  it('maps the public stream URL onto the reachable gateway', () => {
    assert.equal(localStreamUrl('wss://pub.example/twilio/media-stream', 'http://127.0.0.1:8080', 'https://pub.example'),
      'ws://127.0.0.1:8080/twilio/media-stream');
    assert.equal(localStreamUrl('wss://pub.example/cv/twilio/media-stream', 'https://gw.local/', 'https://pub.example/cv/'),
      'wss://gw.local/twilio/media-stream');
    assert.equal(localStreamUrl('/twilio/media-stream', 'http://127.0.0.1:1', 'https://pub.example'),
      'ws://127.0.0.1:1/twilio/media-stream');
  });

  it('writes every media field as a string', () => {
    const payload = new Uint8Array([0, 1, 2, 255]).subarray(1, 3);
    assert.deepEqual(mediaMessage('MZ1', { sequenceNumber: 3, track: 'outbound', chunk: 2, timestampMs: 40, payload }), {
      event: 'media', sequenceNumber: '3', streamSid: 'MZ1',
      media: { track: 'outbound', chunk: '2', timestamp: '40', payload: Buffer.from([1, 2]).toString('base64') },
    });
  });
});
