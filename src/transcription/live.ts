// Live transcription during the call: each track's 16 kHz audio is cut into utterances at pauses
// (on the capture loop: an energy gate per 20 ms frame is cheap), and each utterance is sent as
// soon as it ends, with bounded concurrency, off the capture path. Lines are stored as they come
// and published to subscribers. Best effort: the post-call transcript is the call's record.
import type { Logger } from 'pino';
import { wavHeader } from '../audio/wav.js';
import type { AudioTap } from '../capture/registry.js';
import { isRetryable } from '../jobs/errors.js';
import type { Store } from '../store/db.js';
import type { Speaker } from '../store/transcripts.js';
import type { StartMessage, Track } from '../twilio/messages.js';
import type { TranscriptHub } from './hub.js';
import type { Transcriber } from './openai.js';
import { redact } from './redact.js';
import { UtteranceSegmenter, type Utterance } from './vad.js';

const RATE = 16000;
const ATTEMPTS = 3;

export interface LiveOptions {
  transcriber: Transcriber;
  store: Store;
  hub: TranscriptHub;
  log: Logger;
  language: string | undefined;
  redact: boolean;
  /** utterances transcribed at once across all calls */
  concurrency: number;
}

export class LiveTranscription {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: LiveOptions) {}

  /** A tap for one stream: a segmenter per track, utterances sent as they end. */
  tapFor(start: StartMessage): AudioTap {
    const segmenters = new Map<Track, UtteranceSegmenter>();
    const segmenter = (t: Track) => {
      let s = segmenters.get(t);
      if (!s) segmenters.set(t, (s = new UtteranceSegmenter({ sampleRate: RATE, maxUtteranceMs: 15_000 })));
      return s;
    };
    return {
      audio: (track, samples) => {
        for (const u of segmenter(track).push(samples)) this.enqueue(start.callSid, track, u);
      },
      close: () => {
        for (const [track, s] of segmenters) for (const u of s.flush()) this.enqueue(start.callSid, track, u);
      },
    };
  }

  private enqueue(callSid: string, track: Track, u: Utterance): void {
    const task = this.slot().then(() => this.transcribe(callSid, track, u)).finally(() => this.release());
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  private slot(): Promise<void> {
    if (this.running < this.o.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => resolve()));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private async transcribe(callSid: string, track: Track, u: Utterance): Promise<void> {
    const wav = Buffer.concat([wavHeader({ sampleRate: RATE, channels: 1 }, u.audio.byteLength), Buffer.from(u.audio.buffer, u.audio.byteOffset, u.audio.byteLength)]);
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const r = await this.o.transcriber.transcribe(wav, this.o.language ? { language: this.o.language } : {});
        const text = r.text.trim();
        if (text === '') return;
        const call = await this.o.store.calls.get(callSid);
        const speaker: Speaker = call?.agentTrack === track ? 'agent' : 'customer';
        const line = { speaker, start: round(u.start / RATE), end: round(u.end / RATE), text: this.o.redact ? redact(text) : text };
        await this.o.store.transcripts.append(callSid, 'live', [line]);
        this.o.hub.publish(callSid, line);
        return;
      } catch (err) {
        if (!isRetryable(err) || attempt === ATTEMPTS) {
          this.o.log.warn({ err, callSid, track }, 'a live utterance could not be transcribed');
          return;
        }
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
  }

  /** Shutdown: let utterances already sent finish. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
