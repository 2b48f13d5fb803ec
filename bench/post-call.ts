// Post-call throughput at scale (issue 10): calls per minute through download, reconciliation and
// transcription, for one gateway and for two on one machine, against the fake Twilio and OpenAI
// servers, with Postgres and an S3-compatible store (s3rver). The calls are captured first (the
// spool uploaded); the clock starts at the first recording callback and stops when the last
// call's transcript is stored. Needs a Postgres server: run it under scripts/with-postgres.sh.
//
//   ./scripts/with-postgres.sh npx tsx bench/post-call.ts [--calls 16] [--runs 2]
import knexFactory from 'knex';
import { MULAW_TO_PCM16 } from '../src/audio/mulaw.js';
import { conversation, speak } from '../src/cli/simulator/audio-source.js';
import { simulateCall } from '../src/cli/simulator/call.js';
import { startFakeOpenAI } from '../test/fakes/openai.js';
import { fakeSid, startFakeTwilio } from '../test/fakes/twilio-api.js';
import { freePort, spawnGateway, type ChildGateway } from '../test/helpers/child-gateway.js';
import { ACCOUNT_SID, AUTH_TOKEN, tempDir } from '../test/helpers/gateway.js';
import { createDatabase } from '../test/helpers/postgres.js';
import { startS3 } from '../test/helpers/s3.js';
import { PUBLIC, signedForm } from '../test/helpers/twilio-sign.js';
import { machine, option } from './lib/child.js';
import { fmt, median, table } from './lib/stats.js';

const calls = option('calls', 16);
const runs = option('runs', 2);
const OPENAI_KEY = 'sk-bench-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(f: () => Promise<boolean>, timeoutMs: number, what: string) {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

async function pass(gatewayCount: number, audio: Awaited<ReturnType<typeof makeAudio>>): Promise<{ seconds: number; perMinute: number; audioS: number }> {
  const s3 = await startS3();
  const db = await createDatabase();
  const twilio = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  const ai = await startFakeOpenAI({ apiKey: OPENAI_KEY });
  const knex = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 2 } });
  const gateways: ChildGateway[] = [];
  try {
    const env = {
      ...s3.env, DATABASE_URL: db.url, TWILIO_API_BASE_URL: twilio.url, STREAM_TOKEN_SECRET: 'bench-stream-token-secret-0123456789',
      OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${ai.url}/v1`, LIVE_TRANSCRIPTION: 'false',
      JOB_POLL_MS: '50', JOB_CONCURRENCY: '2', CLOUD_SWEEP_AFTER_S: '3600', LOG_LEVEL: 'warn',
    };
    for (let g = 0; g < gatewayCount; g++) gateways.push(await spawnGateway(tempDir('cv-bench-gw-'), await freePort(), { ...env, INSTANCE_ID: `bench-${g}` }));
    const decode = (x: Uint8Array) => Int16Array.from(x, (v) => MULAW_TO_PCM16[v]!);
    const callbacks: Array<{ gw: ChildGateway; params: Record<string, string> }> = [];
    for (let i = 0; i < calls; i++) {
      const gw = gateways[i % gatewayCount]!;
      const sim = await simulateCall({
        gatewayUrl: gw.url, publicUrl: PUBLIC, authToken: AUTH_TOKEN, accountSid: ACCOUNT_SID, direction: 'outbound', to: '+15551234567',
        ...audio, realtime: false,
      });
      const left = decode(sim.tracks.inbound);
      const sid = fakeSid('RE', 1000 + i);
      twilio.addRecording({ sid, callSid: sim.callSid, channels: 2, durationS: Math.round(left.length / 8000), audio: { left, right: decode(sim.tracks.outbound) } });
      callbacks.push({ gw, params: { ...twilio.statusCallbackParams(sid), RecordingStatus: 'completed' } });
    }
    await waitFor(async () => Number((await knex('streams').whereNotNull('stored_at').count({ n: '*' }))[0]?.n) === calls, 120_000, 'captures stored');
    const t0 = performance.now();
    await Promise.all(callbacks.map(async ({ gw, params }) => {
      const req = signedForm('/twilio/recording-status', params);
      const res = await fetch(gw.url + req.url, { method: 'POST', headers: req.headers, body: req.payload });
      if (res.status !== 204) throw new Error(`callback answered ${res.status}`);
    }));
    await waitFor(async () => Number((await knex('jobs').where({ kind: 'transcribe', state: 'succeeded' }).count({ n: '*' }))[0]?.n) === calls, 600_000, 'transcripts');
    const seconds = (performance.now() - t0) / 1000;
    const failed = Number((await knex('jobs').where({ state: 'failed' }).count({ n: '*' }))[0]?.n);
    if (failed > 0) throw new Error(`${failed} jobs failed`);
    return { seconds, perMinute: calls / (seconds / 60), audioS: audio.inbound.length / 8000 };
  } finally {
    for (const g of gateways) g.proc.kill('SIGTERM');
    await Promise.all(gateways.map((g) => g.exited));
    await knex.destroy();
    await Promise.all([twilio.close(), ai.close()]);
    await db.drop();
    await s3.stop();
  }
}

async function makeAudio() {
  const agent = await speak('Thank you for calling the support desk. I can see your order here, it left our warehouse yesterday.');
  const customer = await speak('Thanks. Could you also send me a copy of this call and the transcript by email please?', { voice: 'en-us' });
  return conversation([{ track: 'inbound', audio: agent, gapMs: 300 }, { track: 'outbound', audio: customer, gapMs: 300 }, { track: 'inbound', audio: agent, gapMs: 300 }]);
}

async function main() {
  console.log(machine());
  const audio = await makeAudio();
  const rows: string[][] = [];
  for (const n of [1, 2]) {
    const got = [];
    for (let r = 0; r < runs; r++) got.push(await pass(n, audio));
    const per = got.map((g) => g.perMinute);
    rows.push([String(n), String(calls), fmt(got[0]!.audioS, 1), got.map((g) => fmt(g.seconds, 1)).join(' / '), fmt(median(per), 1), per.map((p) => fmt(p, 1)).join(' / ')]);
  }
  console.log(table('Post-call throughput (download → reconciliation → transcription)', ['gateways', 'calls', 'call length s', 'seconds (each run)', 'calls/min (median)', 'calls/min (each run)'], rows));
}

await main();
