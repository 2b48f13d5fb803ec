import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wavHeader } from '../../src/audio/wav.js';
import { JobError } from '../../src/jobs/errors.js';
import { openAiTranscriber } from '../../src/transcription/openai.js';
import { redact } from '../../src/transcription/redact.js';
import { startFakeOpenAI } from '../fakes/openai.js';
import { startGateway, API_KEY } from '../helpers/gateway.js';

test('redaction masks phone numbers and Luhn-valid card numbers, and leaves other figures', () => {
  assert.equal(redact('call me on +1 (555) 123-4567 please'), 'call me on [phone number] please');
  assert.equal(redact('my card is 4111 1111 1111 1111.'), 'my card is [card number].');
  assert.equal(redact('order 42 of 2024 costs 19.99'), 'order 42 of 2024 costs 19.99');
  assert.equal(redact('card 4111 1111 1111 1112'), 'card [phone number]', 'not a valid card, but too many digits to keep');
});

const tone = () => {
  const pcm = Int16Array.from({ length: 16000 }, (_, i) => Math.round(8000 * Math.sin(i / 5)));
  return Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1 }, pcm.byteLength), Buffer.from(pcm.buffer)]);
};

test('transcriber errors say whether to retry: 429 and 5xx yes, a wrong key no (and names OPENAI_API_KEY)', async () => {
  const ai = await startFakeOpenAI({ apiKey: 'sk-right' });
  try {
    const make = (apiKey: string) => openAiTranscriber({ apiKey, baseURL: `${ai.url}/v1`, model: 'whisper-1', timeoutMs: 5000 });
    const wrong = await make('sk-wrong').transcribe(tone()).catch((e: unknown) => e);
    assert.ok(wrong instanceof JobError && !wrong.retryable && /OPENAI_API_KEY/.test(wrong.message));
    for (const status of [429, 500, 503]) {
      ai.faults.push({ times: 1, fault: { type: 'status', status } });
      const err = await make('sk-right').transcribe(tone()).catch((e: unknown) => e);
      assert.ok(err instanceof JobError && err.retryable, `${status} is retryable`);
    }
    const ok = await make('sk-right').transcribe(tone());
    assert.ok(ok.segments && ok.segments.length > 0);
  } finally {
    await ai.close();
  }
});

test('without OPENAI_API_KEY transcription reports not configured and nothing else breaks', async () => {
  const gw = await startGateway();
  try {
    const res = await gw.app.inject({ method: 'POST', url: '/api/twilio/transcript/', headers: { 'x-api-key': API_KEY }, payload: { recording_sid: 'RE' + '1'.repeat(32) } });
    assert.equal(res.statusCode, 503);
    assert.match(res.json().error, /OPENAI_API_KEY/);
    assert.ok(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('transcription is not configured')));
  } finally {
    await gw.close();
  }
});

test('the API rate limit is per key and answers 429 with a JSON error', async () => {
  const gw = await startGateway({ API_RATE_LIMIT_PER_MIN: '3' });
  try {
    const get = () => gw.app.inject({ method: 'GET', url: '/api/calls', headers: { 'x-api-key': API_KEY } });
    for (let i = 0; i < 3; i++) assert.equal((await get()).statusCode, 200);
    const limited = await get();
    assert.equal(limited.statusCode, 429);
    assert.match(limited.json().error, /Rate limit exceeded/);
  } finally {
    await gw.close();
  }
});
