/**
 * The fake OpenAI transcription API must be strict and honest: it refuses what the real API
 * refuses, with the real API's bodies; its transcripts say where the speech was in the upload;
 * and the openai SDK itself, pointed at it, gets what it expects.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenAI, { toFile } from 'openai';
import {
  MAX_UPLOAD_BYTES, SILENCE_HALLUCINATION, TRANSCRIPTIONS_PATH, audioFingerprint, encodeWav, startFakeOpenAI, type FakeOpenAI,
} from './openai.js';
import {
  BOUNDARY, MULTIPART, apiError, bursts, client, monoWav, rawMultipart, type Client,
} from './openai/test-client.js';

const KEY = 'sk-proj-fake0000000000000000000000000000009900';
let ai: FakeOpenAI;
let c: Client;
/** 3 s at 8 kHz, speech at 0.5-1.2 s and 2.0-2.6 s. */
const WAV = monoWav(8000, 3, [[0.5, 1.2], [2.0, 2.6]]);
const WAV_TEXT = 'seg500-1200 seg2000-2600';

before(async () => {
  ai = await startFakeOpenAI({ apiKey: KEY });
  c = client(ai.url, KEY);
});
after(() => ai.close());
beforeEach(() => {
  ai.faults.length = 0;
  ai.scripts.length = 0;
  ai.suspicious.length = 0;
});

