/** Upgrading a database written by schema version 1 keeps every session as it was. */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION, MIGRATIONS } from '../src/adapters/store/sql/migrations.js';
import { openPgliteStore } from '../src/adapters/store/sql/pglite.js';
import { openPostgresStore } from '../src/adapters/store/sql/postgres.js';
import type { SqlStore } from '../src/adapters/store/sql/store.js';
import { persist } from '../src/core/persist.js';
import { startSession } from '../src/manager/core-bridge.js';
import { normalizeSubmit } from '../src/manager/spec.js';
import { defaultPolicy } from '../src/policy/defaults.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

/** A database as version 1 left it: one session with its whole snapshot in `snapshot`. */
const VERSION_1 = [
  'CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL, ' +
    'applied_at timestamptz NOT NULL DEFAULT now())',
  ...(MIGRATIONS[0]?.sql.split(/;\s*\n/).filter((statement) => statement.trim() !== '') ?? []),
  `INSERT INTO schema_version (version, name) VALUES (1, 'v1')`,
];

function submitted() {
  const input = {
    id: 's-old',
    owner: 'alice',
    image: 'python:3.12',
    kernels: [{ slots: { cpu: 1000 } }],
  };
  const { spec } = normalizeSubmit(input, { now: 5_000, newId: () => 's-old' });
  return persist(startSession({ spec, policy: defaultPolicy, seed: 3, now: 5_000 }).next);
}

const INSERT_OLD = `INSERT INTO sessions (id, owner, priority, status, substate, version,
    submitted_at, updated_at, holds, snapshot)
  VALUES ('s-old', 'alice', 0, 'PENDING', '', 1, 5000, 5000, '{}', $1)`;

async function checkUpgrade(store: SqlStore, raw: (sql: string) => Promise<unknown[]>) {
  const snapshot = submitted();
  const [row] = await store.transaction((tx) => tx.getSessions(['s-old']));
  expect(row?.snapshot).toEqual(snapshot);
  const [columns] = (await raw(`SELECT snapshot, fixed FROM sessions WHERE id = 's-old'`)) as {
    snapshot: string;
    fixed: string;
  }[];
  const context = snapshot.context as Record<string, unknown>;
  expect(JSON.parse(columns?.fixed ?? 'null')).toEqual({
    spec: context.spec,
    policy: context.policy,
  });
  expect(Object.keys(JSON.parse(columns?.snapshot ?? '{}').context)).not.toContain('spec');
  expect(await raw('SELECT version FROM schema_version ORDER BY version')).toEqual(
    MIGRATIONS.map(({ version }) => ({ version })),
  );
  expect(LATEST_VERSION).toBe(2);
}

describe('migration from schema version 1', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it('on PGlite: moves spec and policy apart and reads the snapshot back whole', async () => {
    const db = await PGlite.create();
    for (const statement of VERSION_1) await db.query(statement);
    await db.query(INSERT_OLD, [JSON.stringify(submitted())]);
    const store = await openPgliteStore({ db });
    await checkUpgrade(store, async (sql) => (await db.query(sql)).rows);
    await store.close();
    await db.close();
  });

  it('on PostgreSQL: the same', async () => {
    database = await createTestDatabase('sl_migrate');
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      for (const statement of VERSION_1) await client.query(statement);
      await client.query(INSERT_OLD, [JSON.stringify(submitted())]);
      const store = await openPostgresStore({ connectionString: database.url });
      await checkUpgrade(store, async (sql) => (await client.query(sql)).rows);
      await store.close();
    } finally {
      await client.end();
    }
  });
});
