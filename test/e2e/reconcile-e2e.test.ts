// Through the real app: a simulated call with lost frames is captured live, Twilio's callback
// announces the cloud recording (held by the fake Twilio, built from the same audio), the
// download job fetches it, and reconciliation repairs the capture from it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { simulateCall } from '../../src/cli/simulator/call.js';
import { fakeSid } from '../fakes/twilio-api.js';
import { postRecordingStatus, settled, startCloudRig } from '../helpers/cloud.js';
import { AUTH_TOKEN } from '../helpers/gateway.js';
import { streamClosed } from '../helpers/stream-client.js';
import { PUBLIC } from '../helpers/twilio-sign.js';
import { channel, readWav } from '../helpers/wav.js';

test('simulated call → recording callback → download → reconciliation', { timeout: 60_000 }, async () => {
  const rig = await startCloudRig();
  try {
    const agent = await speak('Hello, you are speaking with the support desk.');
    const customer = await speak('Hi, I would like a copy of my call.', { voice: 'en-us' });
    const call = conversation([{ track: 'inbound', audio: agent, gapMs: 200 }, { track: 'outbound', audio: customer, gapMs: 300 }]);
    const sim = await simulateCall({
      gatewayUrl: rig.gw.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, direction: 'outbound', to: '+15551234567',
      ...call, realtime: false, impairments: { lossRate: 0.03, seed: 11 },
    });
    assert.ok(sim.lost.length > 0, 'frames were lost on the way');
    await streamClosed(rig.gw, sim.streamSid);

    // Twilio's recording started 1.2 s before the stream and holds every frame.
    const lead = new Int16Array(9600);
    const decode = (b: Uint8Array) => Int16Array.from(b, (x) => MULAW_TO_PCM16[x]!);
    const truth = { inbound: decode(sim.tracks.inbound), outbound: decode(sim.tracks.outbound) };
    const recordingSid = fakeSid('RE', 900);
    rig.fake.addRecording({
      sid: recordingSid, callSid: sim.callSid, channels: 2, durationS: Math.round((lead.length + truth.inbound.length) / 8000),
      audio: { left: Int16Array.from([...lead, ...truth.inbound]), right: Int16Array.from([...lead, ...truth.outbound]) },
    });
    assert.equal((await postRecordingStatus(rig, recordingSid, 'completed')).statusCode, 204);
    assert.equal((await settled(rig, recordingSid)).state, 'ready');

    let rec;
    for (let i = 0; i < 300 && !rec; i++) {
      rec = await rig.gw.app.gateway.store.reconciliations.get(sim.callSid);
      if (!rec) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(rec, 'a reconciliation was stored');
    assert.equal(rec.verdict, 'repaired');
    assert.equal(rec.report.offset_s, 1.2);
    const stereo = readWav(path.join(rig.gw.dir, sim.callSid, 'final.stereo.wav'));
    assert.deepEqual(channel(stereo, 0), truth.inbound, 'the agent (inbound on a browser call) is whole again');
    assert.deepEqual(channel(stereo, 1), truth.outbound);
  } finally {
    await rig.close();
  }
});
