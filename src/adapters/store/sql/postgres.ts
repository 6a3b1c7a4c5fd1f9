/**
 * `session-lifecycle/store/postgres`: the SQL store on a PostgreSQL server through `pg`.
 * Several managers may share one database: claims lock rows with SKIP LOCKED.
 */
import pg from 'pg';
import { PgDriver, poolAddress } from './pg-driver.js';
import { openSqlStore, type SqlStore } from './store.js';

export * from './errors.js';
export type { SqlStore } from './store.js';

/** Options of `openPostgresStore`: a connection string or a pool of one's own. */
export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db`. Ignored when `pool` is given. */
  connectionString?: string;
  /** A pool to use; the store does not end it on `close()`. */
  pool?: pg.Pool;
  /** Connections in the pool the store creates (default 4). One per concurrent transaction. */
  maxConnections?: number;
  /** Milliseconds to wait for a connection before `StoreUnavailableError` (default 10,000). */
  connectTimeoutMs?: number;
}

const DEFAULT_MAX_CONNECTIONS = 4;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects, brings the schema up to date (under an advisory lock, so managers may start together)
 * and returns the store. Throws `StoreUnavailableError` naming host and port when the server
 * cannot be reached, `SchemaTooNewError` when a newer release migrated the database.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<SqlStore> {
  const owned = options.pool === undefined;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    });
  // An idle client whose server went away must not crash the process; the next call reports it.
  if (owned) pool.on('error', () => {});
  const driver = new PgDriver(pool, poolAddress(pool.options), owned);
  return openSqlStore(driver);
}
