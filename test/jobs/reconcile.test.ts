// Reconciliation against known truth: the cloud recording is built from the same real speech the
// live capture holds, as Twilio would have it, with a start offset, either channel order, drift,
// frames dropped from the local capture, or a cloud recording cut short.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { MULAW_TO_PCM16 } from '../../src/audio/mulaw.js';
import { initResampler, resampleAll } from '../../src/audio/resample.js';
import { wavHeader } from '../../src/audio/wav.js';
import { conversation, speak } from '../../src/cli/simulator/audio-source.js';
import { reconcile, type ReconcileInput } from '../../src/jobs/reconcile/run.js';
import { SOX_S16, int16FromLE, runSox } from '../audio/helpers.js';
import { tempDir } from '../helpers/gateway.js';
import { channel, readWav } from '../helpers/wav.js';

const STREAM = 'MZ' + 'a'.repeat(32);
const RE = 'RE' + 'b'.repeat(32);
let speech: { inbound: Int16Array; outbound: Int16Array };

function writeWav(file: string, channels: Int16Array[]): void {
  const n = Math.max(...channels.map((c) => c.length));
  const data = new Int16Array(n * channels.length);
  channels.forEach((c, ch) => c.forEach((v, i) => (data[i * channels.length + ch] = v)));
  fs.writeFileSync(file, Buffer.concat([wavHeader({ sampleRate: 8000, channels: channels.length }, data.byteLength), Buffer.from(data.buffer)]));
}

interface Case {
  offsetS?: number;
  swap?: boolean;
  driftPpm?: number;
  drop?: { inbound?: number[]; outbound?: number[] };
  cloudSeconds?: number;
  noCloud?: boolean;
  noLocal?: boolean;
  otherSpeech?: Int16Array[];
}

/** Noise before the stream starts: the recording runs while the call is set up. */
const lead = (n: number) => Int16Array.from({ length: n }, (_, i) => Math.round(300 * Math.sin(i * 0.7) * Math.sin(i * 0.013)));

async function run(c: Case) {
  const dir = tempDir('cv-rec-');
  const drop = { inbound: c.drop?.inbound ?? [], outbound: c.drop?.outbound ?? [] };
  const gaps = { inbound: [] as Array<[number, number]>, outbound: [] as Array<[number, number]> };
  for (const t of ['inbound', 'outbound'] as const) {
    const local = speech[t].slice();
    for (const f of drop[t]) {
      local.fill(0, f * 160, (f + 1) * 160);
      gaps[t].push([f * 0.02, (f + 1) * 0.02]);
    }
    writeWav(path.join(dir, `${STREAM}.${t}.8k.wav`), [local]);
  }
  const offset = Math.round((c.offsetS ?? 1) * 8000);
  let cloud: Int16Array[] = (c.otherSpeech ?? [speech.inbound, speech.outbound]).map((s) => Int16Array.from([...lead(offset), ...s]));
  if (c.driftPpm) cloud = cloud.map((s) => int16FromLE(runSox(new Uint8Array(s.buffer), SOX_S16.concat(['-r', '8000']), SOX_S16.concat(['-r', '8000']), ['speed', String(1 / (1 + c.driftPpm! * 1e-6))])));
  if (c.cloudSeconds !== undefined) cloud = cloud.map((s) => s.slice(0, offset + c.cloudSeconds! * 8000));
  if (c.swap) cloud.reverse();
  if (!c.noCloud) writeWav(path.join(dir, `cloud.${RE}.wav`), cloud);
  const input: ReconcileInput = {
    callDir: dir, callSid: 'CA' + 'c'.repeat(32), agentTrack: 'inbound',
    local: c.noLocal ? null : { streamSid: STREAM, files: { inbound: `${STREAM}.inbound.8k.wav`, outbound: `${STREAM}.outbound.8k.wav` }, gaps },
    cloud: c.noCloud ? null : { recordingSid: RE, file: `cloud.${RE}.wav` },
    absent: { ...(c.noCloud ? { cloud: 'absent: test' } : {}), ...(c.noLocal ? { local: 'no stream' } : {}) },
  };
  const report = await reconcile(input);
  const stereo = readWav(path.join(dir, 'final.stereo.wav'));
  return { report, dir, offset, agent: channel(stereo, 0), customer: channel(stereo, 1) };
}

/** Frames in the middle of speech on each track. */
function speechFrames(pcm: Int16Array, count: number): number[] {
  const loud: number[] = [];
  for (let f = 10; f < pcm.length / 160 - 10; f++) {
    let e = 0;
    for (let i = f * 160; i < (f + 1) * 160; i++) e += Math.abs(pcm[i]!);
    if (e / 160 > 800) loud.push(f);
  }
  return Array.from({ length: count }, (_, k) => loud[Math.floor(((k + 0.5) * loud.length) / count)]!);
}

before(async () => {
  await initResampler();
  const agent = await speak('Thank you for calling. Your recording is safe with us, every sample of it.');
  const customer = await speak('Good to hear. I lost one last week and I need it for a dispute.', { voice: 'en-us' });
  const call = conversation([{ track: 'inbound', audio: agent, gapMs: 200 }, { track: 'outbound', audio: customer, gapMs: 300 }, { track: 'inbound', audio: agent, gapMs: 300 }]);
  const decode = (b: Uint8Array) => Int16Array.from(b, (x) => MULAW_TO_PCM16[x]!);
  speech = { inbound: decode(call.inbound), outbound: decode(call.outbound) };
});

