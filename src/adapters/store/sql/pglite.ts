/**
 * `session-lifecycle/store/pglite`: the SQL store on PGlite, PostgreSQL in this process (no
 * server), in memory or in a directory.
 */
import { PGlite } from '@electric-sql/pglite';
import { StoreUnavailableError } from './errors.js';
import { PgliteDriver } from './pglite-driver.js';
import { openSqlStore, type SqlStore } from './store.js';

export * from './errors.js';
export type { SqlStore } from './store.js';

/** Options of `openPgliteStore`. */
export interface PgliteStoreOptions {
  /** A directory to keep the database in (created if missing); in memory when absent. */
  dataDir?: string;
  /** An instance to use instead; the store does not close it on `close()`. */
  db?: PGlite;
}

/**
 * Opens (or creates) the database, brings the schema up to date and returns the store. Throws
 * `StoreUnavailableError` (engine `pglite`, not retryable) when the directory cannot be created
 * or opened, and `SchemaTooNewError` when a newer release migrated it.
 */
export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<SqlStore> {
  const location = options.dataDir ?? 'memory';
  const db = options.db ?? (await createPglite(options.dataDir));
  return openSqlStore(new PgliteDriver(db, location, options.db === undefined));
}

async function createPglite(dataDir: string | undefined): Promise<PGlite> {
  try {
    return await PGlite.create(dataDir ?? 'memory://');
  } catch (error) {
    throw new StoreUnavailableError(dataDir ?? 'memory', undefined, error, 'pglite');
  }
}
