// A streaming JSON scanner for ElevenLabs' post-call bodies, which carry the whole call's audio as
// one base64 string: it checks the syntax, tracks the key path, keeps a few small values, and
// hands one chosen string value on as it goes (unescaped, `\/` included) without ever holding the
// body, or that string, in memory.

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

export type JsonScalar = string | number | boolean | null;

export interface JsonScanOptions {
  /** dotted paths (`data.conversation_id`) whose scalar values are kept */
  collect?: readonly string[];
  /** longest string kept for a collected path; longer ones are dropped (default 4096 bytes) */
  maxCollectBytes?: number;
  /** the dotted path of one string value streamed to onChunk; the buffer is valid only during the call */
  stream?: { path: string; onChunk: (bytes: Buffer) => void };
  /** default 256 */
  maxDepth?: number;
}

type Frame = { kind: 'object'; key: string | null } | { kind: 'array'; index: number };
type State = 'value' | 'key_or_end' | 'key' | 'colon' | 'after' | 'string' | 'number' | 'literal' | 'done';

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const NUMBER_CHAR = /[0-9eE.+-]/;
const MAX_KEY_BYTES = 1024;

const indexOr = (chunk: Buffer, byte: number, from: number) => {
  const at = chunk.indexOf(byte, from);
  return at === -1 ? chunk.length : at;
};

export class JsonScanner {
  /** the collected values by path (a repeated key keeps its last value) */
  readonly values = new Map<string, JsonScalar>();
  private readonly collect: ReadonlySet<string>;
  private readonly maxCollect: number;
  private readonly maxDepth: number;
  private readonly stack: Frame[] = [];
  private state: State = 'value';
  private offset = 0;
  // the string being read: a key, a value to keep, to stream, or to skip
  private strRole: 'key' | 'keep' | 'stream' | 'skip' = 'skip';
  private strParts: Buffer[] = [];
  private strBytes = 0;
  private escape: 'none' | 'backslash' | 'unicode' = 'none';
  private hex = '';
  private highSurrogate = -1;
  private token = '';
  private literal = '';
  private valuePath = '';

  constructor(private readonly o: JsonScanOptions = {}) {
    this.collect = new Set(o.collect ?? []);
    this.maxCollect = o.maxCollectBytes ?? 4096;
    this.maxDepth = o.maxDepth ?? 256;
  }

  push(chunk: Buffer): void {
    let i = 0;
    // Cached positions of the next quote and backslash (chunk.length when none), so a long string
    // is crossed with indexOf, not byte by byte, and frequent escapes never rescan to a far quote.
    let quote = -1;
    let backslash = -1;
    while (i < chunk.length) {
      if (this.state === 'string' && this.escape === 'none') {
        if (quote < i) quote = indexOr(chunk, 0x22, i);
        if (backslash < i) backslash = indexOr(chunk, 0x5c, i);
        const stop = Math.min(quote, backslash);
        if (stop > i) this.stringBytes(chunk.subarray(i, stop));
        if (stop === chunk.length) break;
        if (stop === backslash) this.escape = 'backslash';
        else this.endString();
        i = stop + 1;
        continue;
      }
      i = this.step(chunk, i);
    }
    this.offset += chunk.length;
  }

  end(): void {
    if (this.state === 'number') this.endNumber(this.offset);
    if (this.state !== 'done') throw new JsonSyntaxError('unexpected end of JSON', this.offset);
  }

  /** One byte outside the fast string path; returns the next index. */
  private step(chunk: Buffer, i: number): number {
    const c = chunk[i]!;
    const at = this.offset + i;
    switch (this.state) {
      case 'string':
        this.escapeByte(c, at);
        return i + 1;
      case 'number':
        if (NUMBER_CHAR.test(String.fromCharCode(c)) && this.token.length < 64) {
          this.token += String.fromCharCode(c);
          return i + 1;
        }
        this.endNumber(at);
        return i; // the delimiter is read again in the new state
      case 'literal':
        this.literalByte(c, at);
        return i + 1;
      default:
        if (WS.has(c)) return i + 1;
        this.structural(c, at);
        return i + 1;
    }
  }

  private structural(c: number, at: number): void {
    const top = this.stack[this.stack.length - 1];
    switch (this.state) {
      case 'value':
        if (c === 0x5d && top?.kind === 'array' && top.index === 0) return this.close(); // `[]`
        return this.startValue(c, at);
      case 'key_or_end':
      case 'key':
        if (c === 0x7d && this.state === 'key_or_end') return this.close();
        if (c !== 0x22) throw new JsonSyntaxError('expected a key', at);
        this.beginString('key');
        return;
      case 'colon':
        if (c !== 0x3a) throw new JsonSyntaxError("expected ':'", at);
        this.state = 'value';
        return;
      case 'after':
        if (!top) throw new JsonSyntaxError('unexpected data after the JSON value', at);
        if (c === 0x2c) {
          if (top.kind === 'array') top.index++;
          this.state = top.kind === 'object' ? 'key' : 'value';
          return;
        }
        if ((c === 0x7d && top.kind === 'object') || (c === 0x5d && top.kind === 'array')) return this.close();
        throw new JsonSyntaxError(`expected ',' or the end of the ${top.kind}`, at);
      case 'done':
        throw new JsonSyntaxError('unexpected data after the JSON value', at);
      default:
        throw new JsonSyntaxError('unexpected byte', at);
    }
  }