describe('auth and routing', () => {
  it('refuses a missing key and a wrong key with OpenAI’s 401 bodies, never echoing the key whole', async () => {
    const none = await fetch(ai.url + TRANSCRIPTIONS_PATH, { method: 'POST', body: new FormData() });
    assert.equal(none.status, 401);
    assert.deepEqual({ ...apiError(await none.json()), message: '' }, { message: '', type: 'invalid_request_error', param: null, code: null });
    const wrongKey = 'sk-proj-wrong000000000000000000000000000001234';
    const wrong = await client(ai.url, wrongKey).transcribe(WAV, { model: 'whisper-1' });
    assert.equal(wrong.status, 401);
    const e = apiError(wrong.body);
    assert.equal(e.code, 'invalid_api_key');
    assert.match(e.message, /^Incorrect API key provided: sk-proj-\*+1234\./);
    assert.ok(!e.message.includes(wrongKey));
  });

  it('answers 404 Invalid URL off the one route', async () => {
    const r = await fetch(`${ai.url}/v1/audio/transcriptions`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(r.status, 404);
    assert.equal(apiError(await r.json()).message, 'Invalid URL (GET /v1/audio/transcriptions)');
  });
});

describe('400s', () => {
  const err = async (p: Promise<{ status: number; body: unknown }>) => {
    const r = await p;
    return { status: r.status, ...apiError(r.body) };
  };

  it('lists missing file and model the way the API’s validator does', async () => {
    const form = new FormData();
    form.append('file', 'not a file');
    const r = await c.post(form);
    assert.equal(r.status, 400);
    assert.equal(apiError(await r.json()).message,
      "2 validation errors for Request\nbody -> file\n  Expected UploadFile, received: <class 'str'> (type=value_error)\n" +
      'body -> model\n  field required (type=value_error.missing)');
    const noModel = await c.post(rawMultipart([{ headers: 'Content-Disposition: form-data; name="file"; filename="a.wav"', content: WAV }]), MULTIPART);
    assert.match(apiError(await noModel.json()).message, /^1 validation error for Request\nbody -> model\n/);
  });

  it('refuses unknown models, unsupported extensions and response formats', async () => {
    assert.deepEqual(await err(c.transcribe(WAV, { model: 'whisper-2' })),
      { status: 404, message: 'The model `whisper-2` does not exist or you do not have access to it.', type: 'invalid_request_error', param: null, code: 'model_not_found' });
    assert.deepEqual(await err(c.transcribe(WAV, { model: 'whisper-1' }, 'call.bin')),
      { status: 400, message: 'Unsupported file format bin', type: 'invalid_request_error', param: 'file', code: 'unsupported_value' });
    assert.equal((await c.transcribe(WAV, { model: 'whisper-1' }, 'CALL.WAV')).status, 200, 'extensions are case-insensitive');
    assert.equal((await err(c.transcribe(WAV, { model: 'whisper-1', response_format: 'xml' }))).param, 'response_format');
    for (const model of ['gpt-4o-transcribe', 'gpt-4o-mini-transcribe']) {
      assert.deepEqual(await err(c.transcribe(WAV, { model, response_format: 'verbose_json' })), {
        status: 400, message: `response_format 'verbose_json' is not compatible with model '${model}'. Use 'json' or 'text' instead.`,
        type: 'invalid_request_error', param: 'response_format', code: 'unsupported_value',
      });
      const g = await err(c.transcribe(WAV, { model, timestamp_granularities: ['segment'] }));
      assert.equal(g.status, 400);
      assert.equal(g.param, 'timestamp_granularities');
    }
  });

  it('refuses an invalid WAV, a too-short one, a bad language or temperature, and a broken multipart body', async () => {
    const corrupt = { status: 400, message: 'Audio file might be corrupted or unsupported', type: 'invalid_request_error', param: 'file', code: 'invalid_value' };
    assert.deepEqual(await err(c.transcribe(Buffer.from('ID3 definitely not a RIFF file'), { model: 'whisper-1' })), corrupt);
    assert.deepEqual(await err(c.transcribe(WAV.subarray(0, 30), { model: 'whisper-1' })), corrupt, 'header cut inside fmt');
    assert.equal((await err(c.transcribe(monoWav(8000, 0.05, []), { model: 'whisper-1' }))).code, 'audio_too_short');
    assert.equal((await err(c.transcribe(WAV, { model: 'whisper-1', language: 'english' }))).param, 'language');
    assert.equal((await err(c.transcribe(WAV, { model: 'whisper-1', temperature: '1.5' }))).param, 'temperature');
    const open = rawMultipart([{ headers: 'Content-Disposition: form-data; name="model"', content: 'whisper-1' }], false);
    assert.match(apiError(await (await c.post(open, MULTIPART)).json()).message, /closing boundary/);
    const json = await c.post(Buffer.from('{"model":"whisper-1"}'), { 'content-type': 'application/json' });
    assert.match(apiError(await json.json()).message, /^Invalid Content-Type header \(application\/json\), expected multipart\/form-data/);
  });
});

describe('log', () => {
  it('records each request, and notes what the real API would accept without a word', async () => {
    const truncated = Buffer.from(WAV);
    truncated.writeUInt32LE(WAV.length, 40); // the data chunk claims 44 bytes more than follow
    const fields = { model: 'whisper-1', language: 'en', color: 'blue', timestamp_granularities: ['word'] };
    assert.equal((await c.transcribe(truncated, fields)).status, 200);
    const { at, ...q } = ai.requests.at(-1)!;
    assert.ok(at instanceof Date);
    assert.deepEqual(q, {
      method: 'POST', path: TRANSCRIPTIONS_PATH, model: 'whisper-1', responseFormat: null, filename: 'call.wav', language: 'en',
      timestampGranularities: ['word'], bytes: WAV.length, durationS: 3, fingerprint: audioFingerprint(WAV), text: WAV_TEXT, status: 200,
    });
    assert.deepEqual(ai.suspicious.map((s) => s.reason), [
      'unknown form field "color" (the API ignores it)',
      'timestamp_granularities without response_format verbose_json (ignored)',
      'call.wav: data chunk declares 48044 bytes but only 48000 follow (truncated file)',
    ]);
  });
});

describe('413', () => {
  it('answers as soon as a streamed upload passes 25 MiB, while the client still holds the rest', async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 26 * 1024 * 1024;
    const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n`);
    let sent = 0;
    let release = (): void => {};
    const held = new Promise<void>((r) => (release = r));
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        // The tail waits for the answer: a server that buffers everything first deadlocks here.
        if (sent > MAX_UPLOAD_BYTES + CHUNK) await held;
        if (sent >= TOTAL) return ctl.close();
        const chunk = sent === 0 ? head : new Uint8Array(CHUNK);
        ctl.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const init = { method: 'POST', body, duplex: 'half', headers: { authorization: `Bearer ${KEY}`, ...MULTIPART }, signal: AbortSignal.timeout(10_000) };
    const res = await fetch(ai.url + TRANSCRIPTIONS_PATH, init as RequestInit);
    const sentAtAnswer = sent;
    release();
    assert.equal(res.status, 413);
    assert.ok(sentAtAnswer < TOTAL, `answered after ${sentAtAnswer} of ${TOTAL} bytes`);
    const e = apiError(await res.json());
    assert.match(e.message, /^Maximum content size limit \(26214400\) exceeded \(\d+ bytes read\)$/);
    assert.equal(e.type, 'server_error');
    const read = Number(/\((\d+) bytes read/.exec(e.message)![1]);
    assert.ok(read > MAX_UPLOAD_BYTES && read <= sentAtAnswer);
    assert.equal(ai.requests.at(-1)?.status, 413);
  });

  it('answers at once when the declared Content-Length is over the limit', async () => {
    const req = http.request(ai.url + TRANSCRIPTIONS_PATH, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, ...MULTIPART, 'content-length': String(MAX_UPLOAD_BYTES + 1) },
    });
    req.write(`--${BOUNDARY}\r\n`);
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    assert.equal(res.statusCode, 413);
    assert.equal(res.headers.connection, 'close');
    req.destroy();
  });
});

describe('response formats', () => {
  it('json carries text and duration usage (whisper-1) or token usage (gpt-4o)', async () => {
    const w = await c.transcribe(WAV, { model: 'whisper-1' });
    assert.deepEqual(w.body, { text: WAV_TEXT, usage: { type: 'duration', seconds: 3 } });
    const g = (await c.transcribe(WAV, { model: 'gpt-4o-mini-transcribe', response_format: 'json' })).body as { text: string; usage: { type: string; total_tokens: number } };
    assert.equal(g.text, WAV_TEXT);
    assert.equal(g.usage.type, 'tokens');
    assert.ok(g.usage.total_tokens > 0);
  });

  it('text, srt and vtt are text/plain', async () => {
    const text = await c.transcribe(WAV, { model: 'whisper-1', response_format: 'text' });
    assert.equal(text.type, 'text/plain; charset=utf-8');
    assert.equal(text.body, `${WAV_TEXT}\n`);
    assert.equal((await c.transcribe(WAV, { model: 'whisper-1', response_format: 'srt' })).body,
      '1\n00:00:00,500 --> 00:00:01,200\nseg500-1200\n\n2\n00:00:02,000 --> 00:00:02,600\nseg2000-2600\n\n');
    assert.equal((await c.transcribe(WAV, { model: 'whisper-1', response_format: 'vtt' })).body,
      'WEBVTT\n\n00:00:00.500 --> 00:00:01.200\nseg500-1200\n\n00:00:02.000 --> 00:00:02.600\nseg2000-2600\n\n');
  });

  it('verbose_json has Whisper’s fields, segment times relative to the upload, and words on request', async () => {
    const r = await c.transcribe(WAV, { model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['segment', 'word'], language: 'de' });
    const b = r.body as { task: string; language: string; duration: number; text: string; segments: Record<string, unknown>[]; words: unknown[]; usage: unknown };
    assert.deepEqual([b.task, b.language, b.duration, b.text], ['transcribe', 'german', 3, WAV_TEXT]);
    assert.deepEqual(b.segments[1], {
      id: 1, seek: 0, start: 2, end: 2.6, text: ' seg2000-2600', tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 0.8, no_speech_prob: 0.01,
    });
    assert.deepEqual(b.words, [{ word: 'seg500-1200', start: 0.5, end: 1.2 }, { word: 'seg2000-2600', start: 2, end: 2.6 }]);
    assert.deepEqual(b.usage, { type: 'duration', seconds: 3 });
  });
});

describe('transcripts follow the audio', () => {
  const segments = async (wav: Buffer) => {
    const r = await c.transcribe(wav, { model: 'whisper-1', response_format: 'verbose_json' });
    return (r.body as { segments: { start: number; end: number; text: string }[] }).segments.map((s) => [s.start, s.end, s.text.trim()]);
  };

  it('maps speech on either channel of a 16 kHz stereo upload to its times', async () => {
    const left = bursts(16000, 4, [[0.5, 1.2]]);
    const right = bursts(16000, 4, [[2.0, 2.6], [3.1, 3.5]]);
    assert.deepEqual(await segments(encodeWav(16000, [left, right])),
      [[0.5, 1.2, 'seg500-1200'], [2, 2.6, 'seg2000-2600'], [3.1, 3.5, 'seg3100-3500']]);
  });

  it('rounds off-grid bursts out to 20 ms, joins short pauses, drops clicks (44.1 kHz)', async () => {
    const wav = encodeWav(44100, [bursts(44100, 3, [[0.51, 0.99], [1.5, 1.8], [2.0, 2.3], [2.7, 2.71]], { noise: 40 })]);
    assert.deepEqual(await segments(wav), [[0.5, 1, 'seg500-1000'], [1.5, 2.3, 'seg1500-2300']]);
  });

  it('silence gets Whisper’s hallucination with a high no_speech_prob, and is recorded', async () => {
    const before = ai.silentUploads.length;
    await c.transcribe(WAV, { model: 'whisper-1' });
    assert.equal(ai.silentUploads.length, before, 'speech is not silence');
    const digital = await c.transcribe(monoWav(8000, 2, []), { model: 'whisper-1', response_format: 'verbose_json' });
    const seg = (digital.body as { text: string; segments: { no_speech_prob: number; end: number }[] });
    assert.equal(seg.text, SILENCE_HALLUCINATION);
    assert.ok(seg.segments[0]!.no_speech_prob > 0.5);
    const hiss = encodeWav(8000, [bursts(8000, 2, [], { noise: 60 })]);
    assert.equal((await c.transcribe(hiss, { model: 'gpt-4o-transcribe' }, 'hiss.wav')).status, 200);
    assert.deepEqual(ai.silentUploads.slice(before).map((s) => [s.filename, s.durationS, s.peakRms === 0]), [['call.wav', 2, true], ['hiss.wav', 2, false]]);
  });

  it('scripts by fingerprint or predicate choose the text', async () => {
    ai.script(audioFingerprint(WAV), 'hello from the script');
    ai.script((u) => u.durationS > 5, 'a long one');
    assert.equal(((await c.transcribe(WAV, { model: 'whisper-1' })).body as { text: string }).text, 'hello from the script');
    const long = monoWav(16000, 6, [[1, 2], [4, 5]]);
    const v = (await c.transcribe(long, { model: 'whisper-1', response_format: 'verbose_json' })).body as { segments: { start: number; end: number; text: string }[] };
    assert.deepEqual(v.segments.map((s) => [s.start, s.end, s.text]), [[1, 5, ' a long one']]);
    assert.equal(ai.requests.at(-1)?.fingerprint, audioFingerprint(long));
  });
});

describe('faults', () => {
  it('429 with OpenAI’s body and retry-after, then service resumes', async () => {
    ai.faults.push({ times: 1, fault: { type: 'status', status: 429, retryAfter: 2 } });
    const r = await c.transcribe(WAV, { model: 'whisper-1' });
    assert.equal(r.status, 429);
    assert.equal(r.res.headers.get('retry-after'), '2');
    assert.deepEqual({ ...apiError(r.body), message: '' }, { message: '', type: 'requests', param: null, code: 'rate_limit_exceeded' });
    assert.equal((await c.transcribe(WAV, { model: 'whisper-1' })).status, 200);
  });

  it('500 and 503 are server_error; rules match by request and skip unauthenticated ones', async () => {
    ai.faults.push({ times: 1, match: (q) => q.model === 'gpt-4o-transcribe', fault: { type: 'status', status: 503 } });
    ai.faults.push({ times: 1, fault: { type: 'status', status: 500 } });
    assert.equal((await client(ai.url, 'sk-nope').transcribe(WAV, { model: 'whisper-1' })).status, 401);
    const e500 = await c.transcribe(WAV, { model: 'whisper-1' });
    assert.deepEqual([e500.status, apiError(e500.body).type], [500, 'server_error']);
    const e503 = await c.transcribe(WAV, { model: 'gpt-4o-transcribe' });
    assert.deepEqual([e503.status, apiError(e503.body).message], [503, 'The server is overloaded or not ready yet.']);
    assert.equal((await c.transcribe(WAV, { model: 'gpt-4o-transcribe' })).status, 200);
    ai.faults.push({ times: 1, fault: { type: 'status', status: 502 } });
    const e502 = await c.transcribe(WAV, { model: 'whisper-1' });
    assert.deepEqual([e502.status, e502.type], [502, 'text/html'], 'a 502 from the CDN is HTML, not an OpenAI error body');
  });

  it('latency delays the answer; stall never answers; reset drops the connection', async () => {
    ai.faults.push({ times: 1, fault: { type: 'latency', ms: 150 } });
    const t = performance.now();
    assert.equal((await c.transcribe(WAV, { model: 'whisper-1' })).status, 200);
    assert.ok(performance.now() - t >= 140);
    ai.faults.push({ times: 1, fault: { type: 'stall' } });
    const form = new FormData();
    form.append('file', new File([WAV], 'a.wav'));
    form.append('model', 'whisper-1');
    const stalled = fetch(ai.url + TRANSCRIPTIONS_PATH, { method: 'POST', body: form, headers: { authorization: `Bearer ${KEY}` }, signal: AbortSignal.timeout(200) });
    await assert.rejects(stalled, { name: 'TimeoutError' });
    assert.equal(ai.requests.at(-1)?.status, undefined);
    ai.faults.push({ times: 1, fault: { type: 'reset' } });
    await assert.rejects(c.transcribe(WAV, { model: 'whisper-1' }), TypeError);
  });
});

describe('the openai SDK pointed at the fake', () => {
  const sdk = (apiKey = KEY, maxRetries = 0) => new OpenAI({ apiKey, baseURL: `${ai.url}/v1`, maxRetries });

  it('gets typed results for verbose_json, json and text, from a File and from a read stream', async () => {
    const file = await toFile(WAV, 'speech.wav', { type: 'audio/wav' });
    const v = await sdk().audio.transcriptions.create({ file, model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['segment'] });
    assert.deepEqual(v.segments?.map((s) => [s.start, s.end]), [[0.5, 1.2], [2, 2.6]]);
    const j = await sdk().audio.transcriptions.create({ file, model: 'gpt-4o-transcribe' });
    assert.equal(j.text, WAV_TEXT);
    const dir = mkdtempSync(join(tmpdir(), 'fake-openai-'));
    try {
      writeFileSync(join(dir, 'streamed.wav'), WAV);
      const t = await sdk().audio.transcriptions.create({ file: createReadStream(join(dir, 'streamed.wav')), model: 'whisper-1', response_format: 'text' });
      assert.equal(t, `${WAV_TEXT}\n`);
      assert.equal(ai.requests.at(-1)?.filename, 'streamed.wav');
    } finally {
      rmSync(dir, { recursive: true });
    }
    assert.deepEqual(ai.suspicious, [], 'the SDK sends nothing the fake finds odd');
  });

  it('raises the SDK’s typed errors, and its retries get past a 429', async () => {
    const file = await toFile(WAV, 'speech.wav');
    await assert.rejects(sdk('sk-bad-key-000000000000').audio.transcriptions.create({ file, model: 'whisper-1' }),
      (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
    await assert.rejects(sdk().audio.transcriptions.create({ file, model: 'gpt-4o-transcribe', response_format: 'verbose_json' }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'response_format');
    ai.faults.push({ times: 1, fault: { type: 'status', status: 429, retryAfter: 0 } });
    const n = ai.requests.length;
    assert.equal((await sdk(KEY, 2).audio.transcriptions.create({ file, model: 'whisper-1' })).text, WAV_TEXT);
    assert.deepEqual(ai.requests.slice(n).map((q) => q.status), [429, 200]);
  });
});

describe('close', () => {
  it('returns promptly while a response is stalled', async () => {
    const other = await startFakeOpenAI({ apiKey: KEY });
    other.faults.push({ times: 1, fault: { type: 'stall' } });
    const pending = client(other.url, KEY).transcribe(WAV, { model: 'whisper-1' }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t = performance.now();
    await other.close();
    assert.ok(performance.now() - t < 1000);
    assert.ok((await pending) instanceof Error);
  });
});
