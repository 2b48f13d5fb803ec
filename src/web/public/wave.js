// A tiny WAV reader (PCM16, any channel count) and a two-lane waveform: min/max per pixel on a
// canvas, with the reconciliation report's gaps laid over it as elements (so they can be
// focused, described and found by tests), and a playhead that follows an <audio> element.
import { fmtSeconds, h, SPEAKER_LABEL } from './util.js';

export function parseWav(buffer) {
  const v = new DataView(buffer);
  const tag = (o) => String.fromCharCode(v.getUint8(o), v.getUint8(o + 1), v.getUint8(o + 2), v.getUint8(o + 3));
  if (buffer.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a WAV file');
  let fmt = null;
  let off = 12;
  while (off + 8 <= buffer.byteLength) {
    const id = tag(off);
    const size = v.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = { format: v.getUint16(body, true), channels: v.getUint16(body + 2, true), sampleRate: v.getUint32(body + 4, true), bits: v.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data before its format');
      if (fmt.bits !== 16 || (fmt.format !== 1 && fmt.format !== 0xfffe)) throw new Error('only 16-bit PCM WAV is drawn');
      // A header patched mid-call may be behind or ahead of the bytes actually present.
      const bytes = Math.min(size, buffer.byteLength - body);
      const frames = Math.floor(bytes / (2 * fmt.channels));
      return { sampleRate: fmt.sampleRate, channels: fmt.channels, frames, view: new DataView(buffer, body, frames * 2 * fmt.channels) };
    }
    off = body + size + (size % 2);
  }
  throw new Error('WAV without a data chunk');
}

/** [min, max] per column for one channel, in -1..1. */
export function peaks(wav, channel, columns) {
  const out = new Float32Array(columns * 2);
  const per = wav.frames / columns;
  const stride = 2 * wav.channels;
  for (let x = 0; x < columns; x++) {
    const from = Math.floor(x * per);
    const to = Math.max(from + 1, Math.floor((x + 1) * per));
    let lo = 0;
    let hi = 0;
    for (let i = from; i < to && i < wav.frames; i++) {
      const s = wav.view.getInt16(i * stride + 2 * channel, true);
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    out[2 * x] = lo / 32768;
    out[2 * x + 1] = hi / 32768;
  }
  return out;
}

/**
 * lanes: [{speaker, channel}] top to bottom; gaps: [{source, speaker, start, end}] in seconds.
 * Returns the element; clicking the timeline seeks `audio`.
 */
export function waveform(wav, lanes, gaps, audio) {
  const duration = wav.frames / wav.sampleRate;
  const canvas = h('canvas', { class: 'wave-canvas', role: 'img', 'aria-label': `Waveforms of ${lanes.map((l) => SPEAKER_LABEL[l.speaker]).join(' and ')}, ${fmtSeconds(duration, 1)}` });
  const overlay = h('div', { class: 'wave-overlay' });
  const playhead = h('div', { class: 'playhead', 'aria-hidden': 'true' });
  const laneH = 100 / lanes.length;
  lanes.forEach((lane, i) => {
    overlay.append(h('span', { class: `lane-label sp-${lane.speaker}`, style: `top:${i * laneH}%` }, SPEAKER_LABEL[lane.speaker]));
  });
  for (const g of gaps) {
    const i = lanes.findIndex((l) => l.speaker === g.speaker);
    if (i < 0 || duration <= 0) continue;
    const left = (Math.max(0, g.start) / duration) * 100;
    const width = Math.max(0.25, ((Math.min(duration, g.end) - Math.max(0, g.start)) / duration) * 100);
    const what = g.source === 'local' ? 'missing from the live capture' : 'missing from the cloud recording';
    overlay.append(h('button', {
      type: 'button', class: `gap gap-${g.source}`, style: `left:${left}%;width:${width}%;top:${i * laneH + (g.source === 'cloud' ? laneH / 2 : 0)}%;height:${laneH / 2}%`,
      title: `${SPEAKER_LABEL[g.speaker]}: ${fmtSeconds(g.start)}–${fmtSeconds(g.end)} ${what}`,
      'aria-label': `${SPEAKER_LABEL[g.speaker]} audio ${what} from ${fmtSeconds(g.start)} to ${fmtSeconds(g.end)}; play from here`,
      dataset: { gapSource: g.source, speaker: g.speaker, start: g.start, end: g.end },
      onclick: (e) => {
        e.stopPropagation();
        if (audio) seek(audio, g.start);
      },
    }));
  }
  overlay.append(playhead);
  const box = h('div', { class: 'wave', dataset: { duration: duration.toFixed(3), lanes: lanes.length } }, canvas, overlay);
  box.addEventListener('click', (e) => {
    if (!audio) return;
    const r = box.getBoundingClientRect();
    seek(audio, ((e.clientX - r.left) / r.width) * duration);
  });
  const draw = () => drawLanes(canvas, wav, lanes);
  requestAnimationFrame(draw);
  const resize = new ResizeObserver(draw);
  resize.observe(box);
  if (audio) {
    const move = () => (playhead.style.left = `${Math.min(100, (audio.currentTime / duration) * 100)}%`);
    audio.addEventListener('timeupdate', move);
  }
  return box;
}

export function seek(audio, t) {
  audio.currentTime = Math.max(0, t);
  audio.play().catch(() => {});
}

function drawLanes(canvas, wav, lanes) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.floor(canvas.clientWidth * dpr));
  const hgt = Math.max(1, Math.floor(canvas.clientHeight * dpr));
  canvas.width = w;
  canvas.height = hgt;
  const ctx = canvas.getContext('2d');
  const styles = getComputedStyle(canvas);
  ctx.clearRect(0, 0, w, hgt);
  const laneH = hgt / lanes.length;
  lanes.forEach((lane, i) => {
    const mid = laneH * i + laneH / 2;
    const p = peaks(wav, lane.channel, w);
    ctx.fillStyle = styles.getPropertyValue(`--wave-${lane.speaker}`).trim() || '#456';
    for (let x = 0; x < w; x++) {
      const top = mid - p[2 * x + 1] * (laneH / 2) * 0.92;
      const bottom = mid - p[2 * x] * (laneH / 2) * 0.92;
      ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    if (i > 0) {
      ctx.fillStyle = styles.getPropertyValue('--line').trim() || '#ddd';
      ctx.fillRect(0, Math.round(laneH * i), w, Math.max(1, dpr));
    }
  });
}
