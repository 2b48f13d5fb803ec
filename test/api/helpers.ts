// Realistic calls for the API tests, made as reconcile-e2e makes them: the simulator answers the
// call through the voice webhook and streams it over a real WebSocket, the fake Twilio holds the
// cloud recording (built from the same audio), the callback sets the download off, and
// reconciliation writes the final files.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { simulateCall } from '../../src/cli/simulator/call.js';
import { mediaSigner, type MediaSigner } from '../../src/api/media.js';
import { fakeSid } from '../fakes/twilio-api.js';
import { postRecordingStatus, settled, type CloudRig } from '../helpers/cloud.js';
import { API_KEY, AUTH_TOKEN, type TestGateway } from '../helpers/gateway.js';
import { streamClosed } from '../helpers/stream-client.js';
import { PUBLIC } from '../helpers/twilio-sign.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let audio: Promise<{ inbound: Uint8Array; outbound: Uint8Array }> | undefined;
/** One espeak conversation for every call of a test file: TTS is the slow part. */
export function callAudio() {
  audio ??= (async () => {
    const first = await speak('Hello, you are speaking with the support desk.');
    const second = await speak('Hi, I would like a copy of my call.', { voice: 'en-us' });
    return conversation([{ track: 'inbound', audio: first, gapMs: 200 }, { track: 'outbound', audio: second, gapMs: 300 }]);
  })();
  return audio;
}

/** No job of the call is running or due: the call's post-call work is done (a sweep due in
 *  minutes does not count). */
export async function quiet(gw: TestGateway, callSid: string): Promise<void> {
  const { store } = gw.app.gateway;
  await waitFor(`the jobs of ${callSid} to finish`, async () => {
    const jobs = await Promise.all((await store.calls.relatedJobIds(callSid)).map((id) => store.jobs.get(id)));
    return jobs.every((j) => j && (j.state === 'succeeded' || j.state === 'failed' || (j.state === 'queued' && j.runAt > Date.now() + 10_000)));
  });
}

export interface FullCall {
  callSid: string;
  streamSid: string;
  recordingSid: string;
}

/** A finished call with every artifact: capture, cloud copy, final files, reconciliation. */
export async function fullCall(rig: CloudRig, n: number, direction: 'inbound' | 'outbound'): Promise<FullCall> {
  const tracks = await callAudio();
  const sim = await simulateCall({
    gatewayUrl: rig.gw.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, direction, ...tracks, realtime: false,
    ...(direction === 'outbound' ? { to: '+15551234567' } : {}),
  });
  await streamClosed(rig.gw, sim.streamSid);
  const decode = (b: Uint8Array) => Int16Array.from(b, (x) => MULAW_TO_PCM16[x]!);
  const recordingSid = fakeSid('RE', n);
  const left = decode(sim.tracks.inbound);
  rig.fake.addRecording({
    sid: recordingSid, callSid: sim.callSid, channels: 2, durationS: Math.round(left.length / 8000),
    audio: { left, right: decode(sim.tracks.outbound) },
  });
  assert.equal((await postRecordingStatus(rig, recordingSid, 'completed')).statusCode, 204);
  assert.equal((await settled(rig, recordingSid)).state, 'ready');
  await waitFor('the reconciliation', () => rig.gw.app.gateway.store.reconciliations.get(sim.callSid));
  await quiet(rig.gw, sim.callSid);
  return { callSid: sim.callSid, streamSid: sim.streamSid, recordingSid };
}

/** An API request with the test key (or the headers given). */
export function api(gw: TestGateway, method: 'GET' | 'DELETE', url: string, headers: Record<string, string> = { 'x-api-key': API_KEY }) {
  return gw.app.inject({ method, url, headers });
}

/** The gateway's own signer: the same secret (kept in the store) and settings. */
export async function signerOf(gw: TestGateway): Promise<MediaSigner> {
  const secret = await gw.app.gateway.store.settings.get('media_url_secret');
  assert.ok(secret, 'the gateway keeps its media secret in the store');
  return mediaSigner(secret, gw.config.publicUrl, gw.config.api.mediaUrlTtlS);
}

/** A signed media URL as the gateway would fetch it: path and query, no host. */
export const local = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

export const json = <T>(res: LightMyRequestResponse) => res.json<T>();
