// Every open capture of this process: opens sessions, records them in the store, flushes them on
// a timer, finalises them on stop, socket close or shutdown.
import type { Logger } from 'pino';
import type { CaptureConfig } from '../config.js';
import type { Store } from '../store/db.js';
import type { StartMessage, Track } from '../twilio/messages.js';
import { CallSession, type SessionSummary } from './call-session.js';
import type { CaptureSession } from './capture-session.js';
import { PcmSession, type PcmRate } from './pcm-session.js';
import type { AudioListener } from './track-recorder.js';

/** Something that follows a stream's audio while it is captured (live transcription). */
export interface AudioTap {
  audio: AudioListener;
  /** the stream ended: flush what is pending */
  close(): void;
}

export interface RegistryOptions {
  recordingsDir: string;
  instanceId: string;
  capture: CaptureConfig;
  store: Store;
  log: Logger;
  /** told once a stream's capture is finalised and recorded */
  onFinished?: (callSid: string) => void;
  /** a listener for each new stream's audio, if any */
  tapFor?: (start: StartMessage) => AudioTap | null;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, CaptureSession>();
  /** store writes still running, awaited on shutdown so nothing is left half-recorded */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly timer: NodeJS.Timeout;
  private readonly closedListeners: Array<(session: CaptureSession) => void> = [];

  constructor(private readonly o: RegistryOptions) {
    this.timer = setInterval(() => this.tick(), Math.max(50, Math.floor(o.capture.flushMs / 2)));
    this.timer.unref();
  }

  /** Told synchronously as a session closes, just before it leaves list(), so metrics can fold
   *  its final stats into their totals without counting it twice or missing it. */
  onSessionClosed(listener: (session: CaptureSession) => void): void {
    this.closedListeners.push(listener);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The sessions being captured now (the live view). */
  list(): CaptureSession[] {
    return [...this.sessions.values()];
  }

  get(streamSid: string): CaptureSession | undefined {
    return this.sessions.get(streamSid);
  }

  /** Opens the files synchronously (so media that follows at once has somewhere to go) and
   *  records the stream and its captures in the store in the background. */
  open(start: StartMessage, log: Logger): CallSession {
    if (this.sessions.has(start.streamSid)) throw new Error('stream is already being captured');
    const tap = this.o.tapFor?.(start) ?? null;
    const session = new CallSession({
      recordingsDir: this.o.recordingsDir,
      callSid: start.callSid,
      streamSid: start.streamSid,
      jitterMs: this.o.capture.jitterMs,
      flushMs: this.o.capture.flushMs,
      ...(tap ? { onAudio: tap.audio } : {}),
    });
    this.adopt(session, start, tap, log);
    return session;
  }

  /** One leg of raw PCM (a Vonage WebSocket): one track, placed by bytes received. */
  openPcm(leg: { callSid: string; streamSid: string; track: Track; inputRate: PcmRate }, log: Logger): PcmSession {
    if (this.sessions.has(leg.streamSid)) throw new Error('stream is already being captured');
    const start: StartMessage = {
      event: 'start', streamSid: leg.streamSid, accountSid: '', callSid: leg.callSid, tracks: [leg.track],
      customParameters: {}, encoding: 'audio/l16', sampleRate: leg.inputRate, channels: 1,
    };
    const tap = this.o.tapFor?.(start) ?? null;
    const session = new PcmSession({
      recordingsDir: this.o.recordingsDir,
      ...leg,
      flushMs: this.o.capture.flushMs,
      ...(tap ? { onAudio: tap.audio } : {}),
    });
    this.adopt(session, start, tap, log);
    return session;
  }

  /** Takes a new session in: rows in the store now, their final state when it closes. */
  private adopt(session: CaptureSession, start: StartMessage, tap: AudioTap | null, log: Logger): void {
    this.sessions.set(start.streamSid, session);
    const inserted = this.track(this.insertRows(start, session).catch((err: unknown) => {
      log.error({ err }, 'could not record the stream in the store; capture files are still written');
    }));
    session.onClose((summary) => {
      for (const l of this.closedListeners) l(session);
      this.sessions.delete(start.streamSid);
      tap?.close();
      this.track(inserted.then(() => this.finishRows(session, summary)).then(
        () => this.o.onFinished?.(start.callSid),
        (err: unknown) => log.error({ err }, 'could not record the finished capture in the store'),
      ));
    });
  }

  private async insertRows(start: StartMessage, session: CaptureSession): Promise<void> {
    const { store, instanceId } = this.o;
    await store.calls.ensure(start.callSid, start.accountSid || null);
    await store.streams.insert({
      streamSid: start.streamSid,
      callSid: start.callSid,
      accountSid: start.accountSid || null,
      tracks: start.tracks,
      instanceId,
    });
    await store.captures.insertMany(
      session.files.map((f) => ({ ...f, streamSid: start.streamSid, callSid: start.callSid, instanceId })),
    );
  }

  private async finishRows(session: CaptureSession, summary: SessionSummary): Promise<void> {
    const { store } = this.o;
    for (const row of await store.captures.listByStream(session.streamSid)) {
      const stats = row.track ? summary.tracks[row.track] : null;
      await store.captures.finish(row.id, {
        state: 'complete',
        samples: (summary.samples * row.sampleRate) / 8000,
        durationS: summary.durationS,
        stats: stats ? { ...stats } : null,
      });
    }
    await store.streams.close(session.streamSid, {
      state: 'closed',
      endedAt: new Date().toISOString(),
      closeReason: summary.reason,
      events: session.events,
    });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private tick(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) {
      try {
        s.tick(now);
      } catch (err) {
        this.o.log.error({ err, streamSid: s.streamSid }, 'flushing a capture failed');
      }
    }
  }

  /** Shutdown: every open capture is finalised and recorded before the store closes. */
  async closeAll(reason: string): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([...this.sessions.values()].map((s) => s.close(reason)));
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
