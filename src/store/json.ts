/**
 * JSON columns are text on every database (portable, and SQLite has no JSON type), so the
 * repositories encode and decode them here. Only the app writes these columns.
 */
export function toJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** Postgres returns bigint as a string (it may exceed 2^53); SQLite returns a number. */
export function toNumber(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}
