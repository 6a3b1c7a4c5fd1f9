/**
 * The `pg` driver: a pool of connections to a PostgreSQL server. Every statement is sent as a
 * named prepared statement, so each connection parses and plans a statement text once.
 */
import type pg from 'pg';
import { redactStoreSpec } from '../open.js';
import {
  PLANNER_SETTINGS,
  type SqlConnection,
  type SqlDriver,
  type SqlResult,
  watchFailures,
} from './driver.js';
import { StoreUnavailableError, TransactionRolledBackError } from './errors.js';

/** Node socket errors and SQLSTATEs that mean "the server is not there (for us)". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  '3D000', // database does not exist
  '28000', // invalid authorization
  '28P01', // password authentication failed
  '57P01', // admin shutdown
  '57P02', // crash shutdown
  '57P03', // cannot connect now (starting up)
]);

/** True for errors that say the connection or the server is gone, not that a statement failed. */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) {
    return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
    error.message,
  );
}

/** Host and port a pool connects to, for error messages (never a password). */
export function poolAddress(config: pg.PoolConfig): { host: string; port: number } {
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString);
      return { host: url.hostname || 'localhost', port: Number(url.port || 5432) };
    } catch {
      return { host: redactStoreSpec(config.connectionString), port: 5432 };
    }
  }
  return {
    host: String(config.host ?? process.env.PGHOST ?? 'localhost'),
    port: Number(config.port ?? process.env.PGPORT ?? 5432),
  };
}

/** Opens a transaction with the planner settings (`PLANNER_SETTINGS`), in the same round trip. */
const BEGIN = `BEGIN; ${PLANNER_SETTINGS}`;

class PgConnection implements SqlConnection {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly names: Map<string, string>,
  ) {}

  async query<R>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    let name = this.names.get(text);
    if (name === undefined) {
      name = `sl_${this.names.size + 1}`;
      this.names.set(text, name);
    }
    const result = await this.client.query({ name, text, values: params as unknown[] });
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  }
}

/** A `SqlDriver` over a `pg.Pool`. `ownsPool`: whether `close()` ends the pool. */
export class PgDriver implements SqlDriver {
  readonly kind = 'postgres';
  readonly location: string;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly address: { host: string; port: number },
    private readonly ownsPool: boolean,
  ) {
    this.location = `${address.host}:${address.port}`;
  }

  async transaction<T>(work: (conn: SqlConnection) => Promise<T>): Promise<T> {
    const client = await this.connect();
    const watch = watchFailures(new PgConnection(client, this.names));
    // A connection that breaks between statements emits 'error' on the checked-out client; the
    // next statement fails with it, so the event itself needs only a listener, not an action.
    client.on('error', ignoreBrokenConnection);
    try {
      await client.query(BEGIN);
      const result = await work(watch.conn);
      const failed = watch.failure();
      if (failed) throw new TransactionRolledBackError(failed.error);
      const commit = await client.query('COMMIT');
      // An aborted transaction answers COMMIT with ROLLBACK, and no error.
      if (commit.command !== 'COMMIT') throw new TransactionRolledBackError(commit.command);
      client.off('error', ignoreBrokenConnection);
      client.release();
      return result;
    } catch (error) {
      await this.abandon(client, error);
      // A broken client is destroyed with its listener; a healthy one goes back to the pool.
      if (!isUnreachable(error)) client.off('error', ignoreBrokenConnection);
      throw this.wrap(error);
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw new StoreUnavailableError(this.address.host, this.address.port, error);
    }
  }

  /** Rolls back and returns the client; a client whose connection broke is destroyed. */
  private async abandon(client: pg.PoolClient, error: unknown): Promise<void> {
    if (isUnreachable(error)) {
      client.release(true);
      return;
    }
    try {
      await client.query('ROLLBACK');
      client.release();
    } catch (rollbackError) {
      client.release(rollbackError instanceof Error ? rollbackError : true);
    }
  }

  private wrap(error: unknown): unknown {
    if (error instanceof StoreUnavailableError || !isUnreachable(error)) return error;
    return new StoreUnavailableError(this.address.host, this.address.port, error);
  }
}

function ignoreBrokenConnection(): void {}
