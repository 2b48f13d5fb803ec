// A real crash: SIGKILL a process mid-job, start the next one with the same instance id.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { openStore, type Store } from '../../src/store/db.js';
import { waitFor } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(import.meta.dirname, 'fixtures', 'worker.ts');

function spawnWorker(args: string[]) {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => r({ code, signal })),
  );
  return { proc, exited, stderr: () => stderr };
}

test('a job in flight when its process is SIGKILLed completes exactly once after restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cv-kill-'));
  const db = join(dir, 'kill.sqlite');
  const marker = join(dir, 'marker.txt');
  // Whole lines only (the text after the last newline may be half written, or the file empty).
  const lines = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').slice(0, -1) : []);
  const workers: ReturnType<typeof spawnWorker>[] = [];
  const stores: Store[] = [];
  t.after(async () => {
    for (const w of workers) w.proc.kill('SIGKILL');
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const first = spawnWorker([db, 'gw-kill', marker, 'hang']);
  workers.push(first);
  await waitFor('the first attempt to start', () => lines().length === 1 || first.proc.exitCode !== null, 30_000);
  assert.equal(first.proc.kill('SIGKILL'), true, first.stderr());
  assert.equal((await first.exited).signal, 'SIGKILL');

  const store = await openStore({ databasePath: db });
  stores.push(store);
  const left = await store.jobs.getByKey('download:RE-kill');
  assert.deepEqual([left?.state, left?.leaseOwner, left?.attempts], ['running', 'gw-kill', 1]);

  const second = spawnWorker([db, 'gw-kill', marker, 'finish']);
  workers.push(second);
  assert.deepEqual(await second.exited, { code: 0, signal: null }, second.stderr());

  const [a, b, ...more] = lines();
  assert.deepEqual([a, b, more], [`${first.proc.pid} attempt=1`, `${second.proc.pid} attempt=2`, []]);
  const done = await store.jobs.listByKeyPrefix('download:');
  assert.equal(done.length, 1);
  assert.deepEqual([done[0]?.state, done[0]?.attempts, done[0]?.result], ['succeeded', 2, { pid: second.proc.pid, attempt: 2 }]);
});
