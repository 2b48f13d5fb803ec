// The fake Twilio REST server in a process of its own, holding long dual recordings: the fake
// keeps its audio in memory and builds each WAV it serves in one buffer (115 MB for an hour), so
// it runs apart from the downloader whose memory bench/download.ts measures. Also holds a 10 s
// recording for warming the downloader up. Prints
// `READY <url> <warmSid> <sid>:<seconds>:<sha256 of its WAV> ...`, then serves until stdin closes.
//   args: <seconds>[,<seconds>...]
import { createHash } from 'node:crypto';
import { encodeWav, fakeSid, startFakeTwilio } from '../../test/fakes/twilio-api.js';
import { ACCOUNT_SID, AUTH_TOKEN } from './ws-common.js';

const lengths = (process.argv[2] ?? '3600').split(',').map(Number);
const fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
const warm = fakeSid('RE', 0xa0);
fake.addRecording({ sid: warm, callSid: fakeSid('CA', 0xa0), channels: 2, durationS: 10 });
const listed = lengths.map((seconds, i) => {
  const sid = fakeSid('RE', 0xa1 + i);
  fake.addRecording({ sid, callSid: fakeSid('CA', 0xa1 + i), channels: 2, durationS: seconds });
  const audio = fake.audioOf(sid);
  return `${sid}:${seconds}:${createHash('sha256').update(encodeWav([audio.left, audio.right!])).digest('hex')}`;
});
process.stdout.write(`READY ${fake.url} ${warm} ${listed.join(' ')}\n`);
// Serves until the parent ends stdin (or dies: the pipe closes with it).
process.stdin.resume();
await new Promise<void>((resolve) => {
  process.stdin.on('end', resolve);
  process.stdin.on('close', resolve);
});
await fake.close();
process.exit(0);
