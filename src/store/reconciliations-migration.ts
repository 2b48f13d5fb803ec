import type { NamedMigration } from './migrations.js';

/** The latest reconciliation report of each call (the full report also sits in reconciliation.json). */
export const reconciliations004: NamedMigration = {
  name: '004_reconciliations',
  async up(knex) {
    await knex.schema.createTable('reconciliations', (t) => {
      t.text('call_sid').notNullable().primary().references('call_sid').inTable('calls');
      t.text('verdict').notNullable().checkIn(['match', 'repaired', 'partial', 'mismatch', 'cloud-only', 'local-only']);
      t.text('stream_sid').nullable();
      t.text('recording_sid').nullable();
      t.text('report').notNullable();
      t.text('created_at').notNullable();
      t.text('updated_at').notNullable();
    });
  },
  async down(knex) {
    await knex.schema.dropTable('reconciliations');
  },
};
