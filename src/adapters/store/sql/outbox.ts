/**
 * Outbox acknowledgements, deferred. A stage finishes or retries one outbox row per agent call;
 * sending each as its own statement would cost a round trip per call. They are kept here and
 * sent as two statements before the transaction's next statement or its COMMIT, so every read
 * in the transaction still sees them.
 */
import type { SqlConnection } from './driver.js';

const FINISH_MANY = 'DELETE FROM outbox WHERE key = ANY($1::text[])';

const RETRY_MANY = `UPDATE outbox o SET due_at = v.due, tries = o.tries + v.n
  FROM json_to_recordset($1::text::json) AS v(k text, due double precision, n integer)
  WHERE o.key = v.k`;

export class DeferredOutbox {
  private finished = new Set<string>();
  private retried = new Map<string, { due: number; n: number }>();

  finish(key: string): void {
    this.retried.delete(key);
    this.finished.add(key);
  }

  /** A retry after a finish of the same key is a no-op, as on a deleted row. */
  retry(key: string, dueAt: number): void {
    if (this.finished.has(key)) return;
    const previous = this.retried.get(key);
    this.retried.set(key, { due: dueAt, n: (previous?.n ?? 0) + 1 });
  }

  async flush(conn: SqlConnection): Promise<void> {
    if (this.finished.size === 0 && this.retried.size === 0) return;
    const finished = [...this.finished];
    const retried = [...this.retried].map(([k, { due, n }]) => ({ k, due, n }));
    this.finished = new Set();
    this.retried = new Map();
    if (finished.length > 0) await conn.query(FINISH_MANY, [finished]);
    if (retried.length > 0) await conn.query(RETRY_MANY, [JSON.stringify(retried)]);
  }
}
