import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import twilio from 'twilio';
import { simulateCall, type SimulateResult } from '../../src/cli/simulator/call.js';
import { SimulatorError } from '../../src/cli/simulator/errors.js';
import { startFakeGateway, type FakeGateway, type FakeGatewayOptions, type StreamConnection } from './fake-gateway.js';

const TOKEN = 'test-auth-token-0123456789abcdef';
const PUBLIC = 'https://callvault.example.com';
const SID = /^[0-9a-f]{32}$/;

let gateways: FakeGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  gateways = [];
});

async function gateway(opts: FakeGatewayOptions = {}): Promise<FakeGateway> {
  const gw = await startFakeGateway({ publicUrl: PUBLIC, parameters: { token: 'tok&"<en>', leg: 'parent' }, ...opts });
  gateways.push(gw);
  return gw;
}

/** Distinct bytes per frame and track, so any misplaced byte shows up. */
function pattern(bytes: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + seed * 31 + (i >> 5)) & 0x7f);
}

interface MediaMessage {
  sequenceNumber: string;
  streamSid: string;
  media: { track: 'inbound' | 'outbound'; chunk: string; timestamp: string; payload: string };
}

function media(conn: StreamConnection): MediaMessage[] {
  return conn.messages.map((m) => m.data).filter((d) => d.event === 'media') as unknown as MediaMessage[];
}

/** What each received frame must carry: the bytes of the padded input at its timestamp. */
function assertPayloads(conn: StreamConnection, r: SimulateResult, input: { inbound: Uint8Array; outbound: Uint8Array }) {
  const got = media(conn);
  assert.equal(got.length, r.sent.length);
  got.forEach((m, i) => {
    const s = r.sent[i];
    assert.ok(s);
    assert.deepEqual(
      { track: m.media.track, timestamp: m.media.timestamp, chunk: m.media.chunk, seq: m.sequenceNumber },
      { track: s.track, timestamp: String(s.timestampMs), chunk: String(s.chunk), seq: String(s.sequenceNumber) });
    const start = s.timestampMs * 8;
    const want = new Uint8Array(s.bytes).fill(0xff);
    want.set(input[s.track].subarray(start, start + s.bytes));
    assert.deepEqual(new Uint8Array(Buffer.from(m.media.payload, 'base64')), want, `frame ${i}`);
  });
}

