import type { Knex } from 'knex';
import { jobs002 } from './jobs-migration.js';
import { reconciliations004 } from './reconciliations-migration.js';
import { providers006 } from './providers-migration.js';
import { recordings003 } from './recordings-migration.js';
import { storage007 } from './storage-migration.js';
import { transcripts005 } from './transcripts-migration.js';

/**
 * Versioned migrations kept in code rather than in a directory: knex's default file lookup
 * breaks between `src/*.ts` under tsx and `dist/*.js`, and a bundled list cannot go missing.
 * Append new entries; never edit or reorder an applied one (knex checks the names it has run).
 * Only the portable schema builder is used so the same list runs on Postgres.
 */
export interface NamedMigration extends Knex.Migration {
  name: string;
}

const TRACKS = ['inbound', 'outbound'];

const capture001: NamedMigration = {
  name: '001_capture',
  async up(knex) {
    await knex.schema.createTable('calls', (t) => {
      t.text('call_sid').notNullable().primary();
      t.text('account_sid').nullable();
      // Direction and tracks are fixed at the first webhook; see CallsRepo.upsert.
      t.text('direction').notNullable().checkIn(TRACKS);
      t.text('from_number').nullable();
      t.text('to_number').nullable();
      t.text('agent_track').notNullable().checkIn(TRACKS);
      t.text('customer_track').notNullable().checkIn(TRACKS);
      // Twilio's CallStatus as last seen; not constrained because Twilio may add values.
      t.text('status').notNullable();
      t.text('created_at').notNullable();
      t.text('updated_at').notNullable();
      t.text('ended_at').nullable();
      t.index(['created_at']);
    });

    await knex.schema.createTable('streams', (t) => {
      t.text('stream_sid').notNullable().primary();
      t.text('call_sid').notNullable().references('call_sid').inTable('calls');
      t.text('account_sid').nullable();
      t.text('tracks').notNullable(); // JSON array of track names
      t.text('instance_id').notNullable();
      t.text('state').notNullable().checkIn(['open', 'closed', 'interrupted']);
      t.text('started_at').notNullable();
      t.text('ended_at').nullable();
      t.text('close_reason').nullable();
      t.text('events').nullable(); // JSON object of counters
      t.index(['call_sid']);
      // Crash repair asks "what did this instance leave open?"
      t.index(['instance_id', 'state']);
    });

    await knex.schema.createTable('captures', (t) => {
      t.increments('id'); // primary key by default; .primary() again breaks Postgres
      t.text('stream_sid').notNullable().references('stream_sid').inTable('streams');
      // Denormalized from streams so a call's files are one indexed lookup.
      t.text('call_sid').notNullable();
      t.text('kind').notNullable().checkIn(['track', 'stereo']);
      t.text('track').nullable().checkIn(TRACKS);
      t.integer('sample_rate').notNullable();
      t.integer('channels').notNullable();
      t.text('path').notNullable().unique();
      t.text('state').notNullable().checkIn(['recording', 'complete', 'interrupted']);
      // bigint: Postgres integer is 32-bit (~37 h at 16 kHz); bigint removes that ceiling.
      t.bigInteger('samples').notNullable().defaultTo(0);
      // double, not float: knex maps float to Postgres `real` (24-bit mantissa).
      t.double('duration_s').notNullable().defaultTo(0);
      t.text('stats').nullable(); // JSON object
      t.text('instance_id').notNullable();
      t.text('created_at').notNullable();
      t.text('updated_at').notNullable();
      t.index(['stream_sid']);
      t.index(['call_sid']);
      t.index(['instance_id', 'state']);
    });

    await knex.schema.createTable('settings', (t) => {
      t.text('key').notNullable().primary();
      t.text('value').notNullable();
      t.text('updated_at').notNullable();
    });
  },
  async down(knex) {
    // Reverse order of the foreign keys.
    await knex.schema.dropTable('settings');
    await knex.schema.dropTable('captures');
    await knex.schema.dropTable('streams');
    await knex.schema.dropTable('calls');
  },
};

export const migrations: readonly NamedMigration[] = [capture001, jobs002, recordings003, reconciliations004, transcripts005, providers006, storage007];

/** Serves the in-code list to knex's migrator (`migrationSource` config option). */
export const migrationSource: Knex.MigrationSource<NamedMigration> = {
  getMigrations: () => Promise.resolve([...migrations]),
  getMigrationName: (m) => m.name,
  getMigration: (m) => Promise.resolve(m),
};
