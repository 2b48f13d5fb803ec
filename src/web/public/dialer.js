// The dialer: a Twilio Voice SDK Device from a /token access token. The device and the call
// live at module level, so moving between pages does not drop a call in progress.
import { api } from './api.js';
import { announce, h } from './util.js';

const state = { device: null, call: null, status: 'idle', muted: false, error: '', configured: null, identity: '', missing: [] };
let rerender = () => {};

function setStatus(status, error = '') {
  state.status = status;
  state.error = error;
  announce(`Call ${status}${error ? `: ${error}` : ''}`);
  rerender();
}

async function ensureDevice() {
  if (state.device) return state.device;
  const { token, identity } = await api('/token');
  const Device = window.Twilio?.Device;
  if (!Device) throw new Error('the Twilio Voice SDK did not load');
  state.identity = identity;
  const device = new Device(token, { logLevel: 'error', closeProtection: true });
  device.on('error', (err) => setStatus(state.call ? state.status : 'idle', err?.message ?? String(err)));
  device.on('tokenWillExpire', async () => {
    try {
      device.updateToken((await api('/token')).token);
    } catch {
      // The next call will fetch a fresh token when this one expires.
    }
  });
  state.device = device;
  return device;
}

async function place(to) {
  try {
    setStatus('connecting');
    const device = await ensureDevice();
    const call = await device.connect({ params: { To: to } });
    state.call = call;
    state.muted = false;
    call.on('ringing', () => setStatus('ringing'));
    call.on('accept', () => setStatus('in progress'));
    call.on('mute', (muted) => {
      state.muted = muted;
      rerender();
    });
    const end = (why) => () => {
      state.call = null;
      state.muted = false;
      setStatus(why);
    };
    call.on('disconnect', end('ended'));
    call.on('cancel', end('cancelled'));
    call.on('reject', end('rejected'));
    call.on('error', (err) => setStatus(state.status, err?.message ?? String(err)));
  } catch (err) {
    state.call = null;
    if (err.status === 503) {
      state.configured = false;
      state.missing = err.body?.missing ?? [];
    }
    setStatus('idle', err.message);
  }
}

export function dialerView(main) {
  const input = h('input', { id: 'dial-to', name: 'to', type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, pattern: '\\+[1-9][0-9]{6,14}', placeholder: '+15551234567', 'aria-describedby': 'dial-help' });
  const box = h('div');
  const form = h('form', { class: 'card dialer', 'aria-labelledby': 'dial-h' },
    h('h1', { id: 'dial-h' }, 'Place a call'),
    h('label', { for: 'dial-to' }, 'Number to call'),
    input,
    h('p', { id: 'dial-help', class: 'hint' }, 'International format: + then country code and number.'),
    box,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!state.call && input.value.trim()) place(input.value.trim());
  });
  rerender = () => {
    const inCall = Boolean(state.call);
    input.disabled = inCall;
    box.replaceChildren(
      state.configured === false
        ? h('p', { class: 'error', role: 'alert', id: 'dial-not-configured' }, 'Dialling is not configured on this gateway. ',
          state.missing.length ? `Missing settings: ${state.missing.join(', ')}.` : state.error)
        : h('div', { class: 'dial-actions' },
          h('button', { type: 'submit', id: 'dial-call', disabled: inCall || state.status === 'connecting' }, 'Call'),
          h('button', { type: 'button', id: 'dial-mute', class: 'quiet', disabled: !inCall, 'aria-pressed': state.muted ? 'true' : 'false', onclick: () => state.call?.mute(!state.muted) }, state.muted ? 'Unmute' : 'Mute'),
          h('button', { type: 'button', id: 'dial-hangup', class: 'danger', disabled: !inCall, onclick: () => state.call?.disconnect() }, 'Hang up'),
        ),
      h('p', { id: 'dial-status', class: 'dial-status', dataset: { status: state.status } }, `Status: ${state.status}`, state.muted ? ' (muted)' : ''),
      state.error && state.configured !== false ? h('p', { class: 'error', role: 'alert' }, state.error) : '',
    );
  };
  main.replaceChildren(form);
  rerender();
  input.focus();
  // Find out at once whether dialling is configured, so the page can say so before any click.
  if (state.configured === null) {
    ensureDevice().then(() => {
      state.configured = true;
      rerender();
    }, (err) => {
      if (err.status === 503) {
        state.configured = false;
        state.missing = err.body?.missing ?? [];
      }
      state.error = err.message;
      rerender();
    });
  }
  return () => {
    rerender = () => {};
  };
}
