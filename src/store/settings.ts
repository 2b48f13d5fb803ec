import type { Knex } from 'knex';
import { nowIso } from './time.js';

/** Small durable key/value pairs the app makes itself, e.g. a generated server secret. */
export interface SettingsRepo {
  get(key: string): Promise<string | undefined>;
  /** Inserts or overwrites. */
  set(key: string, value: string): Promise<void>;
  /**
   * Returns the stored value, storing `make()` first if there is none. Race-safe across
   * concurrent callers and processes: the first insert wins and everyone reads that one.
   * `make` may be called by each racer, so it must be cheap and side-effect free.
   */
  getOrCreate(key: string, make: () => string): Promise<string>;
}

interface DbSetting {
  key: string;
  value: string;
  updated_at: string;
}

export function createSettingsRepo(knex: Knex): SettingsRepo {
  const table = () => knex<DbSetting>('settings');

  async function get(key: string): Promise<string | undefined> {
    const r = await table().where({ key }).first();
    return r?.value;
  }

  return {
    get,

    async set(key, value) {
      await table()
        .insert({ key, value, updated_at: nowIso() })
        .onConflict('key')
        .merge(['value', 'updated_at']);
    },

    async getOrCreate(key, make) {
      const existing = await get(key);
      if (existing !== undefined) return existing;
      // Insert-or-ignore then read: a check-then-insert would let two callers both "create".
      await table().insert({ key, value: make(), updated_at: nowIso() }).onConflict('key').ignore();
      const value = await get(key);
      if (value === undefined) throw new Error(`setting ${key} vanished after insert`);
      return value;
    },
  };
}