describe('simulateCall', () => {
  it('posts a signed voice webhook and streams every byte as Twilio would', async () => {
    const gw = await gateway();
    const input = { inbound: pattern(1000, 1), outbound: pattern(700, 2) };
    const r = await simulateCall({ gatewayUrl: gw.url, publicUrl: PUBLIC, authToken: TOKEN, direction: 'inbound', ...input, realtime: false });

    // The voice webhook: a form, signed over the public URL.
    const [voice] = gw.voice;
    assert.ok(voice);
    assert.equal(voice.url, '/twilio/voice');
    assert.equal(voice.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.ok(twilio.validateRequest(TOKEN, String(voice.headers['x-twilio-signature']), `${PUBLIC}/twilio/voice`, voice.params));
    assert.equal(twilio.validateRequest('wrong', String(voice.headers['x-twilio-signature']), `${PUBLIC}/twilio/voice`, voice.params), false);
    assert.match(voice.params.CallSid ?? '', /^CA[0-9a-f]{32}$/);
    assert.match(voice.params.AccountSid ?? '', /^AC[0-9a-f]{32}$/);
    assert.deepEqual({ ...voice.params, CallSid: r.callSid, AccountSid: r.accountSid }, {
      AccountSid: r.accountSid, ApiVersion: '2010-04-01', CallSid: r.callSid, CallStatus: 'ringing',
      Called: '+15005550006', Caller: '+15017122661', Direction: 'inbound', From: '+15017122661', To: '+15005550006',
    });
    assert.equal(voice.params.CallSid, r.callSid);

    // The upgrade: the TwiML's path on our host, signed over the wss:// URL from the TwiML.
    const [conn] = gw.streams;
    assert.ok(conn);
    assert.equal(conn.url, '/twilio/media-stream');
    assert.equal(r.signedStreamUrl, `wss://callvault.example.com/twilio/media-stream`);
    assert.ok(twilio.validateRequest(TOKEN, String(conn.headers['x-twilio-signature']), r.signedStreamUrl, {}));
    assert.equal(conn.binaryFrames, 0);

    // Messages: connected, start, media…, stop.
    const msgs = conn.messages.map((m) => m.data);
    assert.deepEqual(msgs[0], { event: 'connected', protocol: 'Call', version: '1.0.0' });
    assert.match(r.streamSid, /^MZ[0-9a-f]{32}$/);
    assert.deepEqual(msgs[1], {
      event: 'start', sequenceNumber: '1', streamSid: r.streamSid,
      start: {
        streamSid: r.streamSid, accountSid: r.accountSid, callSid: r.callSid, tracks: ['inbound', 'outbound'],
        customParameters: { token: 'tok&"<en>', leg: 'parent' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    assert.deepEqual(r.parameters, { token: 'tok&"<en>', leg: 'parent' });
    // 1000 bytes → 7 frames of 160 per track (the last one padded with silence).
    const frames = media(conn);
    assert.equal(frames.length, 14);
    assert.deepEqual(frames.map((m) => `${m.media.track[0]}${m.media.timestamp}`),
      ['i0', 'o0', 'i20', 'o20', 'i40', 'o40', 'i60', 'o60', 'i80', 'o80', 'i100', 'o100', 'i120', 'o120']);
    assert.deepEqual(frames.map((m) => m.media.chunk), frames.map((_, i) => String(i + 1)));
    assert.deepEqual(frames.map((m) => m.sequenceNumber), frames.map((_, i) => String(i + 2)));
    assert.ok(frames.every((m) => m.streamSid === r.streamSid));
    assertPayloads(conn, r, input);
    assert.deepEqual(msgs.at(-1), {
      event: 'stop', sequenceNumber: '16', streamSid: r.streamSid, stop: { accountSid: r.accountSid, callSid: r.callSid },
    });
    assert.deepEqual(await conn.closed, { code: 1000, reason: 'call ended' });
    assert.deepEqual([r.stopSent, r.closedBy, r.closeCode, r.lost.length], [true, 'client', 1000, 0]);
    assert.equal(r.tracks.inbound.length, 1120);
  });

  it('accounts for every lost and duplicated frame', async () => {
    const gw = await gateway();
    const input = { inbound: pattern(160 * 300, 3), outbound: pattern(160 * 300, 4) };
    const r = await simulateCall({
      gatewayUrl: gw.url, publicUrl: PUBLIC, authToken: TOKEN, direction: 'inbound', ...input, realtime: false,
      impairments: { lossRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05, jitterMs: 30, lateRate: 0.02, lateMs: 500, seed: 99 },
    });
    const [conn] = gw.streams;
    assert.ok(conn);
    assertPayloads(conn, r, input);
    const dups = r.sent.filter((s) => s.duplicate);
    assert.ok(dups.length > 5 && r.lost.length > 5);
    // Every frame of both tracks was either received (once, or twice when duplicated) or lost.
    for (const track of ['inbound', 'outbound'] as const) {
      const seen: number[] = media(conn).filter((m) => m.media.track === track).map((m) => Number(m.media.timestamp));
      const lost = r.lost.filter((l) => l.track === track).map((l) => l.timestampMs);
      const all: Set<number> = new Set([...seen, ...lost]);
      assert.equal(all.size, 300);
      assert.equal(seen.length, 300 - lost.length + dups.filter((d) => d.track === track).length);
      assert.ok(lost.every((t) => !seen.includes(t)));
    }
    // Reordering shows up only in timestamps: seq and chunk stay contiguous on the wire.
    const timestamps = media(conn).filter((m) => m.media.track === 'inbound').map((m) => Number(m.media.timestamp));
    assert.ok(timestamps.some((t, i) => i > 0 && t < (timestamps[i - 1] ?? 0)));
  });

  it('paces frames on the wall clock in real time', async () => {
    const gw = await gateway();
    const t0 = performance.now();
    const r = await simulateCall({ gatewayUrl: gw.url, direction: 'inbound', inbound: pattern(160 * 15, 5), outbound: pattern(0, 0) });
    const elapsed = performance.now() - t0;
    const arrivals = gw.streams[0]?.messages.filter((m) => m.data.event === 'media').map((m) => m.arrivedAt) ?? [];
    assert.equal(arrivals.length, 30);
    assert.equal(r.tracks.outbound.length, 160 * 15);
    const span = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
    assert.ok(span >= 270 && span < 600, `14 ticks of 20 ms took ${span} ms`);
    assert.ok(elapsed >= 280, `call took ${elapsed} ms`);
  });

  it('sends no signature without an auth token, and places a browser call', async () => {
    const gw = await gateway({ publicUrl: undefined });
    const r = await simulateCall({ gatewayUrl: gw.url, direction: 'outbound', to: '+447700900123', inbound: pattern(160, 1), outbound: pattern(160, 2), realtime: false });
    const voice = gw.voice[0];
    assert.equal(voice?.headers['x-twilio-signature'], undefined);
    assert.equal(gw.streams[0]?.headers['x-twilio-signature'], undefined);
    assert.deepEqual([voice?.params.From, voice?.params.To, voice?.params.Direction, voice?.params.Caller], ['client:agent', '+447700900123', 'inbound', 'client:agent']);
    assert.equal(r.signedStreamUrl, gw.url.replace('http', 'ws') + '/twilio/media-stream');
  });

  it('sends a wrong token and extra upgrade headers when asked', async () => {
    const gw = await gateway();
    const r = await simulateCall({
      gatewayUrl: gw.url, publicUrl: PUBLIC, authToken: TOKEN, direction: 'inbound', inbound: pattern(160, 1), outbound: pattern(160, 2),
      realtime: false, overrideToken: 'forged', streamHeaders: { 'X-Twilio-Signature': 'bogus', 'X-Extra': '1' },
    });
    const conn = gw.streams[0];
    assert.deepEqual(r.customParameters, { token: 'forged', leg: 'parent' });
    assert.deepEqual(r.parameters, { token: 'tok&"<en>', leg: 'parent' });
    assert.deepEqual((conn?.messages[1]?.data.start as { customParameters: unknown }).customParameters, { token: 'forged', leg: 'parent' });
    assert.deepEqual([conn?.headers['x-twilio-signature'], conn?.headers['x-extra']], ['bogus', '1']);
  });

  it('reports a server that closes the stream early', async () => {
    const gw = await gateway({ closeAfterStart: { code: 1008, reason: 'bad stream token' } });
    const r = await simulateCall({ gatewayUrl: gw.url, direction: 'inbound', inbound: pattern(160 * 50, 1), outbound: pattern(0, 0) });
    assert.deepEqual([r.closedBy, r.closeCode, r.closeReason, r.stopSent], ['server', 1008, 'bad stream token', false]);
    assert.ok(r.sent.length < 10, `${r.sent.length} frames sent after the close`);
  });

  it('ends with a close but no stop, or a dropped connection', async () => {
    const gw = await gateway();
    const base = { gatewayUrl: gw.url, direction: 'inbound' as const, inbound: pattern(320, 1), outbound: pattern(320, 2), realtime: false };
    const closed = await simulateCall({ ...base, end: 'close' });
    assert.deepEqual([closed.stopSent, closed.closedBy, closed.closeCode], [false, 'client', 1000]);
    assert.equal(gw.streams[0]?.messages.at(-1)?.data.event, 'media');
    const dropped = await simulateCall({ ...base, end: 'terminate' });
    assert.equal(dropped.stopSent, false);
    assert.equal((await gw.streams[1]?.closed)?.code, 1006);
  });

  it('leaves the socket open with end: none', async () => {
    const gw = await gateway();
    const r = await simulateCall({ gatewayUrl: gw.url, direction: 'inbound', inbound: pattern(160, 1), outbound: pattern(160, 2), realtime: false, end: 'none' });
    assert.ok(r.socket);
    assert.equal(r.closedBy, undefined);
    assert.equal(r.nextSequenceNumber, 4);
    r.socket.close(1000, 'later');
    assert.deepEqual(await gw.streams[0]?.closed, { code: 1000, reason: 'later' });
  });

  it('throws typed errors for a refused webhook, a refused upgrade and no gateway', async () => {
    const refused = await gateway({ voiceStatus: { status: 403, body: 'invalid signature' } });
    await assert.rejects(simulateCall({ gatewayUrl: refused.url, direction: 'inbound', inbound: pattern(160, 1), outbound: pattern(160, 1) }),
      (e) => e instanceof SimulatorError && e.code === 'voice_webhook_rejected' && e.status === 403 && e.body === 'invalid signature');
    const noUpgrade = await gateway({ refuseUpgrade: 403 });
    await assert.rejects(simulateCall({ gatewayUrl: noUpgrade.url, direction: 'inbound', inbound: pattern(160, 1), outbound: pattern(160, 1) }),
      (e) => e instanceof SimulatorError && e.code === 'stream_rejected' && e.status === 403 && e.body === 'forbidden');
    const gone = await gateway();
    await gone.close();
    await assert.rejects(simulateCall({ gatewayUrl: gone.url, direction: 'inbound', inbound: pattern(160, 1), outbound: pattern(160, 1) }),
      (e) => e instanceof SimulatorError && e.code === 'gateway_unreachable' && /ECONNREFUSED/.test(e.message));
  });

  it('stops when aborted', async () => {
    const gw = await gateway();
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('user abort')), 100);
    await assert.rejects(simulateCall({ gatewayUrl: gw.url, direction: 'inbound', inbound: pattern(160 * 500, 1), outbound: pattern(0, 0), signal: ctl.signal }),
      /user abort/);
    assert.equal((await gw.streams[0]?.closed)?.code, 1006);
  });

  it('uses the SID shapes Twilio uses', async () => {
    const gw = await gateway();
    const r = await simulateCall({ gatewayUrl: gw.url, direction: 'inbound', inbound: pattern(160, 1), outbound: pattern(160, 1), realtime: false, callSid: 'CA' + 'a'.repeat(32) });
    assert.equal(r.callSid, 'CA' + 'a'.repeat(32));
    assert.match(r.accountSid.slice(2), SID);
  });
});
