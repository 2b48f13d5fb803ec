import type { NamedMigration } from './migrations.js';

/** Transcript lines per call and source, and the seed API's per-recording transcript cache. */
export const transcripts005: NamedMigration = {
  name: '005_transcripts',
  async up(knex) {
    await knex.schema.createTable('transcript_lines', (t) => {
      t.increments('id');
      t.text('call_sid').notNullable().references('call_sid').inTable('calls');
      // post_call (from the final audio) is the call's transcript when it exists; live is the fallback.
      t.text('source').notNullable().checkIn(['post_call', 'live']);
      t.text('speaker').notNullable().checkIn(['agent', 'customer']);
      t.double('start_s').notNullable();
      t.double('end_s').notNullable();
      t.text('text').notNullable();
      t.text('created_at').notNullable();
      t.index(['call_sid', 'source', 'start_s']);
    });
    await knex.schema.createTable('recording_transcripts', (t) => {
      t.text('recording_sid').notNullable().primary();
      t.text('model').notNullable();
      t.text('text').notNullable();
      t.text('created_at').notNullable();
    });
  },
  async down(knex) {
    await knex.schema.dropTable('recording_transcripts');
    await knex.schema.dropTable('transcript_lines');
  },
};
