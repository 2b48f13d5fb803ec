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

export async function api(path, { key = session.key, signal } = {}) {
  const res = await fetch(path, { headers: { 'X-API-Key': key ?? '', accept: 'application/json' }, signal });
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
