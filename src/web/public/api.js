// Every API call sends the key from sessionStorage (kept for this browser tab only).
const KEY = 'callvault.apiKey';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

let onUnauthorized = () => {};
export function whenUnauthorized(f) {
  onUnauthorized = f;
}

/** GET by default; with `body`, a POST of it as JSON (unless another method is given). */
export async function api(path, { key = session.key, signal, method, body: payload } = {}) {
  const headers = { 'X-API-Key': key ?? '', accept: 'application/json' };
  const init = { headers, signal };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(payload);
    init.method = method ?? 'POST';
  } else if (method) init.method = method;
  const res = await fetch(path, init);
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const message = body && typeof body.error === 'string' ? body.error : `Request failed (${res.status})`;
    if (res.status === 401 && key === session.key) onUnauthorized(message);
    throw new ApiError(res.status, message, body);
  }
  return body;
}

/** EventSource cannot send headers: the key goes in the query, which the API accepts. */
export function events(path) {
  const sep = path.includes('?') ? '&' : '?';
  return new EventSource(`${path}${sep}api_key=${encodeURIComponent(session.key ?? '')}`);
}
