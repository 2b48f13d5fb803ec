import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalObjectStore } from '../../src/storage/local-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { S3ObjectStore } from '../../src/storage/s3-store.js';
import { S3_CREDENTIALS, startS3, type LocalS3 } from '../helpers/s3.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PART = 5 * 1024 * 1024; // S3's smallest part

async function readAll(store: ObjectStore, key: string, range?: { start: number; end: number }) {
  const got = await store.read(key, range);
  if (!got) return null;
  const chunks: Buffer[] = [];
  for await (const c of got.body) chunks.push(c as Buffer);
  return { bytes: Buffer.concat(chunks), size: got.size };
}

let s3: LocalS3;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'callvault-store-'));
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const engines: Array<[string, () => ObjectStore]> = [
  ['local', () => new LocalObjectStore(path.join(work, 'local-root'))],
  ['s3', () => new S3ObjectStore({
    bucket: s3.bucket, prefix: 'pre/fix', partBytes: PART,
    client: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDENTIALS },
  })],
];

for (const [name, make] of engines) {
  describe(`${name} object store`, () => {
    test('a file goes in verified and comes back byte for byte, whole and by range', async () => {
      const store = make();
      const data = randomBytes(100_000);
      const src = path.join(work, `${name}-a.wav`);
      fs.writeFileSync(src, data);
      assert.deepEqual(await store.putFile('CAx/a.wav', src), { key: 'CAx/a.wav', bytes: data.length });
      assert.equal(await store.size('CAx/a.wav'), data.length);
      assert.equal(sha((await readAll(store, 'CAx/a.wav'))!.bytes), sha(data));
      const part = await readAll(store, 'CAx/a.wav', { start: 1000, end: 1999 });
      assert.equal(part!.size, data.length);
      assert.deepEqual(part!.bytes, data.subarray(1000, 2000));
      const back = path.join(work, `${name}-back.wav`);
      assert.equal(await store.getToFile('CAx/a.wav', back), data.length);
      assert.deepEqual(fs.readFileSync(back), data);
      assert.equal(fs.existsSync(`${back}.part`), false);
    });

    test('a file larger than a part goes up in parts and is verified whole', async () => {
      const store = make();
      const data = randomBytes(2 * PART + 12345);
      const src = path.join(work, `${name}-big.wav`);
      fs.writeFileSync(src, data);
      await store.putFile('CAbig/final.stereo.wav', src);
      assert.equal(sha((await readAll(store, 'CAbig/final.stereo.wav'))!.bytes), sha(data));
    });

    test('list is one folder deep; missing objects are null; deletePrefix removes the folder', async () => {
      const store = make();
      const src = path.join(work, `${name}-small.json`);
      fs.writeFileSync(src, '{}');
      for (const f of ['x.json', 'y.json']) await store.putFile(`CAlist/${f}`, src);
      await store.putFile('CAother/z.json', src);
      assert.deepEqual((await store.list('CAlist')).map((o) => o.key).sort(), ['CAlist/x.json', 'CAlist/y.json']);
      assert.equal(await store.size('CAlist/none.json'), null);
      assert.equal(await store.read('CAlist/none.json'), null);
      assert.equal(await store.deletePrefix('CAlist'), 2);
      assert.deepEqual(await store.list('CAlist'), []);
      assert.equal(await store.size('CAother/z.json'), 2);
    });

    test('the readiness probe writes, reads back and removes', async () => {
      const store = make();
      await store.probe();
    });
  });
}

test('the local store refuses keys that would leave its folder', async () => {
  const store = new LocalObjectStore(path.join(work, 'local-root'));
  for (const key of ['../etc/passwd', 'CA/../../x', 'a/b/c', '/abs', 'CA/']) {
    await assert.rejects(store.size(key), /invalid object key/);
  }
});

// s3rver checks the access key id but not the SigV4 signature itself.
test('an S3 store with an unknown access key fails clearly', async () => {
  const store = new S3ObjectStore({
    bucket: s3.bucket, prefix: '', client: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'S3RVER' } },
  });
  const src = path.join(work, 'denied.json');
  fs.writeFileSync(src, '{}');
  await assert.rejects(store.putFile('CAdenied/a.json', src), /Access Key Id/i);
});
