// The process dies mid-call (SIGKILL) or is asked to stop (SIGTERM): nothing already sent more
// than a second before may be lost, and every file must read as a valid WAV.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { openStore } from '../../src/store/db.js';
import { freePort, spawnGateway } from '../helpers/child-gateway.js';
import { tempDir } from '../helpers/gateway.js';
import { connectStream, type StreamClient } from '../helpers/stream-client.js';
import { readWav } from '../helpers/wav.js';

const FILES = ['inbound.8k', 'inbound.16k', 'outbound.8k', 'outbound.16k', 'stereo.8k'];
/** A different byte per frame, so a misplaced frame cannot pass for the right one. */
const frameByte = (track: 'inbound' | 'outbound', i: number) => (track === 'inbound' ? i * 7 : i * 11 + 3) % 256;

/** Streams in real time for `ms`; returns how many frames per track were sent. */
async function streamFor(c: StreamClient, ms: number): Promise<number> {
  c.start();
  const t0 = Date.now();
  let i = 0;
  while (Date.now() - t0 < ms) {
    for (; i * 20 <= Date.now() - t0; i++) {
      for (const t of ['inbound', 'outbound'] as const) c.media(t, i * 20, new Uint8Array(160).fill(frameByte(t, i)));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return i;
}

function checkTrackPrefix(file: string, track: 'inbound' | 'outbound', frames: number): number {
  const { samples } = readWav(file);
  for (let k = 0; k < samples.length; k++) {
    const want = MULAW_TO_PCM16[frameByte(track, Math.floor(k / 160))];
    if (samples[k] !== want) assert.fail(`${path.basename(file)} sample ${k}: ${samples[k]} != ${want}`);
  }
  assert.ok(samples.length <= frames * 160);
  return samples.length;
}

test('SIGKILL mid-call: after restart every file is valid and holds all audio up to within 1 s of the kill', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const port = await freePort();
  const first = await spawnGateway(dir, port);
  const c = await connectStream(first);
  const frames = await streamFor(c, 3000);
  first.proc.kill('SIGKILL');
  await first.exited;

  const callDir = path.join(dir, c.callSid);
  for (const f of FILES) readWav(path.join(callDir, `${c.streamSid}.${f}.wav`)); // valid even before repair

  const second = await spawnGateway(dir, port);
  try {
    const kept = checkTrackPrefix(path.join(callDir, `${c.streamSid}.inbound.8k.wav`), 'inbound', frames);
    checkTrackPrefix(path.join(callDir, `${c.streamSid}.outbound.8k.wav`), 'outbound', frames);
    assert.ok(frames * 160 - kept <= 8000, `lost ${(frames * 160 - kept) / 8} ms at the kill (must be < 1000)`);
    const size = fs.statSync(path.join(callDir, `${c.streamSid}.inbound.8k.wav`)).size;
    assert.equal(size, 44 + kept * 2, 'the repaired header matches the data on disk');
    for (const f of FILES) {
      const w = readWav(path.join(callDir, `${c.streamSid}.${f}.wav`));
      assert.ok(w.samples.length / w.channels >= (kept * w.rate) / 8000 - 400, `${f} holds about as much audio`);
    }
  } finally {
    second.proc.kill('SIGTERM');
    await second.exited;
  }
  const store = await openStore({ databasePath: path.join(dir, 'callvault.sqlite') });
  try {
    const stream = await store.streams.get(c.streamSid);
    assert.equal(stream?.state, 'interrupted');
    const captures = await store.captures.listByStream(c.streamSid);
    assert.equal(captures.length, 5);
    assert.ok(captures.every((x) => x.state === 'interrupted' && x.samples > 0));
  } finally {
    await store.close();
  }
});

test('SIGTERM closes every open capture cleanly before the process exits', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const gw = await spawnGateway(dir, await freePort());
  const c = await connectStream(gw);
  const frames = await streamFor(c, 1000);
  await new Promise((r) => setTimeout(r, 100)); // let the last frames arrive
  gw.proc.kill('SIGTERM');
  const { code } = await gw.exited;
  assert.equal(code, 0, gw.output());
  const callDir = path.join(dir, c.callSid);
  const kept = checkTrackPrefix(path.join(callDir, `${c.streamSid}.inbound.8k.wav`), 'inbound', frames);
  assert.equal(kept, frames * 160, 'every frame sent before the signal is on disk');
  const w16 = readWav(path.join(callDir, `${c.streamSid}.inbound.16k.wav`));
  assert.equal(w16.samples.length, 2 * kept, 'the 16 kHz file was drained to exactly twice the 8 kHz one');
  const store = await openStore({ databasePath: path.join(dir, 'callvault.sqlite') });
  try {
    const stream = await store.streams.get(c.streamSid);
    assert.equal(stream?.state, 'closed');
    assert.equal(stream?.closeReason, 'shutdown');
    const captures = await store.captures.listByStream(c.streamSid);
    assert.ok(captures.every((x) => x.state === 'complete'));
  } finally {
    await store.close();
  }
});
