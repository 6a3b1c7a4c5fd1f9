/**
 * `session-lifecycle/store/pglite`: the SQL store on PGlite, PostgreSQL in this process (no
 * server), in memory or in a directory.
 */
import { PGlite } from '@electric-sql/pglite';
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
 * `SchemaTooNewError` when a newer release migrated the directory.
 */
export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<SqlStore> {
  const db = options.db ?? (await PGlite.create(options.dataDir ?? 'memory://'));
  const location = options.dataDir ?? 'memory';
  return openSqlStore(new PgliteDriver(db, location, options.db === undefined));
}
