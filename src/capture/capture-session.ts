// What the registry, the live view and metrics need of any open capture: a Twilio media stream
// (CallSession, both tracks placed by timestamp) or one provider leg of raw PCM (PcmSession).
import type { Track } from '../twilio/messages.js';
import type { CaptureFileInfo, SessionSummary } from './call-session.js';
import type { TrackStats } from './track-recorder.js';

export interface CaptureSession {
  readonly callSid: string;
  readonly streamSid: string;
  readonly files: CaptureFileInfo[];
  /** the tracks this stream carries; stats() reports an absent one as all zero */
  readonly tracks: readonly Track[];
  /** counters of dropped input, kept by the connection and recorded with the stream */
  events: Record<string, number>;
  readonly closed: boolean;
  tick(now?: number): void;
  levels(): { rms: Record<Track, number>; durationS: number };
  stats(): { tracks: Record<Track, TrackStats>; bytesWritten: number };
  onClose(listener: (s: SessionSummary) => void): void;
  close(reason: string): Promise<SessionSummary>;
}

/** Stats of a track a stream does not carry (a one-leg PCM stream): all zero, nothing lost. */
export function absentTrackStats(): TrackStats {
  return {
    frames: 0, duplicates: 0, reordered: 0, late_dropped: 0, late_dropped_ms: 0, lost_ms: 0, max_lag_ms: 0,
    rms: 0, clipped: 0, samples: 0, duration_s: 0, gaps: [], gaps_truncated: false,
  };
}
