import type { Knex } from 'knex';
import type { Provider } from '../ids.js';
import { fromJson } from './json.js';
import { nowIso } from './time.js';

export interface ProviderEvent {
  provider: Provider;
  eventKey: string;
  callSid: string | null;
  kind: string;
  receivedAt: string;
  payload: unknown;
}

/** Every Vonage and ElevenLabs webhook delivery, once per event key: providers retry, and a
 *  repeat must answer success and change nothing. */
export interface ProviderEventsRepo {
  /** false when this event was already stored */
  add(e: Omit<ProviderEvent, 'receivedAt'>): Promise<boolean>;
  get(provider: Provider, eventKey: string): Promise<ProviderEvent | undefined>;
  listByCall(callSid: string): Promise<ProviderEvent[]>;
}

interface DbEvent { provider: string; event_key: string; call_sid: string | null; kind: string; received_at: string; payload: string }

const toEvent = (r: DbEvent): ProviderEvent => ({
  provider: r.provider as Provider, eventKey: r.event_key, callSid: r.call_sid, kind: r.kind, receivedAt: r.received_at, payload: fromJson(r.payload),
});

export function createProviderEventsRepo(knex: Knex): ProviderEventsRepo {
  const table = () => knex<DbEvent>('provider_events');
  return {
    async add(e) {
      const inserted = await table()
        .insert({ provider: e.provider, event_key: e.eventKey, call_sid: e.callSid, kind: e.kind, received_at: nowIso(), payload: JSON.stringify(e.payload) })
        .onConflict(['provider', 'event_key'])
        .ignore()
        .returning('id');
      return inserted.length > 0;
    },
    async get(provider, eventKey) {
      const r = await table().where({ provider, event_key: eventKey }).first();
      return r ? toEvent(r) : undefined;
    },
    async listByCall(callSid) {
      return (await table().where({ call_sid: callSid }).orderBy('id')).map(toEvent);
    },
  };
}
