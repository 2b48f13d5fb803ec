// The dialer, two ways to place a call:
// - Browser (Twilio): a Twilio Voice SDK Device from a /token access token. The device and the
//   call live at module level, so moving between pages does not drop a call in progress.
// - Phone bridge (Vonage): POST /api/vonage/calls; Vonage calls the customer and connects them to
//   the agent's phone, or to the gateway's live capture. The page only reports the new call.
import { api } from './api.js';
import { announce, h } from './util.js';

const state = { device: null, call: null, status: 'idle', muted: false, error: '', configured: null, identity: '', missing: [], mode: 'twilio' };
const bridge = { status: 'idle', placed: null, error: '', connect: 'agent' };
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

const E164 = '\\+[1-9][0-9]{6,14}';

function choice(id, name, value, checked, label, onchange) {
  const input = h('input', { id, name, type: 'radio', value, checked, onchange });
  return { input, node: h('label', { for: id, class: 'choice' }, input, label) };
}

/** Browser (Twilio): the number, and call / mute / hang up through the Voice SDK. */
function twilioForm() {
  const input = h('input', { id: 'dial-to', name: 'to', type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, pattern: E164, placeholder: '+15551234567', 'aria-describedby': 'dial-help' });
  const box = h('div');
  const form = h('form', { id: 'dial-twilio', 'aria-label': 'Call from this browser' },
    h('label', { for: 'dial-to' }, 'Number to call'),
    input,
    h('p', { id: 'dial-help', class: 'hint' }, 'International format: + then country code and number.'),
    box,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!state.call && input.value.trim()) place(input.value.trim());
  });
  const render = () => {
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
  return { form, render, focus: () => input.focus() };
}

/** Phone bridge (Vonage): the customer's number, and the agent's phone or live capture. */
function vonageForm() {
  const to = h('input', { id: 'vonage-to', name: 'to', type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, pattern: E164, placeholder: '+15551234567', 'aria-describedby': 'vonage-to-help' });
  const agent = h('input', { id: 'vonage-agent', name: 'agent_number', type: 'tel', inputmode: 'tel', pattern: E164, placeholder: '+15557654321', 'aria-describedby': 'vonage-agent-help' });
  const button = h('button', { type: 'submit', id: 'vonage-place' }, 'Place call');
  const status = h('p', { id: 'vonage-status', class: 'dial-status', role: 'status', 'aria-live': 'polite' });
  const result = h('div', { id: 'vonage-result' });
  const syncConnect = () => {
    const live = bridge.connect === 'live';
    agent.disabled = live;
    agent.required = !live;
  };
  const pick = (e) => {
    bridge.connect = e.target.value;
    syncConnect();
  };
  const toAgent = choice('vonage-connect-agent', 'vonage-connect', 'agent', bridge.connect === 'agent', "The agent's phone", pick);
  const toLive = choice('vonage-connect-live', 'vonage-connect', 'live', bridge.connect === 'live', 'Capture live (no agent phone)', pick);
  const form = h('form', { id: 'dial-vonage', 'aria-label': 'Call through Vonage' },
    h('label', { for: 'vonage-to' }, "Customer's number"),
    to,
    h('p', { id: 'vonage-to-help', class: 'hint' }, 'Vonage calls this number first. International format: + then country code and number.'),
    h('fieldset', {},
      h('legend', {}, 'Connect the customer to'),
      toAgent.node,
      h('div', { class: 'sub' },
        h('label', { for: 'vonage-agent' }, "Agent's phone number"),
        agent,
        h('p', { id: 'vonage-agent-help', class: 'hint' }, 'Vonage rings this phone when the customer answers.')),
      toLive.node,
      h('p', { class: 'hint sub', id: 'vonage-live-help' }, "Nobody speaks to the customer: their audio goes to the gateway's live capture."),
    ),
    h('div', { class: 'dial-actions' }, button),
    status,
    result,
  );
  toLive.input.setAttribute('aria-describedby', 'vonage-live-help');

  const render = () => {
    button.disabled = bridge.status === 'placing';
    status.dataset.status = bridge.status;
    // The status line is the live region (role=status); the error below it is an alert.
    status.textContent = { idle: '', placing: 'Placing the call…', placed: 'Call placed.', refused: 'The call was not placed.' }[bridge.status] ?? '';
    const p = bridge.placed;
    result.replaceChildren(
      bridge.status === 'placed' && p ? h('div', { class: 'placed', id: 'vonage-placed' },
        h('p', {}, 'Vonage answered: ', h('strong', {}, p.status), p.live_capture ? ' (captured live).' : ' (bridged to the agent).'),
        h('p', {}, h('a', { href: `#/calls/${p.call_sid}`, id: 'vonage-call-link' }, 'Open the call ', h('span', { class: 'mono' }, p.call_sid))),
        h('p', { class: 'hint' }, 'Vonage conversation ', h('span', { class: 'mono' }, p.conversation_uuid)),
      ) : '',
      bridge.status === 'refused' ? h('p', { class: 'error', role: 'alert', id: 'vonage-error' }, bridge.error) : '',
    );
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (bridge.status === 'placing') return;
    const body = { to: to.value.trim() };
    if (bridge.connect === 'live') body.live_capture = true;
    else body.agent_number = agent.value.trim();
    bridge.status = 'placing';
    bridge.placed = null;
    bridge.error = '';
    render();
    try {
      bridge.placed = await api('/api/vonage/calls', { body });
      bridge.status = 'placed';
    } catch (err) {
      bridge.status = 'refused';
      // The server's own words: a 503 names the missing VONAGE_* settings.
      bridge.error = err.status === 503 ? `${err.message}.`
        : err.status === 403 ? `Not allowed: ${err.message}.`
          : err.message;
    }
    rerender();
  });
  syncConnect();
  return { form, render, focus: () => to.focus() };
}

export function dialerView(main) {
  const forms = { twilio: twilioForm(), vonage: vonageForm() };
  const body = h('div');
  const show = () => {
    const f = forms[state.mode];
    body.replaceChildren(f.form);
    f.render();
  };
  const pick = (e) => {
    state.mode = e.target.value;
    show();
    forms[state.mode].focus();
  };
  const twilio = choice('dial-mode-twilio', 'dial-mode', 'twilio', state.mode === 'twilio', 'Browser (Twilio)', pick);
  const vonage = choice('dial-mode-vonage', 'dial-mode', 'vonage', state.mode === 'vonage', 'Phone bridge (Vonage)', pick);
  const card = h('section', { class: 'card dialer', 'aria-labelledby': 'dial-h' },
    h('h1', { id: 'dial-h' }, 'Place a call'),
    h('fieldset', { class: 'mode' },
      h('legend', {}, 'Call through'),
      twilio.node, h('p', { class: 'hint sub' }, "You speak through this browser's microphone."),
      vonage.node, h('p', { class: 'hint sub' }, "Vonage calls the customer and connects them to a phone or to the live capture; it records the call."),
    ),
    body,
  );
  rerender = () => {
    // A browser call in progress keeps its controls on screen until it ends.
    vonage.input.disabled = Boolean(state.call);
    forms[state.mode].render();
  };
  main.replaceChildren(card);
  show();
  rerender();
  forms[state.mode].focus();
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
