// The shell: sign-in, navigation and a hash router. Views render into <main> and return a
// cleanup function that stops their timers and streams.
import { api, ApiError, session, whenUnauthorized } from './api.js';
import { CALL_ID, h } from './util.js';
import { callsView } from './calls.js';
import { callView } from './call.js';
import { liveView } from './live.js';
import { dialerView } from './dialer.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOut = document.getElementById('sign-out');
let cleanup = () => {};

const ROUTES = [
  [new RegExp(`^#/calls/(${CALL_ID})$`), (m) => callView(main, m[1]), 'calls'],
  [/^#\/live$/, () => liveView(main), 'live'],
  [/^#\/dial$/, () => dialerView(main), 'dial'],
  [/^(#\/calls(\?.*)?)?$/, () => callsView(main), 'calls'],
];

function signInView(error) {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'key-help' });
  const message = h('p', { id: 'sign-in-error', class: 'error', role: 'alert' }, error ?? '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { id: 'key-help', class: 'hint' }, 'Kept in this browser tab only, until you sign out or close it.'),
    message,
    button,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    message.textContent = '';
    const key = input.value.trim();
    try {
      await api('/api/calls?limit=1', { key });
      session.set(key);
      route();
    } catch (err) {
      message.textContent = err instanceof ApiError && err.status === 401 ? 'That API key was not accepted.' : `Could not sign in: ${err.message}`;
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(form);
  input.focus();
}

function route() {
  cleanup();
  cleanup = () => {};
  const signedIn = Boolean(session.key);
  nav.hidden = !signedIn;
  signOut.hidden = !signedIn;
  if (!signedIn) return signInView();
  const hash = location.hash;
  for (const [re, view, name] of ROUTES) {
    const m = hash.match(re);
    if (!m) continue;
    for (const a of nav.querySelectorAll('a')) {
      if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    cleanup = view(m) ?? (() => {});
    return;
  }
  main.replaceChildren(h('p', {}, 'Page not found. ', h('a', { href: '#/calls' }, 'Back to calls')));
}

signOut.addEventListener('click', () => {
  session.clear();
  location.hash = '';
  route();
});
whenUnauthorized((message) => {
  session.clear();
  cleanup();
  cleanup = () => {};
  nav.hidden = true;
  signOut.hidden = true;
  signInView(`Signed out: ${message}`);
});
window.addEventListener('hashchange', () => {
  route();
  main.focus({ preventScroll: true });
});
route();
