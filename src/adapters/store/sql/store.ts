/**
 * The SQL `SessionStore`, shared by both drivers: one PostgreSQL dialect, the schema brought up
 * to date on open.
 */
import type { SessionStore } from '../../../manager/ports.js';
import type { SqlDriver } from './driver.js';
import { migrate } from './migrate.js';
import { SqlStoreTx } from './tx.js';

/**
 * A `SessionStore` over PostgreSQL (`pg`) or PGlite. Open it with `openPostgresStore` or
 * `openPgliteStore`.
 */
export class SqlStore implements SessionStore {
  constructor(
    /** The driver underneath (for tests and diagnostics). */
    readonly driver: SqlDriver,
  ) {}

  /** Runs `work` in one transaction; its tx always has `applyMany`. */
  transaction<T>(work: (tx: SqlStoreTx) => Promise<T>): Promise<T> {
    return this.driver.transaction(async (conn) => {
      const tx = new SqlStoreTx(conn);
      try {
        const result = await work(tx);
        await tx.flush();
        return result;
      } finally {
        tx.end();
      }
    });
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}

/**
 * Migrates the database behind `driver` and returns the store. On a failure (newer schema,
 * unreachable server) the driver is closed and the error rethrown.
 */
export async function openSqlStore(driver: SqlDriver): Promise<SqlStore> {
  try {
    await migrate(driver);
  } catch (error) {
    await driver.close().catch(() => {});
    throw error;
  }
  return new SqlStore(driver);
}
