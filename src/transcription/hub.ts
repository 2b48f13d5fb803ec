// Live transcript lines to whoever listens (the browser app, over SSE), per call, in this process.
// With Postgres, PgTranscriptHub (pg-hub.ts) carries them across gateways.
import { EventEmitter } from 'node:events';
import type { TranscriptLine } from '../store/transcripts.js';

export class TranscriptHub {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many browser tabs may follow one call; the default cap of 10 is a leak warning, not a limit.
    this.emitter.setMaxListeners(0);
  }

  publish(callSid: string, line: TranscriptLine): void {
    this.emitter.emit(callSid, line);
  }

  /** Returns the unsubscribe function. */
  subscribe(callSid: string, listener: (line: TranscriptLine) => void): () => void {
    this.emitter.on(callSid, listener);
    return () => this.emitter.off(callSid, listener);
  }

  async close(): Promise<void> {
    // nothing held in one process
  }
}
