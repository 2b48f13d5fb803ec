// Live-capture metrics, read at scrape time: nothing is added to the frame path. Counters are the
// totals of finished streams (folded in as each session closes) plus the open sessions' current
// stats, so they only grow across a stream's close.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CaptureSession } from '../capture/capture-session.js';
import type { SessionRegistry } from '../capture/registry.js';
import type { TrackStats } from '../capture/track-recorder.js';

/** Twilio sends 20 ms frames; lost audio is reported in frames of that length. */
export const FRAME_MS = 20;

type TrackTotals = { received: number; written: number; late: number; lost: number };
type Totals = { tracks: Map<string, TrackTotals>; bytes: number };

const emptyTrack = (): TrackTotals => ({ received: 0, written: 0, late: 0, lost: 0 });

function addTrack(into: Map<string, TrackTotals>, track: string, s: TrackStats): void {
  let t = into.get(track);
  if (!t) into.set(track, (t = emptyTrack()));
  t.received += s.frames;
  t.written += Math.max(0, s.frames - s.duplicates - s.late_dropped);
  t.late += s.late_dropped;
  t.lost += s.lost_ms / FRAME_MS;
}

function addSession(into: Totals, session: CaptureSession): void {
  const { tracks, bytesWritten } = session.stats();
  for (const [track, s] of Object.entries(tracks)) addTrack(into.tracks, track, s);
  into.bytes += bytesWritten;
}

/** The tracks a session records: a Twilio stream both, a provider's PCM leg one. */
const trackCount = (s: CaptureSession) => new Set(s.files.map((f) => f.track).filter((t) => t !== null)).size;

interface Snapshot {
  at: number;
  calls: number;
  streams: number;
  tracks: number;
  totals: Totals;
}

/**
 * A late frame over audio already committed turns lost audio into late audio, so a live value
 * can dip; what is reported never goes below what was reported before (Prometheus would read a
 * dip as a counter reset).
 */
class Monotonic {
  private readonly seen = new Map<string, number>();
  value(key: string, v: number): number {
    const out = Math.max(v, this.seen.get(key) ?? 0);
    this.seen.set(key, out);
    return out;
  }
}

export function registerCaptureMetrics(reg: Registry, sessions: SessionRegistry): { refresh(): void } {
  const finished: Totals = { tracks: new Map(), bytes: 0 };
  sessions.onSessionClosed((s) => addSession(finished, s));
  const mono = new Monotonic();
  let snap: Snapshot | null = null;

  const refresh = (): Snapshot => {
    const live = sessions.list();
    const totals: Totals = { tracks: new Map([...finished.tracks].map(([k, v]) => [k, { ...v }])), bytes: finished.bytes };
    let tracks = 0;
    for (const s of live) {
      addSession(totals, s);
      tracks += trackCount(s);
    }
    snap = { at: Date.now(), calls: new Set(live.map((s) => s.callSid)).size, streams: live.length, tracks, totals };
    return snap;
  };
  // scrape() refreshes first; a direct registry.metrics() gets a snapshot at most 1 s old.
  const current = () => (snap && Date.now() - snap.at < 1000 ? snap : refresh());

  const gauge = (name: string, help: string, read: (s: Snapshot) => number) =>
    new Gauge({ name, help, registers: [reg], collect() { this.set(read(current())); } });
  gauge('callvault_active_calls', 'Calls with at least one stream being captured now', (s) => s.calls);
  gauge('callvault_active_streams', 'Media streams being captured now', (s) => s.streams);
  gauge('callvault_active_tracks', 'Audio tracks being captured now', (s) => s.tracks);

  const perTrack = (name: string, help: string, field: keyof TrackTotals) =>
    new Counter({
      name, help, labelNames: ['track'], registers: [reg],
      collect() {
        this.reset();
        for (const [track, t] of current().totals.tracks) this.inc({ track }, mono.value(`${name}:${track}`, t[field]));
      },
    });
  perTrack('callvault_capture_frames_received_total', 'Media frames received and placed, by track', 'received');
  perTrack('callvault_capture_frames_written_total', 'Media frames written to the capture files (received minus duplicates and late drops), by track', 'written');
  perTrack('callvault_capture_frames_late_total', 'Frames that came after their place was committed and were dropped, by track', 'late');
  perTrack('callvault_capture_frames_lost_total', `Audio that never arrived (written as silence), in ${FRAME_MS} ms frames, by track`, 'lost');
  new Counter({
    name: 'callvault_capture_bytes_written_total',
    help: 'PCM bytes written to the capture WAV files (all rates and the stereo file; headers excluded)',
    registers: [reg],
    collect() {
      this.reset();
      this.inc(mono.value('bytes', current().totals.bytes));
    },
  });
  return { refresh: () => void refresh() };
}
