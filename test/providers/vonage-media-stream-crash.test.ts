// A Vonage leg being captured when the gateway is SIGKILLed: every file is a valid WAV at once,
// and the next start repairs them and marks the stream and its captures interrupted.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/db.js';
import { freePort, spawnGateway } from '../helpers/child-gateway.js';
import { tempDir } from '../helpers/gateway.js';
import { readWav } from '../helpers/wav.js';
import { connectVonage, connectedFrame, speech, vonageCallId } from './vonage-ws-client.js';

const SECRET = 'vonage-crash-test-secret-0123456789';

test('SIGKILL mid-leg: files valid before and after repair, holding the audio up to within 1 s of the kill', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const databasePath = path.join(dir, 'callvault.sqlite');
  const callSid = vonageCallId(0xc0ffee);
  const setup = await openStore({ databasePath });
  await setup.calls.upsert({ callSid, provider: 'vonage', direction: 'outbound', agentTrack: 'outbound', customerTrack: 'inbound', status: 'answered' });
  await setup.close();

  const port = await freePort();
  const env = { STREAM_TOKEN_SECRET: SECRET, CLOUD_RECORDING: 'false' };
  const first = await spawnGateway(dir, port, env);
  const pcm = speech('The gateway is about to be killed while this leg is still being captured. Every second counts.', 16000);
  const c = await connectVonage(first);
  c.text(connectedFrame(SECRET, { callSid }));
  // Real time: 20 ms frames every 20 ms for 2.5 s.
  const t0 = Date.now();
  let sent = 0;
  while (Date.now() - t0 < 2500) {
    for (; sent * 320 < pcm.length && sent * 20 <= Date.now() - t0; sent++) c.binary(Buffer.from(pcm.buffer, pcm.byteOffset + sent * 640, 640));
    await new Promise((r) => setTimeout(r, 5));
  }
  first.proc.kill('SIGKILL');
  await first.exited;

  const store = await openStore({ databasePath });
  const [stream] = await store.streams.listByCall(callSid);
  await store.close();
  assert.ok(stream, 'the stream was recorded before the kill');
  const file = (name: string) => path.join(dir, callSid, `${stream.streamSid}.${name}.wav`);
  for (const name of ['inbound.8k', 'inbound.16k', 'stereo.8k']) readWav(file(name)); // valid even before repair

  const second = await spawnGateway(dir, port, env);
  second.proc.kill('SIGTERM');
  await second.exited;
  const kept = readWav(file('inbound.16k')).samples;
  assert.ok(kept.length > 0 && kept.length <= sent * 320);
  assert.deepEqual(kept, pcm.subarray(0, kept.length), 'what survived is the audio sent, in place');
  assert.ok(sent * 320 - kept.length <= 16000, `lost ${(sent * 320 - kept.length) / 16} ms at the kill (must be < 1000)`);
  const w8 = readWav(file('inbound.8k'));
  assert.ok(Math.abs(w8.samples.length - kept.length / 2) <= 480, 'the 8k file holds about as much');

  const after = await openStore({ databasePath });
  try {
    assert.equal((await after.streams.get(stream.streamSid))?.state, 'interrupted');
    const captures = await after.captures.listByStream(stream.streamSid);
    assert.equal(captures.length, 3);
    assert.ok(captures.every((x) => x.state === 'interrupted' && x.samples > 0));
    assert.equal(captures.find((x) => x.sampleRate === 16000)?.samples, kept.length);
  } finally {
    await after.close();
  }
});
