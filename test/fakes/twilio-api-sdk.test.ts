/**
 * Third parties vouch for the fake: twilio-node (Twilio's own client) must deserialize its JSON
 * and walk its pages, and sox must read its WAV. If either fails, the fake has drifted from Twilio.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import twilio from 'twilio';
import { fakeSid, startFakeTwilio, type FakeTwilio } from './twilio-api.js';
import { basic } from './twilio-api/test-client.js';

const AC = fakeSid('AC', 0xc1);
const TOKEN = 'sdk-token';
const CA = fakeSid('CA', 0xc1);
const sids = Array.from({ length: 7 }, (_, i) => fakeSid('RE', 0xc00 + i));
let tw: FakeTwilio;

before(async () => {
  tw = await startFakeTwilio({ accountSid: AC, authToken: TOKEN });
  sids.forEach((sid, i) =>
    tw.addRecording({ sid, callSid: CA, channels: 2, durationS: 3, startTime: new Date(Date.UTC(2024, 2, 1 + i)) }));
});
after(() => tw.close());

/** twilio-node with its API domain pointed at the fake (Domain.absoluteUrl reads baseUrl). */
function sdk(): ReturnType<typeof twilio> {
  const client = twilio(AC, TOKEN);
  (client.api as unknown as { baseUrl: string }).baseUrl = tw.url;
  return client;
}

it('twilio-node fetches, lists across pages with a date filter, and removes', async () => {
  const client = sdk();
  const r = await client.recordings(sids[0]!).fetch();
  assert.equal(r.sid, sids[0]);
  assert.equal(r.callSid, CA);
  assert.equal(r.duration, '3');
  assert.equal(r.channels, 2);
  assert.equal(r.startTime.toISOString(), '2024-03-01T00:00:00.000Z');
  assert.equal(r.mediaUrl, `${tw.url}/2010-04-01/Accounts/${AC}/Recordings/${sids[0]}`);

  const listed = await client.recordings.list({ callSid: CA, pageSize: 3, dateCreatedAfter: new Date(Date.UTC(2024, 2, 2)) });
  assert.deepEqual(listed.map((x) => x.sid), sids.slice(1).reverse());
  assert.ok(tw.requests.some((q) => q.query.PageToken !== undefined), 'the second page came from next_page_uri');

  assert.equal(await client.recordings(sids[0]!).remove(), true);
  await assert.rejects(client.recordings(sids[0]!).fetch(), (e: { status?: number; code?: number }) => e.status === 404 && e.code === 20404);
  assert.deepEqual(tw.suspicious, []);
});

it('sox reads the served WAV as 8 kHz PCM16 of the right length, mono and dual', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fake-twilio-'));
  try {
    for (const [query, channels] of [['', '1'], ['?RequestedChannels=2', '2']] as const) {
      const res = await fetch(`${tw.url}/2010-04-01/Accounts/${AC}/Recordings/${sids[1]}.wav${query}`, {
        headers: { authorization: basic(AC, TOKEN) },
      });
      const file = join(dir, `m${channels}.wav`);
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const info = (flag: string) => execFileSync('sox', ['--i', flag, file], { encoding: 'utf8' }).trim();
      assert.equal(info('-r'), '8000');
      assert.equal(info('-c'), channels);
      assert.equal(info('-b'), '16');
      assert.equal(info('-e'), 'Signed Integer PCM');
      assert.equal(info('-s'), String(3 * 8000));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
