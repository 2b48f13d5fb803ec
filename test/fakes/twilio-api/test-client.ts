/**
 * Minimal clients for the fake's own tests: `fetch` for ordinary requests, and a raw node:http
 * GET that reports exactly what arrived and how the body ended, which fetch hides behind errors.
 */
import http from 'node:http';
import wavefile from 'wavefile';

export function basic(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

export interface RawResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** 'end' when the body completed, 'aborted' when the connection died first, 'timeout' when we gave up. */
  ending: 'end' | 'aborted' | 'timeout';
  /** ms from the first body byte to the ending, and the largest gap between chunks. */
  bodyMs: number;
  maxGapMs: number;
}

export function rawGet(url: string, headers: Record<string, string>, giveUpMs = 5000): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let first = 0;
      let last = 0;
      let maxGapMs = 0;
      let settled = false;
      const finish = (ending: RawResult['ending']): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const now = performance.now();
        resolve({
          status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ending,
          bodyMs: first ? now - first : 0, maxGapMs,
        });
      };
      const timer = setTimeout(() => {
        finish('timeout');
        req.destroy();
      }, giveUpMs);
      res.on('data', (c: Buffer) => {
        const now = performance.now();
        if (!first) first = now;
        else maxGapMs = Math.max(maxGapMs, now - last);
        last = now;
        chunks.push(c);
      });
      res.on('end', () => finish(res.complete ? 'end' : 'aborted'));
      res.on('aborted', () => finish('aborted'));
      res.on('error', () => finish('aborted'));
      res.on('close', () => finish(res.complete ? 'end' : 'aborted'));
    });
    req.on('error', reject);
  });
}

/** Decodes a PCM16 WAV with wavefile, an independent reader, so the fake's encoder is checked. */
export function decodeWav(bytes: Uint8Array): { rate: number; channels: Int16Array[] } {
  const wav = new wavefile.WaveFile(bytes);
  const fmt = wav.fmt as { sampleRate: number; numChannels: number; bitsPerSample: number; audioFormat: number };
  if (fmt.audioFormat !== 1 || fmt.bitsPerSample !== 16) throw new Error('not PCM16');
  const samples = wav.getSamples(false, Int16Array) as unknown as Int16Array | Int16Array[];
  const channels = fmt.numChannels === 1 ? [samples as Int16Array] : (samples as Int16Array[]);
  return { rate: fmt.sampleRate, channels };
}
