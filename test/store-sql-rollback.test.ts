/**
 * A statement that fails inside a transaction aborts it in PostgreSQL; if the work catches the
 * error and goes on, COMMIT rolls back without an error of its own. Both drivers must then
 * reject with `TransactionRolledBackError` instead of resolving as if the work was written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openPgliteStore,
  type SqlStore,
  TransactionRolledBackError,
} from '../src/adapters/store/sql/pglite.js';
import { openPostgresStore } from '../src/adapters/store/sql/postgres.js';
import { truncateStore, useTestDatabase } from './helpers/postgres.js';

const database = useTestDatabase();

const DRIVERS: [string, () => Promise<SqlStore>][] = [
  ['PGlite', () => openPgliteStore()],
  ['PostgreSQL', () => openPostgresStore({ connectionString: database.url, maxConnections: 2 })],
];

const AGENT = { id: 'a1', capacity: { cpu: 4000 }, schedulable: true };

describe.each(DRIVERS)('a caught statement failure on %s', (_name, open) => {
  let store: SqlStore;
  beforeAll(async () => {
    store = await open();
    await truncateStore(store);
    await store.driver.transaction((conn) =>
      conn.query('CREATE TABLE IF NOT EXISTS rollback_probe (n integer)'),
    );
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('rejects the transaction with TransactionRolledBackError and writes nothing', async () => {
    const work = store.driver.transaction(async (conn) => {
      await conn.query('INSERT INTO rollback_probe (n) VALUES (999)');
      await conn.query('SELECT 1 / 0').catch(() => undefined);
      return 'carried on';
    });
    const error = await work.then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(TransactionRolledBackError);
    expect(error).toMatchObject({ code: 'transaction-rolled-back', retryable: true });
    expect((error as Error).message).toContain('division by zero (22012)');
    expect(((error as Error).cause as { code: string }).code).toBe('22012');
    const probe = await store.driver.transaction((conn) =>
      conn.query<{ n: number }>('SELECT n FROM rollback_probe'),
    );
    expect(probe.rows).toEqual([]);
  });

  it('rejects a store transaction whose work caught a failed call, keeping nothing', async () => {
    const work = store.transaction(async (tx) => {
      await tx.putAgent(AGENT);
      // A call the database refuses (a NUL byte is not valid text), caught by the work.
      await tx.getSessions(['s\u0000']).catch(() => undefined);
      return 'carried on';
    });
    await expect(work).rejects.toBeInstanceOf(TransactionRolledBackError);
    expect(await store.transaction((tx) => tx.agents())).toEqual([]);
  });

  it('commits after ROLLBACK TO SAVEPOINT undid the failed statement', async () => {
    const result = await store.driver.transaction(async (conn) => {
      await conn.query('INSERT INTO rollback_probe (n) VALUES (998)');
      await conn.query('SAVEPOINT before_failure');
      await conn.query('SELECT 1 / 0').catch(() => undefined);
      await conn.query('ROLLBACK TO SAVEPOINT before_failure');
      return 'committed';
    });
    expect(result).toBe('committed');
    const probe = await store.driver.transaction((conn) =>
      conn.query<{ n: number }>('SELECT n FROM rollback_probe'),
    );
    expect(probe.rows).toEqual([{ n: 998 }]);
  });
});
