// One call: its audio, both speakers' waveforms with the reconciliation gaps, the report in
// plain words, the transcript (click a line to hear it) and the post-call jobs, refreshed while
// work is still running.
import { api } from './api.js';
import { fmtDuration, fmtSeconds, fmtTime, h, sameOrigin, SPEAKER_LABEL } from './util.js';
import { parseWav, seek, waveform } from './wave.js';

const POLL_MS = 2000;
/** Larger files are not decoded in the page (an hour of 8 kHz stereo is ~115 MB). */
const MAX_WAVE_BYTES = 40 * 1024 * 1024;

export function callView(main, callSid) {
  let timer = null;
  let stopped = false;
  let shown = '';
  const controller = new AbortController();
  main.replaceChildren(h('p', { role: 'status', class: 'muted' }, 'Loading the call…'));

  const load = async () => {
    try {
      const call = await api(`/api/calls/${callSid}`, { signal: controller.signal });
      if (stopped) return;
      // Re-render everything only when something beyond job progress changed, so a playing
      // <audio> is not interrupted by the refresh.
      const signature = JSON.stringify([call.status, call.reconciliation?.verdict, call.artifacts.map((a) => a.file), call.transcript?.lines.length]);
      if (signature !== shown) {
        shown = signature;
        render(main, call);
      } else {
        main.querySelector('#jobs')?.replaceWith(jobsSection(call.jobs));
      }
      if (workRunning(call)) timer = setTimeout(load, POLL_MS);
    } catch (err) {
      if (err.name === 'AbortError' || stopped) return;
      main.replaceChildren(h('h1', {}, 'Call'), h('p', { class: 'error', role: 'alert' }, err.status === 404 ? 'No such call.' : `Could not load the call: ${err.message}`));
    }
  };
  load();
  return () => {
    stopped = true;
    controller.abort();
    clearTimeout(timer);
  };
}

/** Running, or due soon: a sweep or a retry scheduled minutes ahead is not work in progress. */
const active = (j) => j.state === 'running' || (j.state === 'queued' && Date.parse(j.run_at) - Date.now() < 30_000);

function workRunning(call) {
  if (call.jobs.some(active)) return true;
  if (call.streams.some((s) => s.state !== 'closed')) return true;
  // The call ended but its post-call work may not have been queued yet.
  return !call.reconciliation && Date.now() - Date.parse(call.updated_at) < 5 * 60 * 1000;
}

function render(main, call) {
  const final = call.artifacts.find((a) => a.kind === 'final' && a.channels === 2);
  const capture = call.artifacts.find((a) => a.kind === 'capture' && a.channels === 2) ?? call.artifacts.find((a) => a.kind === 'capture');
  const cloud = call.artifacts.find((a) => a.kind === 'cloud');
  const players = [
    ['final', 'Final (reconciled)', final],
    ['capture', 'Live capture', capture],
    ['cloud', 'Cloud recording', cloud],
  ].map(([kind, label, a]) => player(kind, label, a));
  const primary = players.find((p) => p.audio)?.audio ?? null;

  const waveBox = h('div', { class: 'wave-box' }, h('p', { class: 'muted' }, 'No stereo audio to draw yet.'));
  const source = final ?? (capture?.channels === 2 ? capture : null);
  if (source) drawWave(waveBox, source, call, final ? players[0].audio : players[1].audio);

  main.replaceChildren(
    h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/calls' }, '← All calls')),
    h('h1', {}, call.direction === 'outbound' ? `Call to ${call.to ?? 'unknown'}` : `Call from ${call.from ?? 'unknown'}`),
    h('dl', { class: 'facts' },
      fact('Call SID', h('span', { class: 'mono' }, call.call_sid)),
      fact('Started', fmtTime(call.created_at)),
      fact('Status', call.status),
      fact('Length', fmtDuration(call.duration_s)),
      fact('Agent', call.agent_track === 'inbound' ? 'inbound track' : 'outbound track'),
    ),
    h('section', { 'aria-labelledby': 'audio-h', class: 'card' },
      h('h2', { id: 'audio-h' }, 'Audio'),
      h('div', { class: 'players' }, players.map((p) => p.node)),
      waveBox,
      legend(),
    ),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'report-h', class: 'card' }, h('h2', { id: 'report-h' }, 'Reconciliation'), reportSection(call.reconciliation)),
      h('section', { 'aria-labelledby': 'transcript-h', class: 'card' }, h('h2', { id: 'transcript-h' }, 'Transcript'), transcriptSection(call.transcript, primary)),
    ),
    jobsSection(call.jobs),
  );
}

