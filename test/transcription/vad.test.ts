import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silence, speak } from '../../src/cli/simulator/audio-source.js';
import { SpeechDetector, UtteranceSegmenter, frameDbfs, mapTime, planUploads, type Upload } from '../../src/transcription/vad.js';
import { concat, prng } from '../audio/helpers.js';
import { speechLike } from '../audio/speech.js';
import { EXPECTED, RATE, addHiss, hissDbfs, segment, shortCall, to16k, turnsIn, type Emitted } from './fixtures.js';

const FRAME = 320;
const PAD = 0.15 * RATE;
const MIN_PAUSE = 0.6 * RATE;
const TRACKS = ['inbound', 'outbound'] as const;
const ms = (samples: number): number => Math.round((samples / RATE) * 1000);
const spans = (us: Emitted[]): number[][] => us.map((u) => [u.start, u.end]);

test('each track\'s utterances hold every spoken turn, padded, and nothing else', async (t) => {
  const call = await shortCall();
  for (const amp of [0, 40, 300]) {
    const lead: number[] = [];
    const tail: number[] = [];
    for (const track of TRACKS) {
      const x = amp === 0 ? call[track] : addHiss(call[track], amp);
      const us = segment(x, {});
      assert.deepEqual(us.map((u) => turnsIn(call.spoken, track, u.start, u.end)), EXPECTED[track], `${track}, hiss ±${amp}`);
      us.forEach((u, k) => {
        const group = EXPECTED[track][k]!;
        const first = call.spoken[group[0]!]!.start;
        const last = call.spoken[group[group.length - 1]!]!.end;
        lead.push(first - u.start);
        tail.push(u.end - last);
        assert.deepEqual(u.audio, x.subarray(u.start, u.end));
      });
    }
    // The turn lies inside its utterance, and the padding is never more than padMs + one frame.
    assert.ok(Math.min(...lead, ...tail) >= 0, `speech clipped: lead ${lead.map(ms)} tail ${tail.map(ms)} ms`);
    assert.ok(Math.max(...lead, ...tail) <= PAD + FRAME, `too much padding: lead ${lead.map(ms)} tail ${tail.map(ms)} ms`);
    t.diagnostic(`hiss ${amp === 0 ? 'none' : `${hissDbfs(amp).toFixed(1)} dBFS`}: audio before speech ${Math.min(...lead.map(ms))}..${Math.max(...lead.map(ms))} ms, after ${Math.min(...tail.map(ms))}..${Math.max(...tail.map(ms))} ms`);
  }
});

test('silence, digital silence, steady hiss, tones and clicks alone yield no utterance', () => {
  const n = 60 * RATE;
  const zeros = new Int16Array(n);
  const rnd = prng(3);
  const dropped = addHiss(zeros, 300);
  for (let k = 0; k < 20; k++) {
    const at = Math.floor(rnd() * (n - FRAME));
    dropped.fill(0, at, at + FRAME);
  }
  const clicks = (base: Int16Array): Int16Array => {
    const x = base.slice();
    for (let at = RATE / 2; at < n; at += RATE) x.fill(30000, at, at + 80); // 5 ms, once a second
    return x;
  };
  const tone = (on: number, period: number): Int16Array => Int16Array.from(zeros, (_, i) =>
    (i % period < on ? Math.round(4000 * (Math.sin((2 * Math.PI * 440 * i) / RATE) + Math.sin((2 * Math.PI * 480 * i) / RATE))) : 0));
  const cases: Record<string, Int16Array> = {
    'digital silence': zeros,
    '±1 LSB dither': Int16Array.from(zeros, () => Math.round(rnd() * 2 - 1)),
    'hiss −63 dBFS': addHiss(zeros, 40),
    'hiss −45.5 dBFS': addHiss(zeros, 300),
    'hiss −25 dBFS': addHiss(zeros, 3000),
    'hiss with dropped frames': dropped,
    'hiss starting after 10 s of digital silence': concat([zeros.subarray(0, 10 * RATE), addHiss(zeros, 1000)]),
    'hiss stepping up from −63 to −35 dBFS': concat([addHiss(zeros.subarray(0, 10 * RATE), 40), addHiss(zeros, 1000, 8)]),
    'ringback tone (2 s on, 4 s off)': tone(2 * RATE, 6 * RATE),
    'steady tone': tone(n, n),
    'clicks in digital silence': clicks(zeros),
    'clicks in hiss': clicks(addHiss(zeros, 40)),
  };
  for (const [name, x] of Object.entries(cases)) assert.deepEqual(spans(segment(x, {})), [], name);
});

test('SpeechDetector: the floor follows steady hiss, and only louder frames are speech', () => {
  const d = new SpeechDetector({ sampleRate: RATE });
  const hiss = addHiss(new Int16Array(5 * RATE), 300);
  for (let at = 0; at < hiss.length; at += FRAME) assert.equal(d.push(hiss.subarray(at, at + FRAME)), false);
  assert.ok(Math.abs(d.floorDb - hissDbfs(300)) < 1.5, `floor ${d.floorDb} dBFS`);
  assert.equal(d.push(new Int16Array(FRAME)), false, 'digital silence');
  const tone = Int16Array.from(hiss.subarray(0, FRAME), (v, i) => v + Math.round(3000 * Math.sin(i / 3)));
  assert.equal(d.push(tone), true);
});

