import type { NamedMigration } from './migrations.js';

/** Cloud recordings (Twilio's today, other providers' later) and every status callback received. */
export const recordings003: NamedMigration = {
  name: '003_recordings',
  async up(knex) {
    await knex.schema.createTable('recordings', (t) => {
      t.text('recording_sid').notNullable().primary();
      t.text('call_sid').notNullable().references('call_sid').inTable('calls');
      t.text('account_sid').nullable();
      t.text('provider').notNullable().defaultTo('twilio');
      // Twilio's status as last seen, never moved backwards by a late callback.
      t.text('provider_status').notNullable();
      // Ours: what callvault holds of it.
      t.text('state').notNullable().checkIn(['pending', 'downloading', 'ready', 'absent', 'failed']);
      t.text('failure_code').nullable();
      t.text('failure_reason').nullable();
      t.text('media_path').notNullable();
      t.integer('channels').nullable();
      t.double('duration_s').nullable();
      t.text('start_time').nullable();
      t.text('source').nullable();
      t.text('track').nullable();
      t.text('error_code').nullable();
      t.text('file_path').nullable();
      t.bigInteger('file_bytes').nullable();
      t.text('sha256').nullable();
      t.integer('file_channels').nullable();
      t.integer('file_sample_rate').nullable();
      t.double('file_duration_s').nullable();
      t.text('cloud_deleted_at').nullable();
      t.text('created_at').notNullable();
      t.text('updated_at').notNullable();
      t.index(['call_sid']);
      t.index(['created_at']);
    });
    await knex.schema.createTable('recording_events', (t) => {
      t.increments('id');
      t.text('recording_sid').notNullable();
      t.text('status').notNullable();
      t.text('received_at').notNullable();
      t.text('params').notNullable();
      // One row per recording and status: a retried callback is recognised and changes nothing.
      t.unique(['recording_sid', 'status']);
    });
  },
  async down(knex) {
    await knex.schema.dropTable('recording_events');
    await knex.schema.dropTable('recordings');
  },
};