function fact(label, value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

function player(kind, label, artifact) {
  const id = `audio-${kind}`;
  if (!artifact) return { node: h('div', { class: 'player' }, h('span', { class: 'label' }, label), h('span', { class: 'muted' }, 'not available')), audio: null };
  const audio = h('audio', { id, controls: true, preload: 'metadata', src: sameOrigin(artifact.url), dataset: { kind } });
  const detail = `${artifact.channels === 2 ? 'stereo' : 'mono'}, ${artifact.rate ? `${artifact.rate / 1000} kHz` : '?'}, ${fmtDuration(artifact.duration_s)}`;
  return { node: h('div', { class: 'player' }, h('label', { for: id, class: 'label' }, label, h('span', { class: 'muted' }, ` · ${detail}`)), audio), audio };
}

function legend() {
  return h('p', { class: 'legend muted' },
    h('span', { class: 'swatch gap-local' }), ' missing from the live capture ',
    h('span', { class: 'swatch gap-cloud' }), ' missing from the cloud recording · click the timeline to play from there');
}

async function drawWave(box, artifact, call, audio) {
  if (artifact.bytes > MAX_WAVE_BYTES) {
    box.replaceChildren(h('p', { class: 'muted' }, 'This recording is too long to draw in the browser.'));
    return;
  }
  try {
    const res = await fetch(sameOrigin(artifact.url));
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const wav = parseWav(await res.arrayBuffer());
    // final.stereo.wav is agent left, customer right; a capture is inbound left, outbound right.
    const agentChannel = artifact.kind === 'final' || call.agent_track === 'inbound' ? 0 : 1;
    const lanes = [{ speaker: 'agent', channel: agentChannel }, { speaker: 'customer', channel: 1 - agentChannel }];
    const gaps = reportGaps(call.reconciliation);
    box.replaceChildren(waveform(wav, lanes, gaps, audio));
  } catch (err) {
    box.replaceChildren(h('p', { class: 'error' }, `Could not draw the waveform: ${err.message}`));
  }
}

function reportGaps(rec) {
  const g = rec?.report?.gaps;
  if (!g) return [];
  return [...(g.local ?? []).map((x) => ({ ...x, source: 'local' })), ...(g.cloud ?? []).map((x) => ({ ...x, source: 'cloud' }))];
}

const VERDICTS = {
  match: 'The live capture and the cloud recording agree: nothing was missing.',
  repaired: 'One source missed audio that the other had: the final recording is complete.',
  partial: 'Some audio is missing from both sources: the final recording has silence there.',
  mismatch: 'The cloud recording does not belong to this call: the final audio is the live capture alone.',
  'cloud-only': 'Only the cloud recording exists.',
  'local-only': 'Only the live capture exists.',
};

function reportSection(rec) {
  if (!rec) return h('p', { class: 'muted' }, 'Not reconciled yet: this needs the end of the call and the cloud recording (or word that it is absent).');
  const r = rec.report;
  const items = [h('p', { class: `verdict v-${rec.verdict}`, dataset: { verdict: rec.verdict } }, h('strong', {}, rec.verdict), ' — ', VERDICTS[rec.verdict] ?? '', r.reason ? ` (${r.reason})` : '')];
  const list = h('ul', { class: 'plain' });
  if (r.offset_s !== null && r.offset_s !== undefined) {
    list.append(h('li', {}, `The cloud recording starts ${fmtSeconds(Math.abs(r.offset_s), 3)} ${r.offset_s >= 0 ? 'before' : 'after'} the live stream`,
      r.tracks_agree === false ? ' (the two tracks disagree on this)' : '', '.'));
  }
  if (r.drift_ppm !== null && r.drift_ppm !== undefined) {
    list.append(h('li', {}, Math.abs(r.drift_ppm) < 1 ? 'The two clocks run at the same speed.' : `The clocks drift apart by ${r.drift_ppm} parts per million.`));
  }
  if (r.mapping) {
    list.append(h('li', {}, r.mapping.assumed ? 'Which channel is which speaker was assumed.'
      : r.mapping.clear ? `Speakers were matched to cloud channels clearly (score ${r.mapping.score} against ${r.mapping.alternative_score}).`
        : 'Matching speakers to cloud channels was not clear: check the audio.'));
  }
  const gaps = reportGaps(rec);
  list.append(h('li', {}, gaps.length === 0 ? 'No gaps in either source.' : `${gaps.length} gap${gaps.length === 1 ? '' : 's'}: ` +
    gaps.slice(0, 6).map((g) => `${SPEAKER_LABEL[g.speaker]} ${g.source === 'local' ? 'capture' : 'cloud'} ${fmtSeconds(g.start)}–${fmtSeconds(g.end)}${g.filled_from ? ' (filled from the cloud)' : ''}`).join('; ') +
    (gaps.length > 6 ? '; …' : '')));
  items.push(list);
  const cov = r.coverage_percent;
  if (cov) {
    items.push(h('table', { class: 'coverage' },
      h('caption', {}, 'Coverage: share of the call each source holds'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Speaker'), ['Live capture', 'Cloud', 'Final'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ['agent', 'customer'].map((s) => h('tr', {}, h('th', { scope: 'row' }, SPEAKER_LABEL[s]),
        ['local', 'cloud', 'final'].map((k) => h('td', {}, cov[k]?.[s] === undefined ? '—' : `${cov[k][s]} %`))))),
    ));
  }
  return h('div', {}, items);
}

