// The tests' Postgres: each test file gets a database of its own, and each test an empty schema
// in it, on the server named by TEST_DATABASE_URL (an admin URL); both are dropped afterwards. scripts/with-postgres.sh
// (which scripts/test.sh runs the suite under) starts a throwaway server and sets the variable.
import { randomBytes } from 'node:crypto';
import { after, test, type TestContext, type TestOptions } from 'node:test';
import pg from 'pg';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

/** Declares the test once per engine, named `name [sqlite]` and `name [postgres]`. */
export function forEachEngine(
  name: string,
  fn: (t: TestContext, engine: Engine) => Promise<void> | void,
  opts: TestOptions = {},
): void {
  for (const engine of ENGINES) test(`${name} [${engine}]`, opts, (t) => fn(t, engine));
}

const HOW =
  'run the suite with ./scripts/test.sh, or single files with ./scripts/with-postgres.sh npm run test:one <files> ' +
  '(both start a throwaway PostgreSQL), or set TEST_DATABASE_URL to the admin URL of a Postgres server you own';

/**
 * The admin URL. Without it the Postgres variants fail, each with this message, rather than
 * being skipped: a suite that passes without ever touching Postgres would prove nothing about it.
 */
export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL?.trim();
  if (!url) throw new Error(`TEST_DATABASE_URL is not set, so the Postgres variant of this test cannot run: ${HOW}`);
  return url;
}

async function run(connectionString: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString, application_name: 'callvault-tests' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** postgres://… of the new, empty database */
  url: string;
  /** Drops it, closing whatever connections are still open (idempotent). */
  drop(): Promise<void>;
}

const newName = (prefix: string) => `${prefix}${randomBytes(8).toString('hex')}`;

/** A new empty database of its own. The caller drops it once its stores are closed. */
export async function createDatabase(): Promise<TestDatabase> {
  const name = newName('cv_test_');
  await run(adminUrl(), `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop: () => (dropped ??= run(adminUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** This test file's database (each file runs in a process of its own), dropped after its tests. */
let fileDatabase: Promise<TestDatabase> | undefined;
after(() => fileDatabase?.then((db) => db.drop(), () => undefined));

/**
 * What a test's store needs: an empty database as the store sees it. Creating a database and
 * migrating it takes about half a second, so each test gets a schema of its own in this file's
 * database instead (created and dropped in milliseconds; migrations still run in it), chosen by
 * the URL (`options=-c search_path=…`): the store's SQL is unqualified, so it is the same SQL.
 * Tests about the database itself (concurrent migrations) use `createDatabase`.
 */
export async function createSchema(): Promise<TestDatabase> {
  fileDatabase ??= createDatabase();
  const db = await fileDatabase;
  const schema = newName('t_');
  await run(db.url, `CREATE SCHEMA ${schema}`);
  const url = new URL(db.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop: () => (dropped ??= run(db.url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)),
  };
}
