/**
 * Exact interleavings of two managers' transactions on one PostgreSQL database. A gated store
 * holds its transaction open right after the first call that locks agent rows, so a test can
 * start the other manager's transaction against those locks, see it wait, and only then let the
 * first one go on.
 */
import pg from 'pg';
import type { SessionStore, StoreTx, TransitionWrite } from '../../src/manager/ports.js';

/** Store calls that lock agent rows until the transaction ends. */
function locksAgents(method: string | symbol, args: unknown[]): boolean {
  if (method === 'setSchedulable') return true;
  const writes =
    method === 'applyMany'
      ? (args[0] as TransitionWrite[])
      : method === 'apply'
        ? [args[0] as TransitionWrite]
        : [];
  return writes.some((write) => write.reserve.length + write.release.length > 0);
}

/** A promise with the function that resolves it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

export class LockGate implements SessionStore {
  private armed = false;
  private held = signal();
  private released = signal();

  constructor(private readonly inner: SessionStore) {}

  /** Holds the next transaction that locks agents; resolves once it holds them. */
  arm(): Promise<void> {
    this.armed = true;
    this.held = signal();
    this.released = signal();
    return this.held.promise;
  }

  /** Lets the held transaction go on. */
  release(): void {
    this.released.fire();
  }

  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) => work(this.gated(tx)));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private gated(tx: StoreTx): StoreTx {
    return new Proxy(tx, {
      get: (target, method) => {
        const value = Reflect.get(target, method, target);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          if (this.armed && locksAgents(method, args)) {
            this.armed = false;
            this.held.fire();
            await this.released.promise;
          }
          return result;
        };
      },
    });
  }
}

/** Resolves once a connection to `database` waits for a lock another one holds. */
export async function someoneWaits(url: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let poll = 0; poll < 500; poll += 1) {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND wait_event_type = 'Lock'`,
        [database],
      );
      if ((rows[0] as { n: number }).n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no connection to ${database} waited for a lock within 5 s`);
  } finally {
    await client.end();
  }
}
