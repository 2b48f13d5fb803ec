import type { NamedMigration } from './migrations.js';

/** With object storage, a finished stream's files are only usable by other gateways once they
 *  are uploaded: stored_at records that (the local store sets it at once). */
export const storage007: NamedMigration = {
  name: '007_storage',
  async up(knex) {
    await knex.schema.alterTable('streams', (t) => {
      t.text('stored_at').nullable();
    });
  },
  async down(knex) {
    await knex.schema.alterTable('streams', (t) => {
      t.dropColumn('stored_at');
    });
  },
};
