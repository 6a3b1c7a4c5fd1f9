/**
 * A throwaway PostgreSQL database per test run, on the server named by `PG_URL` (default: the
 * local server as user postgres). Names are random, so concurrent runs never collide.
 */

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { SqlStore } from '../../src/adapters/store/sql/store.js';

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  name: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a random name on the `PG_URL` server. */
export async function createTestDatabase(prefix = 'sl_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/**
 * A throwaway database for the tests of the calling file (or `describe` block): created before
 * them, dropped after. Read `url` inside a test or a later hook.
 */
export function useTestDatabase(): { readonly url: string } {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
  });
  return {
    get url() {
      if (database === undefined) throw new Error('the test database is made in beforeAll');
      return database.url;
    },
  };
}

/** Empties every table of an opened SQL store (the schema stays). */
export async function truncateStore(store: SqlStore): Promise<void> {
  await store.driver.transaction((conn) =>
    conn.query('TRUNCATE agents, sessions, history, outbox, timers RESTART IDENTITY'),
  );
}

/** A TCP port on 127.0.0.1 with nothing listening (bound, then released). */
export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
