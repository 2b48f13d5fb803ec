// Startup repair of captures that a crash (SIGKILL, power loss) left open: each file's header is
// rewritten from its size, so it reads as a WAV holding everything that reached the disk, and
// the store marks the capture `interrupted`. Only this instance's captures are touched: another
// gateway may be writing its own right now.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { WAV_HEADER_BYTES, parseWav, wavHeader } from '../audio/wav.js';
import type { Store } from '../store/db.js';

export interface RepairedFile {
  samples: number;
  dataBytes: number;
}

/** Rewrites the header of a PCM16 WAV written by WavFileWriter to match the data on disk and
 *  drops a torn trailing sample frame. Returns null when the file is missing or unreadable. */
export function repairWavFile(file: string): RepairedFile | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(Math.min(4096, fs.fstatSync(fd).size));
    fs.readSync(fd, head, 0, head.length, 0);
    const info = parseWav(head);
    if (info.dataOffset !== WAV_HEADER_BYTES) return null; // not one of ours
    const size = fs.fstatSync(fd).size;
    const frameBytes = 2 * info.format.channels;
    const dataBytes = Math.floor((size - WAV_HEADER_BYTES) / frameBytes) * frameBytes;
    if (WAV_HEADER_BYTES + dataBytes !== size) fs.ftruncateSync(fd, WAV_HEADER_BYTES + dataBytes);
    fs.writeSync(fd, wavHeader(info.format, dataBytes), 0, WAV_HEADER_BYTES, 0);
    fs.fsyncSync(fd);
    return { samples: dataBytes / frameBytes, dataBytes };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

export async function repairInterruptedCaptures(
  store: Store,
  recordingsDir: string,
  instanceId: string,
  log: Logger,
): Promise<number> {
  let repaired = 0;
  for (const stream of await store.streams.listOpen(instanceId)) {
    const slog = log.child({ callSid: stream.callSid, streamSid: stream.streamSid });
    for (const capture of await store.captures.listByStream(stream.streamSid)) {
      if (capture.state !== 'recording') continue;
      const result = repairWavFile(path.join(recordingsDir, capture.path));
      if (!result) slog.error({ path: capture.path }, 'interrupted capture file is missing or unreadable');
      const samples = result?.samples ?? 0;
      await store.captures.finish(capture.id, {
        state: 'interrupted',
        samples,
        durationS: samples / capture.sampleRate,
        stats: { repaired: result !== null, repaired_bytes: result?.dataBytes ?? 0 },
      });
      repaired++;
    }
    await store.streams.close(stream.streamSid, {
      state: 'interrupted',
      closeReason: 'the gateway stopped during the capture; files repaired at the next start',
    });
    slog.warn('repaired a capture interrupted by a crash');
  }
  return repaired;
}
