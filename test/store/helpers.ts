import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openStore, type Store } from '../../src/store/db.js';
import type { NewCall } from '../../src/store/calls.js';
import type { NewStream } from '../../src/store/streams.js';

/** A fresh folder under the OS temp dir, removed when the test ends (after-hooks run FIFO). */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real SQLite file in a fresh folder; closed before the folder is removed. */
export async function tempStore(t: TestContext): Promise<{ store: Store; dir: string; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cv-'));
  // A nested path also checks that openStore creates parent folders.
  const path = join(dir, 'nested', 'callvault.sqlite');
  const store = await openStore({ databasePath: path });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, dir, path };
}

export function aCall(over: Partial<NewCall> = {}): NewCall {
  return {
    callSid: 'CA00000000000000000000000000000001',
    accountSid: 'AC00000000000000000000000000000001',
    direction: 'inbound',
    fromNumber: '+15550100001',
    toNumber: '+15550100002',
    agentTrack: 'outbound',
    customerTrack: 'inbound',
    status: 'ringing',
    at: '2025-01-02T03:04:05.006Z',
    ...over,
  };
}

export function aStream(over: Partial<NewStream> = {}): NewStream {
  return {
    streamSid: 'MZ00000000000000000000000000000001',
    callSid: 'CA00000000000000000000000000000001',
    accountSid: 'AC00000000000000000000000000000001',
    tracks: ['inbound', 'outbound'],
    instanceId: 'gw-a',
    startedAt: '2025-01-02T03:04:06.000Z',
    ...over,
  };
}