test('lost frames are filled from the cloud: the final audio equals the original speech, sample by sample', async () => {
  const drop = { inbound: speechFrames(speech.inbound, 6), outbound: speechFrames(speech.outbound, 4) };
  const { report, agent, customer, offset } = await run({ offsetS: 1.3, drop });
  assert.equal(report.verdict, 'repaired');
  assert.equal(report.offset_s! * 8000, offset, 'offset to the sample');
  assert.equal(report.mapping.clear, true);
  assert.equal(report.speakers.agent.cloud_channel, 0);
  assert.deepEqual(agent, speech.inbound);
  assert.deepEqual(customer, speech.outbound);
  const localGaps = report.gaps.local as Array<{ speaker: string; start: number; cloud_has_audio: boolean; filled_from: string | null }>;
  assert.equal(localGaps.filter((g) => g.speaker === 'agent').length, 6);
  assert.ok(localGaps.every((g) => g.cloud_has_audio && g.filled_from === 'cloud'));
  assert.deepEqual(localGaps.filter((g) => g.speaker === 'agent').map((g) => g.start), drop.inbound.map((f) => f * 0.02).sort((a, b) => a - b).map((x) => Math.round(x * 1e4) / 1e4));
  assert.equal(report.coverage_percent.final.agent, 100);
  assert.ok(report.coverage_percent.local.agent < 100);
});

test('channel order either way is found from the audio, and a negative offset works', async () => {
  for (const [swap, offsetS] of [[true, 0.3], [false, 2.9], [true, 3]] as const) {
    const { report, agent, customer, offset } = await run({ swap, offsetS });
    assert.equal(report.verdict, 'match');
    assert.equal(report.speakers.agent.cloud_channel, swap ? 1 : 0, `swap=${swap}`);
    assert.ok(report.mapping.score! > report.mapping.alternative_score!);
    assert.equal(Math.round(report.offset_s! * 8000), offset);
    assert.deepEqual(agent, speech.inbound);
    assert.deepEqual(customer, speech.outbound);
  }
});

test('a few ppm of drift are measured, and the offset stays within 1 ms', async () => {
  const { report, offset } = await run({ offsetS: 0.8, driftPpm: 40 });
  assert.ok(Math.abs(report.offset_s! * 8000 - offset) < 8, `offset ${report.offset_s}`);
  assert.ok(Math.abs(report.drift_ppm! - 40) < 15, `drift ${report.drift_ppm} ppm`);
  assert.equal(report.tracks_agree, true);
});

test('a cloud recording cut short: its gap is reported, local gaps beyond it stay unfilled (partial)', async () => {
  const late = speechFrames(speech.inbound, 3).slice(-1);
  const { report, agent } = await run({ cloudSeconds: 2, drop: { inbound: late } });
  assert.equal(report.verdict, 'partial');
  const cloudGaps = report.gaps.cloud as Array<{ speaker: string; start: number; local_has_audio: boolean }>;
  assert.ok(cloudGaps.some((g) => g.speaker === 'agent' && Math.abs(g.start - 2) < 0.01 && g.local_has_audio));
  assert.ok(agent.subarray(late[0]! * 160, (late[0]! + 1) * 160).every((s) => s === 0), 'nothing invented');
  assert.ok(report.coverage_percent.cloud.agent < 100);
});

test('local-only and cloud-only calls get their final audio and say why', async () => {
  const localOnly = await run({ noCloud: true, drop: { inbound: [50] } });
  assert.equal(localOnly.report.verdict, 'local-only');
  assert.match(localOnly.report.reason, /absent: test/);
  assert.deepEqual(localOnly.customer, speech.outbound);
  const cloudOnly = await run({ noLocal: true, offsetS: 0.5 });
  assert.equal(cloudOnly.report.verdict, 'cloud-only');
  assert.equal(cloudOnly.report.mapping.assumed, true);
  assert.deepEqual(cloudOnly.agent.subarray(4000), speech.inbound, 'channel 1 is the parent leg (inbound)');
});

test('an unrelated cloud recording is a mismatch: the final audio is the live capture alone', async () => {
  const other = await speak('This is a completely different call about the weather tomorrow in Lisbon.');
  const noise = Int16Array.from(other, (x) => MULAW_TO_PCM16[x]!);
  const { report, customer } = await run({ otherSpeech: [noise, noise.slice().reverse()] });
  assert.equal(report.verdict, 'mismatch');
  assert.equal(report.mapping.clear, false);
  assert.deepEqual(customer, speech.outbound);
});

test('the 16 kHz finals are the resampled 8 kHz finals', async () => {
  const { dir, agent } = await run({ drop: { inbound: [40, 41] } });
  assert.deepEqual(readWav(path.join(dir, 'final.agent.16k.wav')).samples, resampleAll(agent, 8000, 16000));
  assert.ok(fs.existsSync(path.join(dir, 'reconciliation.json')));
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.part')), []);
});
