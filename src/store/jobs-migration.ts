import type { NamedMigration } from './migrations.js';

/**
 * The durable job queue (see src/store/jobs.ts). Times the queue compares (run_at, leases) are
 * integer epoch milliseconds so claims compare numbers on every database; bigint because
 * Postgres integer is 32-bit. Audit times stay ISO text like every other table.
 */
export const jobs002: NamedMigration = {
  name: '002_jobs',
  async up(knex) {
    await knex.schema.createTable('jobs', (t) => {
      t.increments('id');
      t.text('kind').notNullable();
      // Idempotency key: a duplicated webhook enqueues nothing twice.
      t.text('key').notNullable().unique();
      t.text('payload').notNullable(); // JSON
      t.text('state').notNullable().checkIn(['queued', 'running', 'succeeded', 'failed']);
      t.integer('attempts').notNullable().defaultTo(0);
      t.integer('max_attempts').notNullable();
      t.bigInteger('run_at').notNullable();
      t.text('lease_owner').nullable();
      t.bigInteger('lease_expires_at').nullable();
      t.text('last_error').nullable(); // JSON {code, message, retryable, at}
      t.text('result').nullable(); // JSON
      t.text('created_at').notNullable();
      t.text('updated_at').notNullable();
      t.text('finished_at').nullable();
      // Claims look for due queued rows (state, run_at) and expired running ones (state first).
      t.index(['state', 'run_at']);
      t.index(['kind']);
    });
  },
  async down(knex) {
    await knex.schema.dropTable('jobs');
  },
};
