/**
 * `GET …/Recordings.json`: Twilio's 2010-04-01 list page with filters and token paging.
 *
 * Order is date_created descending, as Twilio lists recordings. Paging follows Twilio's scheme:
 * `next_page_uri` carries `Page=n+1&PageToken=PA<last sid>` and the token, not `Page`, decides
 * where the page starts (`Page` is client state, used only for `start`/`end`).
 */
import { twilioError, type StoredRecording, type TwilioErrorBody } from './resource.js';
import type { RecordingResource } from './types.js';

/** Query parameters this endpoint understands. Twilio ignores any other name silently. */
export const LIST_PARAMS = new Set([
  'CallSid', 'ConferenceSid', 'DateCreated', 'DateCreated<', 'DateCreated>', 'IncludeSoftDeleted',
  'PageSize', 'Page', 'PageToken',
]);
const PAGING = new Set(['PageSize', 'Page', 'PageToken']);
const DAY_MS = 86_400_000;

export type ListResult = { status: 200; body: Record<string, unknown> } | { status: number; body: TwilioErrorBody };

interface DateBound {
  start: number;
  /** Exclusive end of the instant or day named. */
  end: number;
}

/** `YYYY-MM-DD` names a whole UTC day; a date-time names one second. */
function parseBound(value: string): DateBound | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(start) ? undefined : { start, end: start + DAY_MS };
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) return undefined;
  const start = Math.floor(t / 1000) * 1000;
  return { start, end: start + 1000 };
}

function bad(message: string): ListResult {
  return { status: 400, body: twilioError(400, 20001, message) };
}

/** Newest first; insertion order breaks ties so paging is stable. */
function compareDesc(a: StoredRecording, b: StoredRecording): number {
  return b.startTime.getTime() - a.startTime.getTime() || b.seq - a.seq;
}

export function listPage(
  all: Map<string, StoredRecording>,
  query: URLSearchParams,
  path: string,
  toResource: (r: StoredRecording) => RecordingResource,
): ListResult {
  const includeDeleted = query.get('IncludeSoftDeleted') === 'true';
  const callSid = query.get('CallSid');
  const conferenceSid = query.get('ConferenceSid');
  // `DateCreated<` is how `DateCreated<=X` arrives once the query is split at its first `=`, so
  // both bounds are inclusive, matching twilio-node's dateCreatedBefore/After.
  const bounds: { on?: DateBound; before?: DateBound; after?: DateBound } = {};
  for (const [name, key] of [['DateCreated', 'on'], ['DateCreated<', 'before'], ['DateCreated>', 'after']] as const) {
    const v = query.get(name);
    if (v === null) continue;
    const b = parseBound(v);
    if (!b) return bad(`Invalid ${name}: ${v}`);
    bounds[key] = b;
  }

  const pageSizeRaw = query.get('PageSize') ?? '50';
  if (!/^\d+$/.test(pageSizeRaw) || Number(pageSizeRaw) < 1) return bad(`Invalid PageSize: ${pageSizeRaw}`);
  const pageSize = Math.min(Number(pageSizeRaw), 1000); // documented maximum
  const pageRaw = query.get('Page') ?? '0';
  if (!/^\d+$/.test(pageRaw)) return bad(`Invalid Page: ${pageRaw}`);
  const page = Number(pageRaw);
  const token = query.get('PageToken');
  // Deep paging by number alone is the pre-2015 scheme; a client must follow next_page_uri.
  if (page > 0 && token === null) return bad('Page greater than 0 requires the PageToken from next_page_uri');

  const rows = [...all.values()]
    .filter((r) => includeDeleted || !r.deletedAt)
    .filter((r) => callSid === null || r.callSid === callSid)
    .filter(() => conferenceSid === null) // the fake holds call recordings only
    .filter((r) => {
      const t = r.startTime.getTime();
      if (bounds.on && (t < bounds.on.start || t >= bounds.on.end)) return false;
      if (bounds.before && t >= bounds.before.end) return false;
      if (bounds.after && t < bounds.after.start) return false;
      return true;
    })
    .sort(compareDesc);

  let items: StoredRecording[];
  if (token === null) {
    items = rows.slice(0, pageSize);
  } else {
    // The token names a recording by sid; deleted ones still count, as their position is known.
    const m = /^P([AB])(.+)$/.exec(token);
    const anchor = m ? all.get(m[2]!) : undefined;
    if (!m || !anchor) return bad(`Invalid PageToken: ${token}`);
    if (m[1] === 'A') {
      items = rows.filter((r) => compareDesc(anchor, r) < 0).slice(0, pageSize);
    } else {
      const before = rows.filter((r) => compareDesc(r, anchor) < 0);
      items = before.slice(Math.max(0, before.length - pageSize));
    }
  }

  const filters = [...query.entries()].filter(([k]) => !PAGING.has(k));
  const uriFor = (p: number, tok?: string): string => {
    const q = new URLSearchParams(filters);
    q.set('PageSize', String(pageSize));
    q.set('Page', String(p));
    if (tok !== undefined) q.set('PageToken', tok);
    return `${path}?${q.toString()}`;
  };
  const last = items[items.length - 1];
  const first = items[0];
  const hasNext = last !== undefined && rows.some((r) => compareDesc(last, r) < 0);
  const hasPrev = page > 0 && first !== undefined && rows.some((r) => compareDesc(r, first) < 0);
  const start = page * pageSize;
  return {
    status: 200,
    body: {
      recordings: items.map(toResource),
      end: start + Math.max(items.length - 1, 0),
      first_page_uri: uriFor(0),
      next_page_uri: hasNext ? uriFor(page + 1, `PA${last.sid}`) : null,
      page,
      page_size: pageSize,
      previous_page_uri: hasPrev ? uriFor(page - 1, `PB${first.sid}`) : null,
      start,
      uri: uriFor(page, token ?? undefined),
    },
  };
}