  private startValue(c: number, at: number): void {
    this.valuePath = this.path();
    if (c === 0x7b || c === 0x5b) {
      if (this.stack.length >= this.maxDepth) throw new JsonSyntaxError('JSON nested too deeply', at);
      this.stack.push(c === 0x7b ? { kind: 'object', key: null } : { kind: 'array', index: 0 });
      this.state = c === 0x7b ? 'key_or_end' : 'value';
      return;
    }
    if (c === 0x22) {
      const role = this.o.stream?.path === this.valuePath ? 'stream' : this.collect.has(this.valuePath) ? 'keep' : 'skip';
      this.beginString(role);
      return;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.state = 'number';
      this.token = String.fromCharCode(c);
      return;
    }
    const literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : '';
    if (!literal) throw new JsonSyntaxError('expected a value', at);
    this.state = 'literal';
    this.literal = literal;
    this.token = literal[0]!;
  }

  private close(): void {
    this.stack.pop();
    this.afterValue();
  }

  private afterValue(): void {
    this.state = this.stack.length === 0 ? 'done' : 'after';
  }

  /** `a.b.0.c` for the value about to start. */
  private path(): string {
    return this.stack.map((f) => (f.kind === 'object' ? (f.key ?? '') : String(f.index))).join('.');
  }

  private beginString(role: JsonScanner['strRole']): void {
    this.state = 'string';
    this.strRole = role;
    this.strParts = [];
    this.strBytes = 0;
    this.highSurrogate = -1;
  }

  private stringBytes(bytes: Buffer): void {
    if (this.highSurrogate >= 0) this.flushSurrogate();
    switch (this.strRole) {
      case 'stream':
        this.o.stream!.onChunk(bytes);
        return;
      case 'skip':
        return;
      default: {
        const cap = this.strRole === 'key' ? MAX_KEY_BYTES : this.maxCollect;
        this.strBytes += bytes.length;
        if (this.strBytes <= cap) this.strParts.push(Buffer.from(bytes));
      }
    }
  }

  private escapeByte(c: number, at: number): void {
    if (this.escape === 'backslash') {
      if (c === 0x75) {
        this.escape = 'unicode';
        this.hex = '';
        return;
      }
      const out = SIMPLE_ESCAPES[c];
      if (out === undefined) throw new JsonSyntaxError('invalid escape', at);
      this.escape = 'none';
      this.stringBytes(Buffer.of(out));
      return;
    }
    this.hex += String.fromCharCode(c);
    if (!/^[0-9a-fA-F]{1,4}$/.test(this.hex)) throw new JsonSyntaxError('invalid \\u escape', at);
    if (this.hex.length < 4) return;
    this.escape = 'none';
    const code = parseInt(this.hex, 16);
    if (code >= 0xd800 && code <= 0xdbff) {
      if (this.highSurrogate >= 0) this.flushSurrogate();
      this.highSurrogate = code; // waits for its low half
    } else if (code >= 0xdc00 && code <= 0xdfff && this.highSurrogate >= 0) {
      const pair = String.fromCharCode(this.highSurrogate, code);
      this.highSurrogate = -1;
      this.stringBytes(Buffer.from(pair, 'utf8'));
    } else {
      this.stringBytes(Buffer.from(String.fromCharCode(code), 'utf8'));
    }
  }

  /** A high surrogate with no low half: written as what it is alone (U+FFFD in UTF-8). */
  private flushSurrogate(): void {
    const code = this.highSurrogate;
    this.highSurrogate = -1;
    this.stringBytes(Buffer.from(String.fromCharCode(code), 'utf8'));
  }

  private endString(): void {
    if (this.highSurrogate >= 0) this.flushSurrogate();
    const text = () => Buffer.concat(this.strParts).toString('utf8');
    if (this.strRole === 'key') {
      const top = this.stack[this.stack.length - 1];
      if (top?.kind === 'object') top.key = this.strBytes <= MAX_KEY_BYTES ? text() : '\u0000';
      this.state = 'colon';
      return;
    }
    if (this.strRole === 'keep' && this.strBytes <= this.maxCollect) this.values.set(this.valuePath, text());
    this.strParts = [];
    this.afterValue();
  }

  private endNumber(at: number): void {
    if (!NUMBER.test(this.token)) throw new JsonSyntaxError('invalid number', at);
    if (this.collect.has(this.valuePath)) this.values.set(this.valuePath, Number(this.token));
    this.afterValue();
  }

  private literalByte(c: number, at: number): void {
    this.token += String.fromCharCode(c);
    if (!this.literal.startsWith(this.token)) throw new JsonSyntaxError('invalid literal', at);
    if (this.token.length < this.literal.length) return;
    if (this.collect.has(this.valuePath)) this.values.set(this.valuePath, this.literal === 'null' ? null : this.literal === 'true');
    this.afterValue();
  }
}
