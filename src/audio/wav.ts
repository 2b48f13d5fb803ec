/**
 * PCM16 WAV headers and parsing, pure Buffer code (the writers that use it live in capture/).
 *
 * Capture files must stay readable after a crash, when the writer never patched the sizes: the
 * parser therefore trusts the bytes actually present over a data size of 0 or one that runs past
 * the end, and says so with `truncated: true`.
 */

/** Always 16-bit little-endian PCM. */
export interface WavFormat {
  sampleRate: number;
  channels: number;
}

export interface ParsedWav {
  format: WavFormat;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Whole frames only; clamped to the bytes present when `truncated`. */
  dataBytes: number;
  /** The data chunk size was 0 or larger than the buffer (an unfinished or crashed writer). */
  truncated: boolean;
}

export type WavErrorCode =
  | 'too_short' | 'not_riff' | 'not_wave' | 'no_fmt' | 'bad_fmt' | 'not_pcm'
  | 'unsupported_bits' | 'no_data';

export class WavError extends Error {
  readonly code: WavErrorCode;

  constructor(code: WavErrorCode, message: string) {
    super(`WAV ${code}: ${message}`);
    this.name = 'WavError';
    this.code = code;
  }
}

export const WAV_HEADER_BYTES = 44;

const BYTES_PER_SAMPLE = 2;
const FORMAT_PCM = 1;
/** WAVE_FORMAT_EXTENSIBLE: real format is the first 2 bytes of the sub-format GUID. */
const FORMAT_EXTENSIBLE = 0xfffe;
/** Largest data size whose RIFF size (36 + data) still fits in the 32-bit field. */
const MAX_DATA_BYTES = 0xffffffff - 36;

function checkFormat({ sampleRate, channels }: WavFormat): void {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff) {
    throw new RangeError(`wavHeader: sampleRate must be a positive integer, got ${sampleRate}`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 0xffff) {
    throw new RangeError(`wavHeader: channels must be an integer 1..65535, got ${channels}`);
  }
}

/** Canonical 44-byte header: RIFF, WAVE, 16-byte `fmt ` (PCM, 16-bit), then `data`. */
export function wavHeader(format: WavFormat, dataBytes: number): Buffer {
  checkFormat(format);
  const blockAlign = format.channels * BYTES_PER_SAMPLE;
  if (!Number.isInteger(dataBytes) || dataBytes < 0 || dataBytes > MAX_DATA_BYTES
    || dataBytes % blockAlign !== 0) {
    throw new RangeError(
      `wavHeader: dataBytes must be whole ${blockAlign}-byte frames within 4 GiB, got ${dataBytes}`,
    );
  }
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(FORMAT_PCM, 20);
  h.writeUInt16LE(format.channels, 22);
  h.writeUInt32LE(format.sampleRate, 24);
  h.writeUInt32LE(format.sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** Reads a `fmt ` chunk body; only 16-bit PCM (plain or extensible) is accepted. */
function parseFmt(buf: Buffer, body: number, size: number): WavFormat {
  if (size < 16 || body + size > buf.length) {
    throw new WavError('bad_fmt', `fmt chunk of ${size} bytes is too short or cut off`);
  }
  let tag = buf.readUInt16LE(body);
  if (tag === FORMAT_EXTENSIBLE && size >= 26) tag = buf.readUInt16LE(body + 24);
  if (tag !== FORMAT_PCM) throw new WavError('not_pcm', `format tag ${tag} is not PCM (1)`);
  const channels = buf.readUInt16LE(body + 2);
  const sampleRate = buf.readUInt32LE(body + 4);
  const blockAlign = buf.readUInt16LE(body + 12);
  const bits = buf.readUInt16LE(body + 14);
  if (bits !== 16) throw new WavError('unsupported_bits', `${bits}-bit samples; only 16-bit PCM`);
  if (channels < 1 || sampleRate < 1 || blockAlign !== channels * BYTES_PER_SAMPLE) {
    throw new WavError('bad_fmt',
      `inconsistent fmt: ${channels} channels, ${sampleRate} Hz, block align ${blockAlign}`);
  }
  return { sampleRate, channels };
}

function checkRiff(buf: Buffer): void {
  if (buf.length < 12) throw new WavError('too_short', `${buf.length} bytes is not a WAV file`);
  const riff = buf.toString('latin1', 0, 4);
  if (riff !== 'RIFF') throw new WavError('not_riff', `starts with ${JSON.stringify(riff)}, not RIFF`);
  const wave = buf.toString('latin1', 8, 12);
  if (wave !== 'WAVE') throw new WavError('not_wave', `RIFF form ${JSON.stringify(wave)}, not WAVE`);
}

function dataChunk(format: WavFormat, body: number, size: number, available: number): ParsedWav {
  const blockAlign = format.channels * BYTES_PER_SAMPLE;
  // A crashed writer leaves 0 (never patched) or a placeholder larger than the file.
  const truncated = (size === 0 && available > 0) || size > available;
  const bytes = truncated ? available : size;
  return {
    format, dataOffset: body, dataBytes: bytes - (bytes % blockAlign), truncated,
  };
}

/**
 * Finds `fmt ` and `data` by walking the chunks (LIST, fact, ... are skipped). The RIFF size is
 * ignored: crash-interrupted files have it wrong, and the chunk walk does not need it.
 */
export function parseWav(buf: Buffer): ParsedWav {
  checkRiff(buf);
  let format: WavFormat | undefined;
  let pos = 12;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ') format = parseFmt(buf, body, size);
    if (id === 'data') {
      if (!format) throw new WavError('no_fmt', 'data chunk comes before any fmt chunk');
      return dataChunk(format, body, size, buf.length - body);
    }
    pos = body + size + (size & 1); // chunks are padded to even sizes
  }
  throw new WavError(format ? 'no_data' : 'no_fmt', `no ${format ? 'data' : 'fmt'} chunk found`);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The samples of a data chunk. A view sharing memory with `buf` when it is 2-byte aligned (the
 * usual case for a 44-byte header), otherwise a copy. A trailing odd byte is ignored.
 */
export function pcm16Samples(buf: Buffer, dataOffset: number, dataBytes: number): Int16Array {
  if (!Number.isInteger(dataOffset) || !Number.isInteger(dataBytes) || dataOffset < 0
    || dataBytes < 0 || dataOffset + dataBytes > buf.length) {
    throw new RangeError(
      `pcm16Samples: ${dataBytes} bytes at ${dataOffset} exceed a ${buf.length}-byte buffer`,
    );
  }
  const count = dataBytes >> 1;
  const start = buf.byteOffset + dataOffset;
  if (LITTLE_ENDIAN_HOST && start % 2 === 0) return new Int16Array(buf.buffer, start, count);
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = buf.readInt16LE(dataOffset + 2 * i);
  return out;
}

/**
 * Interleaves two mono tracks into L/R frames. A shorter track is padded with digital silence,
 * matching how gaps are filled elsewhere. `out`, when given, must hold 2 * frames samples; the
 * result is a view of it.
 */
export function interleave(left: Int16Array, right: Int16Array, out?: Int16Array): Int16Array {
  const frames = Math.max(left.length, right.length);
  const target = out ?? new Int16Array(2 * frames);
  if (target.length < 2 * frames) {
    throw new RangeError(`interleave: out holds ${target.length} samples, needs ${2 * frames}`);
  }
  const nl = left.length;
  const nr = right.length;
  for (let i = 0; i < frames; i++) {
    target[2 * i] = i < nl ? left[i]! : 0;
    target[2 * i + 1] = i < nr ? right[i]! : 0;
  }
  return target.subarray(0, 2 * frames);
}
