import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import type { TranscriptLine } from '../../src/store/transcripts.js';
import { PgTranscriptHub } from '../../src/transcription/pg-hub.js';
import { createDatabase } from '../helpers/postgres.js';

const line = (text: string): TranscriptLine => ({ speaker: 'customer', start: 1.5, end: 2.25, text });
const next = <T>(f: (resolve: (v: T) => void) => void, ms = 5000) => new Promise<T>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('nothing arrived')), ms);
  f((v) => {
    clearTimeout(timer);
    resolve(v);
  });
});

/** Two gateways' hubs on one fresh database; both closed (close is idempotent) and the database dropped after. */
async function twoHubs(t: TestContext) {
  const db = await createDatabase();
  const log = pino({ level: 'silent' });
  const a = await PgTranscriptHub.start(db.url, log);
  const b = await PgTranscriptHub.start(db.url, log);
  t.after(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });
  return { a, b };
}

test('a line published on one gateway reaches subscribers on both, once each', async (t) => {
  const { a, b } = await twoHubs(t);
  const gotA: TranscriptLine[] = [];
  const gotOther: TranscriptLine[] = [];
  a.subscribe('CA1', (l) => gotA.push(l));
  b.subscribe('CA2', (l) => gotOther.push(l));
  const onB = next<TranscriptLine>((resolve) => b.subscribe('CA1', resolve));
  a.publish('CA1', line('hello from gateway a'));
  assert.deepEqual(await onB, line('hello from gateway a'));
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(gotA, [line('hello from gateway a')], 'the publisher hears it once, through LISTEN');
  assert.deepEqual(gotOther, [], 'other calls hear nothing');
});

test('a line too large for NOTIFY still reaches local subscribers; a closed hub stops listening', async (t) => {
  const { a, b } = await twoHubs(t);
  const big = line('x'.repeat(9000));
  const local = next<TranscriptLine>((resolve) => a.subscribe('CA3', resolve));
  a.publish('CA3', big);
  assert.equal((await local).text.length, 9000);
  await b.close();
  const heard: TranscriptLine[] = [];
  b.subscribe('CA4', (l) => heard.push(l));
  a.publish('CA4', line('after close'));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(heard, []);
});
