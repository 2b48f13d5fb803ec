/**
 * A strict multipart/form-data parser (RFC 7578 / RFC 2046) for bodies already bounded by the
 * upload limit. Strict on purpose: a body that only a lenient parser would accept is a client bug
 * the fake should surface, not paper over. Not supported (no client we care about sends them):
 * header folding and nested multipart/mixed parts.
 */

export interface Part {
  name: string;
  /** Present when the part is a file (Content-Disposition carries `filename`). */
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export class MultipartError extends Error {}

/** The boundary from a `multipart/form-data` Content-Type, or null when the type is not that. */
export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const params = parseParams(contentType.slice(contentType.indexOf(';') + 1));
  const b = params.get('boundary');
  // RFC 2046: 1 to 70 characters, and it may not end in a space.
  if (b === undefined || b.length < 1 || b.length > 70 || b.endsWith(' ')) return null;
  return b;
}

/** `; a=b; c="d \" e"` → Map. Quoted strings may escape with a backslash. */
function parseParams(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*;?\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null && m[0] !== '') {
    const raw = m[2]!.trim();
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    out.set(m[1]!.toLowerCase(), value);
  }
  return out;
}

/** RFC 5987 `UTF-8''caf%C3%A9.wav` → `café.wav`. */
function decodeExtValue(v: string): string {
  const m = /^([\w-]+)'[^']*'(.*)$/.exec(v);
  if (!m) throw new MultipartError(`bad filename* value: ${v}`);
  try {
    return decodeURIComponent(m[2]!);
  } catch {
    throw new MultipartError(`bad percent-encoding in filename*: ${v}`);
  }
}

function parseHeaders(block: string): Omit<Part, 'data'> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i <= 0) throw new MultipartError(`malformed part header line: ${JSON.stringify(line)}`);
    headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  const cd = headers.get('content-disposition');
  if (cd === undefined) throw new MultipartError('part without Content-Disposition');
  if (!/^form-data\s*(;|$)/i.test(cd)) throw new MultipartError(`Content-Disposition is not form-data: ${cd}`);
  const params = parseParams(cd.slice(cd.indexOf(';') + 1));
  const name = params.get('name');
  if (name === undefined) throw new MultipartError('part without a name');
  const star = params.get('filename*');
  const filename = star !== undefined ? decodeExtValue(star) : params.get('filename');
  const contentType = headers.get('content-type');
  return { name, ...(filename !== undefined ? { filename } : {}), ...(contentType !== undefined ? { contentType } : {}) };
}

const CRLF = Buffer.from('\r\n');

/** Splits `body` into parts. Throws MultipartError on anything malformed, including a missing close delimiter. */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new MultipartError('boundary from Content-Type not found in body');
  // Anything before the first delimiter is a preamble, which must end in CRLF.
  if (pos > 0 && !body.subarray(pos - 2, pos).equals(CRLF)) throw new MultipartError('first boundary is not at the start of a line');
  const parts: Part[] = [];
  for (;;) {
    let p = pos + delimiter.length;
    if (body.subarray(p, p + 2).toString('latin1') === '--') return parts; // close delimiter; the epilogue is ignored
    while (body[p] === 0x20 || body[p] === 0x09) p++; // transport padding
    if (!body.subarray(p, p + 2).equals(CRLF)) throw new MultipartError('boundary line not followed by CRLF');
    p += 2;
    // form-data parts need at least Content-Disposition, so an empty header block is an error.
    if (body.subarray(p, p + 2).equals(CRLF)) throw new MultipartError('part without headers');
    const end = body.indexOf('\r\n\r\n', p);
    if (end < 0) throw new MultipartError('part headers never end');
    const headerBlock = body.subarray(p, end).toString('utf8');
    const contentStart = end + 4;
    const next = body.indexOf(between, contentStart);
    if (next < 0) throw new MultipartError('body ends before the closing boundary');
    parts.push({ ...parseHeaders(headerBlock), data: body.subarray(contentStart, next) });
    pos = next + 2;
  }
}
