// MPEG audio (MP3) frame parsing, pure and streaming: push bytes as they arrive, then end() says
// what the file holds (frames, duration, channels, sample rate) or throws why it is no MP3.
// Nothing is decoded: ElevenLabs' audio is kept as fetched, and this only proves it is a whole,
// consistent MPEG-1/2/2.5 Layer III frame sequence and measures it.

export type MpegVersion = '1' | '2' | '2.5';
export type ChannelMode = 'stereo' | 'joint_stereo' | 'dual_channel' | 'mono';

export interface Mp3FrameHeader {
  version: MpegVersion;
  bitrateKbps: number;
  sampleRate: number;
  padding: boolean;
  channelMode: ChannelMode;
  /** whole frame, header included */
  frameBytes: number;
  samplesPerFrame: number;
}

export interface Mp3Info {
  version: MpegVersion;
  sampleRate: number;
  channels: 1 | 2;
  channelMode: ChannelMode;
  /** audio frames (a Xing/Info header frame is not one) */
  frames: number;
  /** from the frames, less the encoder delay and padding when a LAME tag states them */
  durationS: number;
  bytes: number;
  /** ID3v2 tags before the audio */
  id3Bytes: number;
  /** bytes between frames that are not frames (trailing tags, garbage) */
  junkBytes: number;
  /** a last frame cut short by the end of the file */
  truncatedBytes: number;
  /** encoder delay and padding in samples (LAME tag), when stated */
  gapless: { delay: number; padding: number } | null;
}

/** Always permanent: the same bytes never become an MP3 by trying again. */
export class Mp3FormatError extends Error {
  constructor(
    readonly code: 'not_mp3' | 'mp3_inconsistent',
    message: string,
  ) {
    super(message);
    this.name = 'Mp3FormatError';
  }
}

const KBPS_V1_L3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const KBPS_V2_L3 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const RATES: Record<MpegVersion, readonly number[]> = { '1': [44100, 48000, 32000], '2': [22050, 24000, 16000], '2.5': [11025, 12000, 8000] };
const VERSIONS: ReadonlyArray<MpegVersion | null> = ['2.5', null, '2', '1'];
const MODES: readonly ChannelMode[] = ['stereo', 'joint_stereo', 'dual_channel', 'mono'];
/** Junk beyond this share of the non-tag bytes means the file is not an MP3 with a few stray bytes. */
const MAX_JUNK_SHARE = 0.1;

/** A Layer III frame header at `at`, or null (free-format bitrate is not supported). */
export function parseFrameHeader(buf: Uint8Array, at = 0): Mp3FrameHeader | null {
  if (at + 4 > buf.length) return null;
  const b1 = buf[at + 1]!;
  const b2 = buf[at + 2]!;
  if (buf[at] !== 0xff || (b1 & 0xe0) !== 0xe0) return null;
  const version = VERSIONS[(b1 >> 3) & 3];
  if (!version || ((b1 >> 1) & 3) !== 1) return null; // Layer III only
  const bitrateKbps = (version === '1' ? KBPS_V1_L3 : KBPS_V2_L3)[b2 >> 4];
  const sampleRate = RATES[version][(b2 >> 2) & 3];
  if (!bitrateKbps || !sampleRate) return null;
  const padding = (b2 & 2) !== 0;
  const samplesPerFrame = version === '1' ? 1152 : 576;
  const frameBytes = Math.floor(((samplesPerFrame / 8) * bitrateKbps * 1000) / sampleRate) + (padding ? 1 : 0);
  return { version, bitrateKbps, sampleRate, padding, channelMode: MODES[buf[at + 3]! >> 6]!, frameBytes, samplesPerFrame };
}

/** ID3v2 tag length (header, body, footer) at the start of `buf`, 0 when there is none. */
function id3v2Length(buf: Uint8Array, at: number): number {
  if (buf[at] !== 0x49 || buf[at + 1] !== 0x44 || buf[at + 2] !== 0x33) return 0; // "ID3"
  const size = ((buf[at + 6]! & 0x7f) << 21) | ((buf[at + 7]! & 0x7f) << 14) | ((buf[at + 8]! & 0x7f) << 7) | (buf[at + 9]! & 0x7f);
  return 10 + size + (buf[at + 5]! & 0x10 ? 10 : 0);
}

const ascii = (buf: Uint8Array, at: number, n: number) => Buffer.from(buf.buffer, buf.byteOffset + at, Math.max(0, Math.min(n, buf.length - at))).toString('latin1');

/** A Xing/Info header frame (an index, not audio) and the LAME tag's encoder delay and padding. */
function xingOf(frame: Uint8Array, h: Mp3FrameHeader): { gapless: Mp3Info['gapless'] } | null {
  const mono = h.channelMode === 'mono';
  const at = 4 + (h.version === '1' ? (mono ? 17 : 32) : mono ? 9 : 17);
  const tag = ascii(frame, at, 4);
  if (tag !== 'Xing' && tag !== 'Info') return null;
  if (at + 8 > frame.length) return { gapless: null };
  const flags = frame[at + 7]!;
  const lame = at + 8 + (flags & 1 ? 4 : 0) + (flags & 2 ? 4 : 0) + (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0);
  if (lame + 24 > frame.length || !/^(LAME|Lavc|Lavf|GOGO)/.test(ascii(frame, lame, 4))) return { gapless: null };
  const d = lame + 21;
  return { gapless: { delay: (frame[d]! << 4) | (frame[d + 1]! >> 4), padding: ((frame[d + 1]! & 0x0f) << 8) | frame[d + 2]! } };
}

