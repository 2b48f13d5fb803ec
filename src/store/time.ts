/**
 * Timestamps are produced by the app, not the database, so SQLite and Postgres store the same
 * text. `toISOString()` is always UTC with millisecond precision and a fixed width, which makes
 * lexicographic order equal to time order: `ORDER BY created_at` works on the text column.
 */
export function nowIso(): string {
  return new Date().toISOString();
}
