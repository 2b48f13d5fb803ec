// Live transcript lines to whoever listens (the browser app, over SSE), per call. In one process;
// across several gateways this is where a shared pub/sub would plug in.
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
}