const sameStream = (a: Mp3FrameHeader, b: Mp3FrameHeader) => a.version === b.version && a.sampleRate === b.sampleRate;

/** Feed it the file in order with push(); end() returns what it holds or throws Mp3FormatError. */
export class Mp3Scanner {
  private carry: Buffer = Buffer.alloc(0);
  private skip = 0;
  private atStart = true;
  private synced = false;
  private first: Mp3FrameHeader | null = null;
  private xingChecked = false;
  private gapless: Mp3Info['gapless'] = null;
  private frames = 0;
  private bytes = 0;
  private id3Bytes = 0;
  private junkBytes = 0;
  private truncatedBytes = 0;
  private ended = false;

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('push after end');
    this.bytes += chunk.length;
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const pos = this.consume(buf, false);
    // A copy: the caller may reuse its chunk's memory.
    this.carry = Buffer.from(buf.subarray(pos));
  }

  end(): Mp3Info {
    this.ended = true;
    this.consume(this.carry, true);
    this.carry = Buffer.alloc(0);
    const h = this.first;
    if (!h || this.frames === 0) throw new Mp3FormatError('not_mp3', `no MPEG Layer III frame sequence found in ${this.bytes} bytes`);
    const body = this.bytes - this.id3Bytes;
    if (this.junkBytes > MAX_JUNK_SHARE * body) {
      throw new Mp3FormatError('mp3_inconsistent', `${this.junkBytes} of ${body} bytes are not MP3 frames`);
    }
    let samples = this.frames * h.samplesPerFrame;
    const g = this.gapless;
    if (g && g.delay + g.padding < samples) samples -= g.delay + g.padding;
    return {
      version: h.version, sampleRate: h.sampleRate, channels: h.channelMode === 'mono' ? 1 : 2, channelMode: h.channelMode,
      frames: this.frames, durationS: samples / h.sampleRate, bytes: this.bytes, id3Bytes: this.id3Bytes,
      junkBytes: this.junkBytes, truncatedBytes: this.truncatedBytes, gapless: g,
    };
  }

  /** Consumes what it can of buf; returns where it stopped (the rest waits for more bytes). */
  private consume(buf: Buffer, final: boolean): number {
    let pos = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        pos += n;
        this.skip -= n;
        if (this.skip > 0) return pos;
      }
      const left = buf.length - pos;
      if (this.atStart) {
        if (left < 10 && !final) return pos;
        const tag = left >= 10 ? id3v2Length(buf, pos) : 0;
        if (tag > 0) {
          this.id3Bytes += tag;
          this.skip = tag;
          continue;
        }
        this.atStart = false;
      }
      if (left < 4) return final && left > 0 ? this.junk(pos, left) : pos;
      const h = parseFrameHeader(buf, pos);
      if (h && this.synced && sameStream(h, this.first!)) {
        if (left < h.frameBytes) return final ? this.truncated(pos, left) : pos;
        this.frame(buf.subarray(pos, pos + h.frameBytes), h);
        pos += h.frameBytes;
        continue;
      }
      this.synced = false;
      const verdict = h ? this.confirm(buf, pos, h, final) : 'no';
      if (verdict === 'more') return pos;
      if (verdict === 'yes') {
        this.first ??= h;
        this.synced = true;
        continue;
      }
      pos = this.junk(pos, 1);
    }
  }

  /** A header is believed when the next frame's header follows it (or the file ends, or a tag). */
  private confirm(buf: Buffer, pos: number, h: Mp3FrameHeader, final: boolean): 'yes' | 'no' | 'more' {
    if (this.first && !sameStream(h, this.first)) return 'no';
    const next = pos + h.frameBytes;
    if (buf.length < next + 4) {
      if (!final) return 'more';
      return buf.length === next ? 'yes' : 'no';
    }
    const n = parseFrameHeader(buf, next);
    if (n && sameStream(h, n)) return 'yes';
    return ascii(buf, next, 3) === 'TAG' ? 'yes' : 'no';
  }

  private frame(frame: Uint8Array, h: Mp3FrameHeader): void {
    if (!this.xingChecked) {
      this.xingChecked = true;
      const xing = xingOf(frame, h);
      if (xing) {
        this.gapless = xing.gapless;
        return;
      }
    }
    this.frames++;
  }

  private junk(pos: number, n: number): number {
    this.junkBytes += n;
    return pos + n;
  }

  private truncated(pos: number, n: number): number {
    this.truncatedBytes += n;
    return pos + n;
  }
}

/** Scans a whole buffer (tests, small files). */
export function scanMp3(bytes: Uint8Array): Mp3Info {
  const s = new Mp3Scanner();
  s.push(bytes);
  return s.end();
}
