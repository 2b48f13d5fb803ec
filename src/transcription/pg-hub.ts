// Live transcript lines across gateways: the gateway transcribing a call publishes each line
// with Postgres NOTIFY, and every gateway LISTENs and hands it to its own subscribers (browser
// tabs on SSE), so a viewer gets the lines whichever gateway holds the call. Postgres is already
// the shared store at scale; its pub/sub needs nothing more to run.
import pg from 'pg';
import type { Logger } from 'pino';
import type { TranscriptLine } from '../store/transcripts.js';
import { TranscriptHub } from './hub.js';

const CHANNEL = 'callvault_transcript';
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7900;
const RETRY_MS = 1000;

export class PgTranscriptHub extends TranscriptHub {
  private client: pg.Client | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  private constructor(private readonly url: string, private readonly log: Logger) {
    super();
  }

  /** Resolves once listening, so no line published after startup is missed. */
  static async start(url: string, log: Logger): Promise<PgTranscriptHub> {
    const hub = new PgTranscriptHub(url, log);
    await hub.connect();
    return hub;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'callvault-transcripts' });
    client.on('notification', (msg) => this.deliver(msg.payload));
    // A dropped connection is reopened; lines published meanwhile reach only local viewers.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, null));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  private lost(client: pg.Client, err: Error | null): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    this.log.warn({ err }, 'live transcript channel lost; reconnecting');
    client.end().catch(() => undefined);
    const again = () => {
      this.retry = null;
      if (this.closed) return;
      this.connect().catch((e: unknown) => {
        this.log.warn({ err: e }, 'live transcript channel still down');
        this.retry = setTimeout(again, RETRY_MS);
      });
    };
    this.retry = setTimeout(again, RETRY_MS);
  }

  private deliver(payload: string | undefined): void {
    try {
      const { c, l } = JSON.parse(payload ?? '') as { c: string; l: TranscriptLine };
      super.publish(c, l);
    } catch (err) {
      this.log.warn({ err }, 'ignored a malformed live transcript notification');
    }
  }

  /** Every gateway, this one included, gets the line through LISTEN; when the channel is down or
   *  the line too large for NOTIFY, local viewers still get it directly. */
  override publish(callSid: string, line: TranscriptLine): void {
    const payload = JSON.stringify({ c: callSid, l: line });
    const client = this.client;
    if (!client || Buffer.byteLength(payload) > MAX_PAYLOAD) {
      super.publish(callSid, line);
      return;
    }
    client.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch((err: unknown) => {
      this.log.warn({ err, callSid }, 'could not publish a live transcript line to other gateways');
      super.publish(callSid, line);
    });
  }

  override async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