test('results do not depend on how the stream is chunked', async () => {
  const call = await shortCall();
  for (const track of TRACKS) {
    const x = addHiss(call[track], 300);
    const want = segment(x, {}, [320]);
    const rnd = prng(11);
    for (const sizes of [[160], [1], [319, 7, 4000], () => 1 + Math.floor(rnd() * 7000), [x.length]]) {
      const got = segment(x, {}, sizes);
      assert.deepEqual(spans(got), spans(want));
      got.forEach((u, k) => assert.deepEqual(u.audio, want[k]!.audio));
    }
  }
});

test('flush() emits the utterance still open when the stream ends mid-sentence', async () => {
  const call = await shortCall();
  const x = call.inbound.subarray(0, 2 * RATE + 77); // inside the first turn, not on a frame edge
  for (const sizes of [[320], [1], [x.length]]) {
    const [u, ...rest] = segment(x, {}, sizes);
    assert.deepEqual([u?.end, u?.emittedAt, rest.length], [x.length, x.length, 0]);
    const lead = call.spoken[0]!.start - u!.start;
    assert.ok(lead >= 0 && lead <= PAD + FRAME, `starts ${ms(lead)} ms before the speech`);
  }
  assert.throws(() => new UtteranceSegmenter({ sampleRate: RATE, padMs: 700 }), RangeError);
});

test('an utterance is emitted within minPauseMs + one frame of its last speech', async (t) => {
  const call = await shortCall();
  const latencies: number[] = [];
  for (const track of TRACKS) {
    for (const sizes of [[320], [160]]) {
      for (const u of segment(addHiss(call[track], 40), {}, sizes)) {
        const spoken = turnsIn(call.spoken, track, u.start, u.end).map((i) => call.spoken[i]!.end);
        const latency = u.emittedAt - Math.max(...spoken);
        assert.ok(latency <= MIN_PAUSE + FRAME, `${track}: emitted ${ms(latency)} ms after the speech ended`);
        latencies.push(latency);
      }
    }
  }
  t.diagnostic(`emission latency after the last spoken sample: ${Math.min(...latencies.map(ms))}..${Math.max(...latencies.map(ms))} ms`);
});

test('maxUtteranceMs cuts a long monologue at quiet frames, losing and repeating nothing', async (t) => {
  const texts = ['The quarterly report is ready, and I would like to go through the main points with you now.',
    'Sales grew by eight percent in the north, mostly from the new stores that opened in the spring.',
    'In the south the numbers were flat, because two of the larger shops were closed for repairs.',
    'Online orders kept rising every month, and returns fell a little after we changed the packaging.',
    'Costs went up with the price of fuel, so delivery is now the biggest line after salaries.',
    'Next quarter we plan to open three more stores and to hire twenty people for the warehouse.'];
  const parts = await Promise.all(texts.map((s) => speak(s, { voice: 'en-us' })));
  const x = to16k(Buffer.concat([...parts, silence(500)]));
  assert.ok(x.length > 30 * RATE, 'a monologue longer than two live caps');
  const live = segment(x, { maxUtteranceMs: 15_000 });
  t.diagnostic(`monologue ${(x.length / RATE).toFixed(1)} s → utterances ${live.map((u) => `${(u.start / RATE).toFixed(2)}–${(u.end / RATE).toFixed(2)}`).join(', ')} s`);
  assert.ok(live.length >= 3, `${live.length} utterances`);
  for (const u of live) assert.ok(u.end - u.start <= 15 * RATE, `${u.end - u.start} samples`);
  for (let k = 1; k < live.length; k++) {
    const cut = live[k - 1]!.end;
    assert.equal(live[k]!.start, cut, 'a forced cut neither drops nor repeats audio');
    const around = [-2, -1, 0, 1, 2].map((f) => frameDbfs(x.subarray(cut + f * FRAME, cut + (f + 1) * FRAME)));
    assert.ok(Math.max(...around) < -40, `cut at ${(cut / RATE).toFixed(2)} s is not in a pause: ${around} dBFS`);
  }
  assert.equal(live[0]!.start, 0);
  const lastSpoken = x.findLastIndex((v) => v !== 0);
  assert.ok(live[live.length - 1]!.end > lastSpoken, 'the last words are kept');
  assert.equal(segment(x, { maxUtteranceMs: 60_000 }).length, 1, 'offline cap: one utterance');
});

/** Syllable-shaped coloured noise that never pauses: the worst case for the ring. */
function monotone(seed: number): (out: Int16Array) => void {
  const rnd = prng(seed);
  let syllable = 0, length = 1, amp = 0, colour = 0;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      if (++syllable >= length) [syllable, length, amp] = [0, Math.floor((0.12 + 0.15 * rnd()) * RATE), 4000 + 16000 * rnd()];
      colour = 0.7 * colour + (rnd() - 0.5);
      out[i] = Math.round((0.2 + 0.8 * Math.sin((Math.PI * syllable) / length) ** 2) * amp * colour);
    }
  };
}

