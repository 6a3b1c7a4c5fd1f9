/**
 * The little a SQL store needs from a PostgreSQL driver: run parameterized statements on one
 * connection inside a transaction. Two implementations: `pg` (a server) and PGlite (embedded).
 */

/**
 * The planner settings every transaction of the store runs with (`SET LOCAL`). Each statement
 * is prepared once per connection and keeps its plan (`force_generic_plan`: its parameters are
 * opaque JSON and id lists, so a custom plan is no better, and planning the batch write again
 * would cost more than running it for one session). A plan kept from when the tables were small
 * must not scan what later holds 100,000 rows: with sequential scans discouraged and hash and
 * merge joins off, claims walk their index in order and every join is a nested loop over the
 * batch probing an index, whatever the table sizes were when the plan was made.
 */
export const PLANNER_SETTINGS = `SET LOCAL plan_cache_mode = force_generic_plan;
  SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off;
  SET LOCAL enable_mergejoin = off`;

/** Rows of one statement, with the number of rows it touched. */
export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

/** One connection inside an open transaction. */
export interface SqlConnection {
  /** Runs one statement; `params` are `$1, $2, ...` (strings, numbers, booleans, string arrays). */
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<R>>;
}

/** A PostgreSQL driver: transactions on a connection from a pool (or the single embedded one). */
export interface SqlDriver {
  /** `postgres` or `pglite`, for messages. */
  readonly kind: 'postgres' | 'pglite';
  /** Where the database is (`127.0.0.1:5432/db`, `memory`, a directory), for messages. */
  readonly location: string;
  /**
   * Runs `work` between BEGIN and COMMIT; rolls back and rethrows if `work` throws. If a
   * statement failed and `work` resolved anyway (it caught the error), the database has aborted
   * the transaction: it rejects with `TransactionRolledBackError` instead of resolving.
   */
  transaction<T>(work: (conn: SqlConnection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * `conn`, remembering the first statement that failed since the transaction (or its last
 * successful `ROLLBACK TO SAVEPOINT`) began: after it, PostgreSQL aborts the transaction, and
 * COMMIT rolls back without an error of its own.
 */
export function watchFailures(conn: SqlConnection): {
  conn: SqlConnection;
  failure(): { error: unknown } | undefined;
} {
  let failure: { error: unknown } | undefined;
  return {
    conn: {
      async query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
        try {
          const result = await conn.query<R>(text, params);
          if (/^\s*ROLLBACK\s+TO\b/i.test(text)) failure = undefined;
          return result;
        } catch (error) {
          failure ??= { error };
          throw error;
        }
      },
    },
    failure: () => failure,
  };
}
