import type { Knex } from 'knex';

/** Where a repository needs engine-specific SQL (row locks), it asks the knex it was given. */
export function isPostgres(db: Knex | Knex.Transaction): boolean {
  return (db.client as { dialect?: string }).dialect === 'postgresql';
}
