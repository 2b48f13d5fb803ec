// Reconciliation of a Vonage call: the live capture is one leg (the customer's inbound track,
// captured by the real PcmSession from 16 kHz frames) and the cloud is Vonage's split recording,
// a 16 kHz stereo WAV that starts a known time earlier. The customer's final audio must be the
// capture, the agent's the cloud, and the offset right in seconds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { initResampler, resampleAll } from '../../src/audio/resample.js';
import { wavHeader } from '../../src/audio/wav.js';
import { PcmSession } from '../../src/capture/pcm-session.js';
import { reconcile, type ReconcileInput } from '../../src/jobs/reconcile/run.js';
import { tempDir } from '../helpers/gateway.js';
import { channel, readWav } from '../helpers/wav.js';
import { speech } from '../providers/vonage-ws-client.js';

const CALL = 'VN' + '1'.repeat(32);
const STREAM = 'VS' + '2'.repeat(32);
const REC = 'VR' + '3'.repeat(32);
/** The cloud starts this many 16 kHz samples before the capture: 0.7321875 s, half an 8 kHz sample. */
const LEAD_16K = 11_715;

let customer16: Int16Array;
let agent16: Int16Array;

function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const zeros = (n: number) => new Int16Array(n);

function writeWav(file: string, rate: number, channels: Int16Array[]): void {
  const n = Math.max(...channels.map((c) => c.length));
  const data = new Int16Array(n * channels.length);
  channels.forEach((c, ch) => c.forEach((v, i) => (data[i * channels.length + ch] = v)));
  fs.writeFileSync(file, Buffer.concat([wavHeader({ sampleRate: rate, channels: channels.length }, data.byteLength), Buffer.from(data.buffer)]));
}

/** Line hiss so the cloud's pauses are not digital silence, as on a real recording. */
const hiss = (x: Int16Array, seed: number) => Int16Array.from(x, (v, i) => v + (((i * 7919 + seed) % 41) - 20));

/** Captures `pcm` through the real one-leg capture in 20 ms frames; returns the call folder. */
async function captureLeg(root: string, pcm: Int16Array): Promise<string> {
  const session = new PcmSession({ recordingsDir: root, callSid: CALL, streamSid: STREAM, track: 'inbound', inputRate: 16000, flushMs: 500 });
  const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  for (let at = 0; at < bytes.length; at += 640) session.audio(bytes.subarray(at, at + 640), Date.now());
  await session.close('test');
  return path.join(root, CALL);
}

function snr(x: Int16Array, ref: Int16Array, lag: number): number {
  let s = 0;
  let n = 0;
  for (let i = 400; i < Math.min(x.length, ref.length - lag) - 400; i++) {
    s += ref[i + lag]! ** 2;
    n += (x[i]! - ref[i + lag]!) ** 2;
  }
  return 10 * Math.log10(s / Math.max(n, 1e-9));
}

before(async () => {
  await initResampler();
  const c1 = speech('Hello, I am calling about the invoice you sent me on Monday morning.', 16000, 'en-gb+f3');
  const a1 = speech('Of course. Let me open your account and find that invoice for you.', 16000, 'en-us');
  const c2 = speech('It shows two deliveries, but I only received one parcel last week.', 16000, 'en-gb+f3');
  const gap = 6400;
  // Who speaks when: customer, agent, customer, with pauses between turns.
  customer16 = concat(c1, zeros(gap + a1.length + gap), c2, zeros(gap));
  agent16 = concat(zeros(c1.length + gap), a1, zeros(gap + c2.length + gap));
});

async function run(cloudChannels: Int16Array[], withLocal = true) {
  const root = tempDir('cv-recv-');
  const dir = withLocal ? await captureLeg(root, customer16) : path.join(root, CALL);
  fs.mkdirSync(dir, { recursive: true });
  writeWav(path.join(dir, `cloud.${REC}.wav`), 16000, cloudChannels);
  const input: ReconcileInput = {
    callDir: dir, callSid: CALL, agentTrack: 'outbound',
    local: withLocal ? { streamSid: STREAM, files: { inbound: `${STREAM}.inbound.8k.wav` }, gaps: { inbound: [] } } : null,
    cloud: { recordingSid: REC, file: `cloud.${REC}.wav` },
    absent: withLocal ? {} : { local: 'no stream' },
  };
  return { report: await reconcile(input), dir };
}

test('one local track + a 16 kHz split cloud: offset in seconds to 1 ms, customer from the capture, agent from the cloud', async () => {
  const lead = hiss(zeros(LEAD_16K), 1);
  const left = hiss(concat(lead, customer16), 2);
  const right = hiss(concat(lead, agent16), 3);
  const { report, dir } = await run([left, right]);

  const truth = LEAD_16K / 16000;
  assert.ok(Math.abs(report.offset_s! - truth) < 0.001, `offset ${report.offset_s} s, truth ${truth} s`);
  assert.ok(Math.abs(report.offset_by_track_s!.inbound! - truth) < 0.001);
  assert.equal(report.offset_by_track_s!.outbound, null, 'no local outbound track to measure');
  assert.equal(report.mapping.clear, true);
  assert.deepEqual(report.speakers, { agent: { track: 'outbound', cloud_channel: 1 }, customer: { track: 'inbound', cloud_channel: 0 } });
  assert.deepEqual(report.sources.local, { stream_sid: STREAM, tracks: ['inbound'] });
  assert.deepEqual(report.sources.cloud, { recording_sid: REC, sample_rate: 16000 });
  assert.equal(report.verdict, 'repaired');
  assert.match(report.reason, /no outbound track, taken from the cloud recording/);
  assert.equal(report.coverage_percent.local.agent, 0);
  assert.equal(report.coverage_percent.final.agent, 100);
  assert.equal(report.coverage_percent.final.customer, 100);

  const local8 = readWav(path.join(dir, `${STREAM}.inbound.8k.wav`)).samples;
  const final = readWav(path.join(dir, 'final.stereo.wav'));
  const finalCustomer = channel(final, 1);
  assert.deepEqual(finalCustomer.subarray(0, local8.length), local8, 'the customer is the live capture, sample for sample');
  assert.deepEqual(readWav(path.join(dir, 'final.customer.16k.wav')).samples, resampleAll(finalCustomer, 8000, 16000));

  // The agent's final audio is the cloud's right channel from t = 0 on: the agent's speech.
  const agentFinal16 = readWav(path.join(dir, 'final.agent.16k.wav')).samples;
  const fit = [-2, -1, 0, 1, 2].map((lag) => snr(agentFinal16, right.subarray(LEAD_16K), lag));
  const best = fit.indexOf(Math.max(...fit)) - 2;
  assert.ok(Math.abs(best) <= 1, `agent aligned within one 16 kHz sample (best lag ${best})`);
  assert.ok(Math.max(...fit) > 30, `agent final vs the cloud: ${fit.map((x) => x.toFixed(1)).join(' ')} dB`);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.') || f.endsWith('.part')), [], 'the 8 kHz view is removed');
});

test('a 16 kHz cloud alone: durations and the timeline stay in seconds', async () => {
  const { report, dir } = await run([customer16, agent16], false);
  assert.equal(report.verdict, 'cloud-only');
  assert.equal(report.timeline.duration_s, Math.round((customer16.length / 16000) * 1e4) / 1e4);
  assert.equal(readWav(path.join(dir, 'final.stereo.wav')).samples.length / 2, customer16.length / 2);
});
