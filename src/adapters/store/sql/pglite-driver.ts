/**
 * The PGlite driver: PostgreSQL compiled to WebAssembly, in this process, in memory or in a
 * directory. It has one connection; PGlite itself queues transactions one after another.
 */
import type { PGlite } from '@electric-sql/pglite';
import { type SqlConnection, type SqlDriver, type SqlResult, watchFailures } from './driver.js';
import { TransactionRolledBackError } from './errors.js';

interface PgliteQueryable {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
}

function connection(target: PgliteQueryable): SqlConnection {
  return {
    async query<R>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      const result = await target.query<R>(text, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
  };
}

/** A `SqlDriver` over one PGlite instance. `ownsDb`: whether `close()` closes it. */
export class PgliteDriver implements SqlDriver {
  readonly kind = 'pglite';

  constructor(
    private readonly db: PGlite,
    readonly location: string,
    private readonly ownsDb: boolean,
  ) {}

  transaction<T>(work: (conn: SqlConnection) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const watch = watchFailures(connection(tx));
      const result = await work(watch.conn);
      const failed = watch.failure();
      if (failed) throw new TransactionRolledBackError(failed.error);
      return result;
    });
  }

  async close(): Promise<void> {
    if (this.ownsDb && !this.db.closed) await this.db.close();
  }
}