function transcriptSection(t, audio) {
  if (!t || t.lines.length === 0) return h('p', { class: 'muted' }, 'No transcript yet.');
  return h('div', {},
    h('p', { class: 'muted' }, t.source === 'post_call' ? 'Transcribed after the call.' : 'Live transcript (the post-call one replaces it when ready).'),
    h('ol', { class: 'transcript' }, t.lines.map((l) => h('li', { class: `line sp-${l.speaker}` },
      h('button', {
        type: 'button', class: 'line-button', disabled: !audio, dataset: { start: l.start },
        'aria-label': `${SPEAKER_LABEL[l.speaker] ?? l.speaker} at ${fmtSeconds(l.start, 1)}: ${l.text}. Play from here`,
        onclick: () => audio && seek(audio, l.start),
      }, h('span', { class: 'when' }, fmtDuration(l.start)), h('span', { class: 'who' }, SPEAKER_LABEL[l.speaker] ?? l.speaker), h('span', { class: 'text' }, l.text)),
    ))),
  );
}

function jobsSection(jobs) {
  const body = jobs.length === 0 ? h('p', { class: 'muted' }, 'No post-call work queued.')
    : h('table', { class: 'jobs' },
      h('thead', {}, h('tr', {}, ['Work', 'State', 'Attempts', 'Last error', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, jobs.map((j) => h('tr', { dataset: { state: j.state } },
        h('td', {}, j.kind),
        h('td', {}, h('span', { class: `badge j-${j.state}` }, j.state), j.state === 'queued' && !active(j) ? h('span', { class: 'muted' }, ` at ${fmtTime(j.run_at)}`) : ''),
        h('td', {}, `${j.attempts} of ${j.max_attempts}`),
        h('td', {}, j.last_error ? `${j.last_error.message} (${j.last_error.retryable ? 'will retry' : 'final'})` : '—'),
        h('td', {}, fmtTime(j.updated_at)),
      ))));
  const running = jobs.some(active);
  return h('section', { id: 'jobs', class: 'card', 'aria-labelledby': 'jobs-h', 'aria-busy': running ? 'true' : 'false' },
    h('h2', { id: 'jobs-h' }, 'Post-call work', running ? h('span', { class: 'spinner', role: 'status' }, ' · running, refreshing…') : ''), body);
}
