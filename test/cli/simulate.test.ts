import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, it } from 'node:test';
import twilio from 'twilio';
import { runCli } from '../../src/cli/simulate.js';
import { startFakeGateway, type FakeGateway } from './fake-gateway.js';

const TOKEN = 'cli-test-token';
const PUBLIC = 'https://tunnel.example';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

let gw: FakeGateway;
let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'cv-cli-')); });
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => gw?.close());

describe('simulate CLI', () => {
  it('plays spoken lines with impairments, signed with the env defaults', async () => {
    gw = await startFakeGateway({ publicUrl: PUBLIC });
    const c = capture();
    const code = await runCli(
      ['--gateway', gw.url, '--say', 'hello there', '--say-outbound', 'hi', '--fast', '--loss', '0.1', '--dup', '0.1', '--seed', '3'],
      c.io, { authToken: TOKEN, publicUrl: PUBLIC, port: 1 });
    assert.equal(code, 0, c.err.join('\n'));
    const voice = gw.voice[0];
    assert.ok(voice && twilio.validateRequest(TOKEN, String(voice.headers['x-twilio-signature']), `${PUBLIC}/twilio/voice`, voice.params));
    const text = c.out.join('\n');
    assert.match(text, new RegExp(`call +${voice.params.CallSid} \\(inbound\\)`));
    assert.match(text, /frames +\d+ sent, [1-9]\d* duplicated, [1-9]\d* lost/);
    assert.match(text, new RegExp(`recordings>/${voice.params.CallSid}/`));
    const events = gw.streams[0]?.messages.map((m) => m.data.event);
    assert.deepEqual([events?.[0], events?.[1], events?.at(-1)], ['connected', 'start', 'stop']);
  });

  it('plays WAV files and warns when requests are unsigned', async () => {
    gw = await startFakeGateway();
    const wav = join(dir, 'tone.wav');
    await promisify(execFile)('sox', ['-n', '-r', '16000', '-c', '2', wav, 'synth', '0.1', 'sine', '500']);
    const c = capture();
    const code = await runCli(['--gateway', gw.url, '--inbound', wav, '--outbound', wav, '--fast', '--direction', 'outbound', '--end', 'close'], c.io, { port: 1 });
    assert.equal(code, 0, c.err.join('\n'));
    assert.match(c.err.join('\n'), /unsigned/);
    assert.equal(gw.voice[0]?.params.From, 'client:agent');
    // 0.1 s at 8 kHz = 5 frames per track, no stop.
    assert.equal(gw.streams[0]?.messages.length, 2 + 10);
  });

  it('exits 1 with a clear message when the gateway is not reachable', async () => {
    gw = await startFakeGateway();
    await gw.close();
    const c = capture();
    assert.equal(await runCli(['--gateway', gw.url, '--say', 'x', '--fast'], c.io, { port: 1 }), 1);
    assert.match(c.err.join('\n'), /simulate: gateway not reachable at http:\/\/127\.0\.0\.1:\d+\/twilio\/voice: ECONNREFUSED/);
  });

  it('explains a 403', async () => {
    gw = await startFakeGateway({ voiceStatus: { status: 403, body: 'Forbidden' } });
    const c = capture();
    assert.equal(await runCli(['--gateway', gw.url, '--say', 'x', '--fast', '--auth-token', 'nope'], c.io, { port: 1 }), 1);
    assert.match(c.err.join('\n'), /answered 403: Forbidden[\s\S]*--auth-token and --public-url/);
  });

  it('exits 1 when the gateway closes the stream early', async () => {
    gw = await startFakeGateway({ closeAfterStart: { code: 1008, reason: 'bad token' } });
    const c = capture();
    assert.equal(await runCli(['--gateway', gw.url, '--say', 'hello there'], c.io, { port: 1 }), 1);
    assert.match(c.err.join('\n'), /closed the stream early \(1008 bad token\)/);
  });

  it('rejects bad arguments and prints help', async () => {
    for (const args of [['--loss', '2'], ['--direction', 'sideways'], ['--gateway', 'ftp://x'], ['--nope'], ['--inbound', 'a.wav', '--say', 'b']]) {
      const c = capture();
      assert.equal(await runCli(args, c.io, { port: 1 }), 1, args.join(' '));
      assert.match(c.err.join('\n'), /see --help/, args.join(' '));
    }
    const c = capture();
    assert.equal(await runCli(['--help'], c.io, { port: 1 }), 0);
    assert.match(c.out.join('\n'), /Usage: npm run simulate/);
  });

  it('runs as a script through tsx', async () => {
    gw = await startFakeGateway();
    const { stdout } = await promisify(execFile)('node_modules/.bin/tsx', ['src/cli/simulate.ts', '--gateway', gw.url, '--say', 'hi', '--fast'],
      { env: { ...process.env, TWILIO_AUTH_TOKEN: '', PUBLIC_URL: '' } });
    assert.match(stdout, /^call +CA[0-9a-f]{32} \(inbound\)/m);
  });
});
