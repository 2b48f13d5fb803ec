// Small DOM and formatting helpers. Text always goes in as text nodes, never as HTML.

/** h('p', {class: 'x'}, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    // Through the CSSOM: the page's CSP forbids inline style attributes.
    else if (k === 'style') node.style.cssText = v;
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function announce(text) {
  const a = document.getElementById('announcer');
  if (a) a.textContent = text;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function fmtDuration(s) {
  if (s === null || s === undefined) return '—';
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  return `${m}:${String(total % 60).padStart(2, '0')}`;
}

export function fmtSeconds(s, digits = 2) {
  return `${Number(s).toFixed(digits)} s`;
}

export const SPEAKER_LABEL = { agent: 'Agent', customer: 'Customer' };

/** The gateway's call ids: a Twilio CallSid, a Vonage call (VN…) or an ElevenLabs conversation (EL-…). */
export const CALL_ID = '(?:CA[0-9a-fA-F]{32}|VN[0-9a-fA-F]{32}|EL-[A-Za-z0-9_-]{1,96})';
export const isCallId = (s) => new RegExp(`^${CALL_ID}$`).test(s);

export const PROVIDER_NAME = { twilio: 'Twilio', vonage: 'Vonage', elevenlabs: 'ElevenLabs' };
export const providerName = (p) => PROVIDER_NAME[p] ?? p ?? 'Twilio';

/** Signed media URLs name the gateway's public address; the page is served by the same
 *  gateway, so the path and query are enough and work behind any host name. */
export function sameOrigin(url) {
  const u = new URL(url, location.href);
  return u.pathname + u.search;
}
