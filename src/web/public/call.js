// One call: its audio, both speakers' waveforms with the reconciliation gaps, the report in
// plain words, the transcript (click a line to hear it) and the post-call jobs, refreshed while
// work is still running. Twilio and Vonage calls have captures, a cloud recording and a
// reconciliation; an ElevenLabs conversation has one mixed MP3 and ElevenLabs' own transcript.
import { api } from './api.js';
import { fmtDuration, fmtSeconds, fmtTime, h, providerName, sameOrigin, SPEAKER_LABEL } from './util.js';
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
      const signature = JSON.stringify([call.status, call.reconciliation?.verdict, call.artifacts.map((a) => a.file), call.transcript?.lines.length,
        call.cloud_recordings.map((r) => r.state)]);
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
  // ElevenLabs conversations are never reconciled: only their jobs are worth waiting for.
  if (call.provider === 'elevenlabs') return false;
  // The call ended but its post-call work may not have been queued yet.
  return !call.reconciliation && Date.now() - Date.parse(call.updated_at) < 5 * 60 * 1000;
}

const isMp3 = (a) => /\.mp3$/i.test(a.file);

/** The page title: the number on the other end when known, else the provider's own id. */
function title(call) {
  const number = call.direction === 'outbound' ? call.to : call.from;
  if (number) return call.direction === 'outbound' ? `Call to ${number}` : `Call from ${number}`;
  if (call.provider === 'elevenlabs') return `ElevenLabs conversation ${call.provider_call_id ?? call.call_sid.replace(/^EL-/, '')}`;
  return call.direction === 'outbound' ? 'Call to unknown' : 'Call from unknown';
}

function render(main, call) {
  const elevenlabs = call.provider === 'elevenlabs';
  const final = call.artifacts.find((a) => a.kind === 'final' && a.channels === 2);
  const capture = call.artifacts.find((a) => a.kind === 'capture' && a.channels === 2) ?? call.artifacts.find((a) => a.kind === 'capture');
  const cloud = call.artifacts.find((a) => a.kind === 'cloud');
  const cloudLabel = `${providerName(call.provider)} recording${cloud && isMp3(cloud) ? ' (MP3)' : ''}`;
  const slots = elevenlabs ? [['cloud', cloudLabel, cloud]] : [['final', 'Final (reconciled)', final], ['capture', 'Live capture', capture], ['cloud', cloudLabel, cloud]];
  const players = slots.map(([kind, label, a]) => player(kind, label, a, call));
  const primary = players.find((p) => p.audio)?.audio ?? null;

  const source = final ?? (capture?.channels === 2 ? capture : null);
  const waveBox = h('div', { class: 'wave-box' }, h('p', { class: 'muted', id: 'wave-note' },
    !source && cloud && isMp3(cloud) ? 'No waveform: the recording is one mixed MP3 channel, so there are no separate speakers to draw.' : 'No stereo audio to draw yet.'));
  if (source) drawWave(waveBox, source, call, players.find((p) => p.kind === (final ? 'final' : 'capture')).audio);

  const providerFacts = [fact('Provider', providerName(call.provider))];
  if (call.provider_call_id) {
    const label = call.provider === 'vonage' ? 'Vonage conversation' : call.provider === 'elevenlabs' ? 'ElevenLabs conversation' : 'Provider id';
    providerFacts.push(fact(label, h('span', { class: 'mono' }, call.provider_call_id)));
  }
  main.replaceChildren(
    h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/calls' }, '← All calls')),
    h('h1', {}, title(call)),
    h('dl', { class: 'facts' },
      fact(call.provider && call.provider !== 'twilio' ? 'Call id' : 'Call SID', h('span', { class: 'mono' }, call.call_sid)),
      providerFacts,
      fact('Started', fmtTime(call.created_at)),
      fact('Status', call.status),
      fact('Length', fmtDuration(call.duration_s ?? players.find((p) => p.durationS != null)?.durationS)),
      elevenlabs ? null : fact('Agent', call.agent_track === 'inbound' ? 'inbound track' : 'outbound track'),
    ),
    h('section', { 'aria-labelledby': 'audio-h', class: 'card' },
      h('h2', { id: 'audio-h' }, 'Audio'),
      h('div', { class: `players${players.length === 1 ? ' single' : ''}` }, players.map((p) => p.node)),
      waveBox,
      source ? legend() : null,
    ),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'report-h', class: 'card' }, h('h2', { id: 'report-h' }, 'Reconciliation'),
        elevenlabs ? h('p', { class: 'muted', id: 'not-applicable' }, 'Not applicable: ElevenLabs provides one mixed recording and its own transcript.') : reportSection(call.reconciliation)),
      h('section', { 'aria-labelledby': 'transcript-h', class: 'card' }, h('h2', { id: 'transcript-h' }, 'Transcript'), transcriptSection(call.transcript, primary, call)),
    ),
    jobsSection(call.jobs),
  );
}

function fact(label, value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

/** The stored recording behind a cloud artifact (its MP3 duration and rate live there). */
function recordingOf(call, artifact) {
  if (!artifact || artifact.kind !== 'cloud') return null;
  return call.cloud_recordings.find((r) => r.recording_sid === artifact.recording_sid || r.file === artifact.file) ?? null;
}

const STATE_TEXT = { pending: 'expected, not received yet', downloading: 'downloading…', failed: 'failed', absent: 'the provider has none' };

function player(kind, label, artifact, call) {
  const id = `audio-${kind}`;
  if (!artifact) {
    // A cloud recording row without its file yet says why (waiting, downloading, failed).
    const rec = kind === 'cloud' ? call.cloud_recordings.find((r) => r.state !== 'ready') : null;
    const why = rec ? `${STATE_TEXT[rec.state] ?? rec.state}${rec.failure_reason ? ` (${rec.failure_reason})` : ''}` : 'not available';
    return { kind, node: h('div', { class: 'player' }, h('span', { class: 'label' }, label), h('span', { class: 'muted' }, why)), audio: null, durationS: null };
  }
  const rec = recordingOf(call, artifact);
  const channels = artifact.channels ?? rec?.file_channels ?? (isMp3(artifact) ? 1 : null);
  const rate = artifact.rate ?? rec?.file_sample_rate ?? null;
  const durationS = artifact.duration_s ?? rec?.file_duration_s ?? rec?.duration_s ?? null;
  const audio = h('audio', { id, controls: true, preload: 'metadata', src: sameOrigin(artifact.url), dataset: { kind } });
  const detail = [
    isMp3(artifact) ? 'MP3' : null,
    channels === 2 ? 'stereo' : channels === 1 ? (isMp3(artifact) ? 'mono (both speakers mixed)' : 'mono') : null,
    rate ? `${rate / 1000} kHz` : null,
    fmtDuration(durationS),
  ].filter(Boolean).join(', ');
  return {
    kind, audio, durationS,
    node: h('div', { class: 'player' }, h('label', { for: id, class: 'label' }, label, h('span', { class: 'muted' }, ` · ${detail}`)), audio),
  };
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

function transcriptSection(t, audio, call) {
  if (!t || t.lines.length === 0) return h('p', { class: 'muted' }, 'No transcript yet.');
  const about = call.provider === 'elevenlabs' ? 'From ElevenLabs, after the conversation.'
    : t.source === 'post_call' ? 'Transcribed after the call.' : 'Live transcript (the post-call one replaces it when ready).';
  return h('div', {},
    h('p', { class: 'muted' }, about),
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
