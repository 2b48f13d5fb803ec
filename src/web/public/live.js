// Calls in progress: polled from /api/live (levels), each with its live transcript over SSE.
import { api, events } from './api.js';
import { fmtDuration, h, SPEAKER_LABEL } from './util.js';

const POLL_MS = 1000;
const LINGER_MS = 20_000;

export function liveView(main) {
  const list = h('div', { class: 'live-list', 'aria-live': 'polite' });
  const status = h('p', { class: 'muted', role: 'status' }, 'Looking for calls in progress…');
  main.replaceChildren(h('h1', {}, 'Live calls'), status, list);
  const cards = new Map();
  let timer = null;
  let stopped = false;

  const poll = async () => {
    try {
      const { calls } = await api('/api/live');
      if (stopped) return;
      const open = new Set(calls.map((c) => c.stream_sid));
      for (const c of calls) {
        let card = cards.get(c.stream_sid);
        if (!card) {
          card = liveCard(c);
          cards.set(c.stream_sid, card);
          list.prepend(card.node);
        }
        card.update(c);
      }
      for (const [sid, card] of cards) if (!open.has(sid)) card.ended();
      status.textContent = calls.length === 0 ? 'No calls in progress.' : `${calls.length} call${calls.length === 1 ? '' : 's'} in progress.`;
    } catch (err) {
      status.textContent = `Could not load live calls: ${err.message}`;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const card of cards.values()) card.close();
  };
}

/** 0..1 on a dBFS scale from -60 to 0, which is how loud speech looks. */
const meterValue = (dbfs) => (dbfs === null ? 0 : Math.max(0, Math.min(1, (dbfs + 60) / 60)));

function liveCard(c) {
  const speakerOf = (track) => (c.agent_track === track ? 'agent' : 'customer');
  const meters = {};
  const meterRows = ['inbound', 'outbound'].map((track) => {
    const id = `meter-${c.stream_sid}-${track}`;
    meters[track] = h('meter', { id, min: 0, max: 1, low: 0.5, high: 0.9, optimum: 0.6, value: 0, dataset: { track } });
    return h('div', { class: 'meter-row' }, h('label', { for: id }, `${SPEAKER_LABEL[speakerOf(track)]} (${track})`), meters[track]);
  });
  const clock = h('span', { class: 'muted' });
  const state = h('span', { class: 'badge s-in-progress' }, 'in progress');
  const lines = h('ol', { class: 'transcript live', 'aria-label': 'Live transcript' });
  const empty = h('p', { class: 'muted' }, 'Waiting for speech…');
  const node = h('article', { class: 'card live-call', dataset: { callSid: c.call_sid, streamSid: c.stream_sid } },
    h('header', {}, h('h2', {}, c.direction === 'outbound' ? `To ${c.to ?? 'unknown'}` : `From ${c.from ?? 'unknown'}`), state, clock,
      h('a', { href: `#/calls/${c.call_sid}`, class: 'open' }, 'Open call')),
    h('div', { class: 'meters' }, meterRows),
    h('h3', {}, 'Transcript'), empty, lines,
  );
  let lingering = null;
  const source = events(`/api/calls/${c.call_sid}/transcript/live`);
  source.addEventListener('line', (e) => {
    const l = JSON.parse(e.data);
    empty.remove();
    lines.append(h('li', { class: `line sp-${l.speaker}` }, h('span', { class: 'when' }, fmtDuration(l.start)), h('span', { class: 'who' }, SPEAKER_LABEL[l.speaker] ?? l.speaker), h('span', { class: 'text' }, l.text)));
  });
  return {
    node,
    update(live) {
      clock.textContent = fmtDuration(live.duration_s);
      for (const track of ['inbound', 'outbound']) {
        meters[track].value = meterValue(live.levels[track].dbfs);
        meters[track].title = live.levels[track].dbfs === null ? 'silence' : `${live.levels[track].dbfs} dBFS`;
        meters[track].dataset.rms = String(live.levels[track].rms);
      }
    },
    ended() {
      if (node.dataset.ended) return;
      node.dataset.ended = 'true';
      state.textContent = 'ended';
      state.className = 'badge s-completed';
      for (const m of Object.values(meters)) m.value = 0;
      // The last utterance is transcribed after the stream ends: keep listening a little.
      lingering = setTimeout(() => source.close(), LINGER_MS);
    },
    close() {
      clearTimeout(lingering);
      source.close();
    },
  };
}