test('memory stays bounded over 10 minutes of speech-like audio', (t) => {
  const cap = 15 * RATE;
  for (const [name, source] of [['continuous', monotone(5)], ['with pauses', speechLike(6)]] as const) {
    const seg = new UtteranceSegmenter({ sampleRate: RATE, maxUtteranceMs: 15_000 });
    const chunk = new Int16Array(FRAME);
    let most = 0;
    let speech = 0;
    let count = 0;
    for (let at = 0; at < 600 * RATE; at += FRAME) {
      source(chunk);
      for (const u of seg.push(chunk)) {
        assert.ok(u.end - u.start <= cap && u.audio.length === u.end - u.start, `${name}: [${u.start}, ${u.end})`);
        speech += u.end - u.start;
        count++;
      }
      most = Math.max(most, seg.bufferedSamples);
    }
    assert.ok(most <= cap, `${name}: ring grew to ${most} samples`);
    assert.ok(count > 40 && speech > 60 * RATE, `${name}: ${count} utterances, ${speech / RATE} s`);
    t.diagnostic(`${name}: ${count} utterances, longest ring ${(most / RATE).toFixed(2)} s of ${cap / RATE} s, ${(seg.bufferedSamples / RATE).toFixed(2)} s at the end`);
  }
});

test('planUploads keeps uploads under the cap and mapTime maps upload times back to the call', async () => {
  const rnd = prng(21);
  const stretches: Array<{ start: number; end: number }> = [];
  for (let at = 0, k = 0; k < 400; k++) {
    at += Math.floor((0.6 + 30 * rnd()) * RATE);
    const end = at + Math.floor((0.3 + 60 * rnd()) * RATE);
    stretches.push({ start: at, end });
    at = end;
  }
  const join = RATE / 2;
  const max = 600 * RATE;
  const check = (uploads: Upload[], maxGapMs: number): void => {
    assert.deepEqual(uploads.flatMap((u) => u.parts).flatMap((p) => stretches.filter((s) => s.start >= p.start && s.end <= p.end)), stretches);
    for (const u of uploads) {
      const used = u.parts.reduce((s, p) => s + p.end - p.start, 0) + join * (u.parts.length - 1);
      assert.ok(used <= max, `upload of ${used / RATE} s`);
      assert.equal(u.start, u.parts[0]!.start);
      assert.equal(u.end, u.parts[u.parts.length - 1]!.end);
      for (let k = 1; k < u.parts.length; k++) {
        assert.ok(u.parts[k]!.start - u.parts[k - 1]!.end > (maxGapMs * RATE) / 1000, 'only gaps longer than maxGapMs are cut out');
      }
      let offset = 0;
      for (const p of u.parts) {
        for (const x of [p.start, p.end, p.start + (p.end - p.start) * rnd()]) {
          const back = mapTime(u, (offset + x - p.start) / RATE, RATE, join);
          assert.ok(Math.abs(back - x / RATE) < 1e-9, `sample ${x} came back as ${back * RATE}`);
        }
        offset += p.end - p.start + join;
      }
      assert.equal(mapTime(u, -1, RATE, join), u.start / RATE);
      assert.equal(mapTime(u, offset / RATE, RATE, join), u.end / RATE);
    }
  };
  const plain = planUploads(stretches, { sampleRate: RATE, maxUploadMs: 600_000, joinSilenceSamples: join });
  check(plain, 0);
  assert.equal(plain.flatMap((u) => u.parts).length, stretches.length);
  assert.ok(plain.length > 20, `${plain.length} uploads`);
  const merged = planUploads(stretches, { sampleRate: RATE, maxUploadMs: 600_000, maxGapMs: 5000, joinSilenceSamples: join });
  check(merged, 5000);
  const first = plain[0]!;
  assert.equal(mapTime(first, (first.parts[0]!.end - first.parts[0]!.start + join / 2) / RATE, RATE, join), first.parts[0]!.end / RATE, 'a join maps to the part before it');
  assert.throws(() => planUploads([{ start: 0, end: max + 1 }], { sampleRate: RATE, maxUploadMs: 600_000 }), RangeError);
  assert.throws(() => planUploads([{ start: 10, end: 20 }, { start: 15, end: 30 }], { sampleRate: RATE, maxUploadMs: 1000 }), RangeError);

  // Offline path end to end: utterances → uploads → concatenated audio → times back on the call.
  const call = await shortCall();
  const us = segment(call.inbound, { maxUtteranceMs: 60_000 });
  for (const u of planUploads(us, { sampleRate: RATE, maxUploadMs: 8000, joinSilenceSamples: join })) {
    const body = concat(u.parts.flatMap((p, k) => [...(k > 0 ? [new Int16Array(join)] : []), call.inbound.subarray(p.start, p.end)]));
    let offset = 0;
    for (const p of u.parts) {
      assert.deepEqual(body.subarray(offset, offset + p.end - p.start), call.inbound.subarray(p.start, p.end));
      assert.equal(mapTime(u, offset / RATE, RATE, join), p.start / RATE);
      offset += p.end - p.start + join;
    }
  }
});
