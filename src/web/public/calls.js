// The calls list: server-side filters (dates, status, direction, provider) and paging, kept in the URL
// hash so a filtered page can be reloaded or shared; a search box finds a call by its id or
// narrows the page shown by number or provider id.
import { api } from './api.js';
import { fmtDuration, fmtTime, h, isCallId, PROVIDER_NAME, providerName } from './util.js';

const PAGE = 20;
const STATUSES = ['', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'];

function readQuery() {
  const q = new URLSearchParams(location.hash.split('?')[1] ?? '');
  return {
    date_from: q.get('date_from') ?? '', date_to: q.get('date_to') ?? '', status: q.get('status') ?? '',
    direction: q.get('direction') ?? '', provider: q.get('provider') ?? '', offset: Number(q.get('offset') ?? 0) || 0, search: q.get('search') ?? '',
  };
}

function field(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

function select(id, value, options) {
  return h('select', { id, name: id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

export function callsView(main) {
  const q = readQuery();
  const inputs = {
    search: h('input', { id: 'f-search', type: 'search', value: q.search, placeholder: 'Call id or number' }),
    date_from: h('input', { id: 'f-from', type: 'date', value: q.date_from }),
    date_to: h('input', { id: 'f-to', type: 'date', value: q.date_to }),
    status: select('f-status', q.status, STATUSES.map((s) => [s, s === '' ? 'Any status' : s])),
    direction: select('f-direction', q.direction, [['', 'Any direction'], ['outbound', 'Placed by an agent'], ['inbound', 'From the phone network']]),
    provider: select('f-provider', q.provider, [['', 'Any provider'], ...Object.entries(PROVIDER_NAME)]),
  };
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter calls' },
    field('f-search', 'Search', inputs.search),
    field('f-from', 'From date', inputs.date_from),
    field('f-to', 'To date', inputs.date_to),
    field('f-status', 'Status', inputs.status),
    field('f-direction', 'Direction', inputs.direction),
    field('f-provider', 'Provider', inputs.provider),
    h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Apply'), h('button', { type: 'reset', class: 'quiet' }, 'Clear')),
  );
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading calls…');
  const results = h('div', { class: 'results' });
  main.replaceChildren(h('h1', {}, 'Calls'), form, status, results);

  const go = (offset) => {
    const p = new URLSearchParams();
    for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) p.set(k, el.value.trim());
    if (offset) p.set('offset', String(offset));
    location.hash = `#/calls${p.size ? `?${p}` : ''}`;
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const s = inputs.search.value.trim();
    if (isCallId(s)) location.hash = `#/calls/${s}`;
    else go(0);
  });
  form.addEventListener('reset', () => setTimeout(() => (location.hash = '#/calls')));

  const controller = new AbortController();
  const p = new URLSearchParams({ limit: String(PAGE), offset: String(q.offset) });
  for (const k of ['date_from', 'date_to', 'status', 'direction', 'provider']) if (q[k]) p.set(k, q[k]);
  api(`/api/calls?${p}`, { signal: controller.signal }).then((list) => {
    const needle = q.search.toLowerCase();
    const calls = needle ? list.calls.filter((c) => [c.call_sid, c.provider_call_id, c.from, c.to].some((v) => v && v.toLowerCase().includes(needle))) : list.calls;
    const first = list.total === 0 ? 0 : list.offset + 1;
    status.textContent = list.total === 0 ? 'No calls match these filters.'
      : `Calls ${first}–${list.offset + list.calls.length} of ${list.total}${needle ? `, ${calls.length} matching “${q.search}” on this page` : ''}.`;
    results.replaceChildren(table(calls), pager(list, go));
  }).catch((err) => {
    if (err.name !== 'AbortError') status.textContent = `Could not load calls: ${err.message}`;
  });
  return () => controller.abort();
}

function table(calls) {
  if (calls.length === 0) return h('div');
  return h('table', { class: 'calls' },
    h('caption', { class: 'visually-hidden' }, 'Calls, newest first'),
    h('thead', {}, h('tr', {}, ['Started', 'Call', 'Provider', 'Direction', 'From', 'To', 'Status', 'Length', 'Recording'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, calls.map((c) => h('tr', { dataset: { callSid: c.call_sid, provider: c.provider ?? 'twilio' } },
      h('td', {}, fmtTime(c.created_at)),
      h('td', {}, h('a', { href: `#/calls/${c.call_sid}`, class: 'mono', title: c.call_sid, 'aria-label': `Call ${c.call_sid}` }, `${c.call_sid.slice(0, 10)}…`)),
      h('td', {}, h('span', { class: `badge p-${c.provider ?? 'twilio'}` }, providerName(c.provider))),
      h('td', {}, c.direction === 'outbound' ? 'Placed' : 'Received'),
      h('td', {}, c.from ?? '—'),
      h('td', {}, c.to ?? '—'),
      h('td', {}, h('span', { class: `badge s-${c.status}` }, c.status)),
      h('td', {}, fmtDuration(c.duration_s)),
      h('td', {}, c.reconciliation_verdict ?? c.cloud_recording_state ?? '—'),
    ))),
  );
}

function pager(list, go) {
  const prev = h('button', { type: 'button', class: 'quiet', disabled: list.offset === 0, onclick: () => go(Math.max(0, list.offset - list.limit)) }, '← Newer');
  const next = h('button', { type: 'button', class: 'quiet', disabled: list.offset + list.limit >= list.total, onclick: () => go(list.offset + list.limit) }, 'Older →');
  return h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, next);
}
