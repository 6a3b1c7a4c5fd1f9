/**
 * What only a real PostgreSQL server can show: several connections at once. Two managers must
 * never hold the same session, and a manager that dies must not keep its claims.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgresStore, StoreUnavailableError } from '../src/adapters/store/sql/postgres.js';
import type { SqlStore } from '../src/adapters/store/sql/store.js';
import { SqlStoreTx } from '../src/adapters/store/sql/tx.js';
import { truncateStore, useTestDatabase } from './helpers/postgres.js';
import { sessionRow, timerRow, transitionWrite } from './store-contract.js';

const database = useTestDatabase();
let store: SqlStore;

beforeEach(async () => {
  store = await openPostgresStore({ connectionString: database.url, maxConnections: 4 });
  await truncateStore(store);
});
afterEach(async () => {
  await store.close();
});

/** A promise with its resolve function, to hold a transaction open until a test says so. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/**
 * Runs `work` in a transaction that then stays open, keeping its locks, until `release` is
 * called. Resolves with what `work` returned once it has run.
 */
async function heldOpen<T>(work: (t: SqlStoreTx) => Promise<T>) {
  const held = gate();
  let ran: (value: T) => void = () => {};
  const value = new Promise<T>((resolve) => {
    ran = resolve;
  });
  const transaction = store.transaction(async (t) => {
    ran(await work(t));
    await held.wait;
  });
  const release = async () => {
    held.open();
    await transaction;
  };
  return { value: await Promise.race([value, transaction.then(() => value)]), release };
}

async function seed(count: number): Promise<void> {
  await store.transaction((t) =>
    t.applyMany(
      Array.from({ length: count }, (_, i) =>
        transitionWrite(sessionRow(`s${i}`, { submittedAt: i }), {
          timersSet: [timerRow(`s${i}`, 't', i)],
        }),
      ),
    ),
  );
}

const ids = (rows: { id: string }[]) => rows.map((row) => row.id);

describe('SQL store on PostgreSQL with several connections', () => {
  it('gives two transactions claiming at once disjoint sessions', async () => {
    await seed(10);
    const holder = await heldOpen(async (t) => ids(await t.claimSessions(['PENDING'], 6)));
    const second = await store.transaction(async (t) =>
      ids(await t.claimSessions(['PENDING'], 10)),
    );
    await holder.release();
    const first = holder.value;
    expect(first).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    expect(second).toEqual(['s6', 's7', 's8', 's9']);
  });

  it('skips the timers of a session another transaction has claimed', async () => {
    await seed(3);
    const holder = await heldOpen((t) => t.claimSessions(['PENDING'], 1));
    const timers = await store.transaction((t) => t.dueTimers(100, 10));
    await holder.release();
    expect(timers.map((row) => row.sessionId)).toEqual(['s1', 's2']);
  });

  it('lists the sessions on an agent, locked ones included, while claims skip those', async () => {
    await store.transaction((t) =>
      t.applyMany(
        ['s0', 's1'].map((id) =>
          transitionWrite(sessionRow(id, { status: 'RUNNING', holds: { a1: { cpu: 1 } } })),
        ),
      ),
    );
    const holder = await heldOpen(async (t) => ids(await t.claimSessions(['RUNNING'], 1)));
    const seen = await store.transaction(async (t) => ({
      onAgent: await t.sessionsOnAgent('a1', ['RUNNING']),
      claims: ids(await t.claimSessions(['RUNNING'], 10)),
    }));
    await holder.release();
    expect(holder.value).toEqual(['s0']);
    expect(seen).toEqual({ onAgent: ['s0', 's1'], claims: ['s1'] });
  });

  it('counts what another transaction holds locked as work due, which claims skip', async () => {
    await seed(1);
    const holder = await heldOpen(async (t) => ids(await t.claimSessions(['PENDING'], 1)));
    const seen = await store.transaction(async (t) => ({
      work: await t.workDue(100, ['PENDING']),
      timers: await t.dueTimers(100, 10),
      claims: await t.claimSessions(['PENDING'], 10),
    }));
    await holder.release();
    expect(holder.value).toEqual(['s0']);
    expect(seen).toEqual({
      work: { timers: true, outbox: false, statuses: ['PENDING'] },
      timers: [],
      claims: [],
    });
  });

  it('releases the claims of a connection that dies', async () => {
    await seed(3);
    const manager = new pg.Client({ connectionString: database.url });
    await manager.connect();
    manager.on('error', () => {});
    await manager.query('BEGIN');
    await manager.query('SELECT id FROM sessions FOR UPDATE');
    const claim = () => store.transaction((t) => t.claimSessions(['PENDING'], 10));
    expect(await claim()).toEqual([]);

    // The manager's process dies: its socket closes without COMMIT or ROLLBACK.
    (
      manager as unknown as { connection: { stream: { destroy(): void } } }
    ).connection.stream.destroy();
    let after: string[] = [];
    for (let i = 0; i < 100 && after.length === 0; i += 1) {
      after = ids(await claim());
      if (after.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(after).toEqual(['s0', 's1', 's2']);
  });

  it('lets one of two inserts of one new session win; the other conflicts', async () => {
    const held = gate();
    let inserted = false;
    const first = store.transaction(async (t: SqlStoreTx) => {
      const result = await t.applyMany([transitionWrite(sessionRow('dup', { owner: 'alice' }))]);
      inserted = true;
      await held.wait;
      return result;
    });
    while (!inserted) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = store.transaction((t) =>
      t.applyMany([
        transitionWrite(sessionRow('dup', { owner: 'bob' })),
        transitionWrite(sessionRow('other')),
      ]),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    held.open();
    expect(await first).toEqual([{ ok: true }]);
    expect(await second).toEqual([{ ok: false, conflict: 'version', actual: 1 }, { ok: true }]);
    const rows = await store.transaction((t) => t.getSessions(['dup', 'other']));
    expect(rows.map((row) => [row.id, row.owner])).toEqual([
      ['dup', 'alice'],
      ['other', 'alice'],
    ]);
  });

  it('reports a connection killed mid-transaction as unavailable, keeps nothing', async () => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const error = await store
      .transaction(async (t) => {
        await t.apply(transitionWrite(sessionRow('lost')));
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity ' +
            'WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        await t.statuses();
      })
      .catch((e: unknown) => e);
    await admin.end();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    // Whether the driver sees the server's notice before or after sending the next statement
    // decides which of the two causes it reports.
    const { hostname, port } = new URL(database.url);
    const where = `cannot reach the PostgreSQL store at ${hostname}:${port || 5432}: `;
    expect([
      `${where}terminating connection due to administrator command (57P01)`,
      `${where}Client has encountered a connection error and is not queryable`,
    ]).toContain((error as Error).message);
    expect(await store.transaction((t) => t.statuses())).toEqual(new Map());
  });

  it('leaves out whole a session another transaction moved between read and write', async () => {
    await seed(2);
    const results = await store.transaction(async (t) => {
      await t.getSessions(['s0', 's1']);
      await store.transaction((other) =>
        other.apply(transitionWrite(sessionRow('s0', { version: 2, status: 'CANCELLED' }))),
      );
      return t.applyMany([
        transitionWrite(sessionRow('s0', { version: 2, status: 'SCHEDULED' }), {
          history: [{ sessionId: 's0', at: 5, from: 'PENDING', to: 'SCHEDULED', substate: '' }],
          timersCancelled: ['t'],
        }),
        transitionWrite(sessionRow('s1', { version: 2, status: 'SCHEDULED' }), {
          history: [{ sessionId: 's1', at: 5, from: 'PENDING', to: 'SCHEDULED', substate: '' }],
          timersCancelled: ['t'],
        }),
      ]);
    });
    expect(results).toEqual([{ ok: false, conflict: 'version', actual: 2 }, { ok: true }]);
    const after = await store.transaction(async (t) => ({
      statuses: await t.statuses(),
      h0: await t.history('s0'),
      h1: await t.history('s1'),
      timers: await t.dueTimers(100, 10),
    }));
    expect(after.statuses).toEqual(
      new Map([
        ['s0', 'CANCELLED'],
        ['s1', 'SCHEDULED'],
      ]),
    );
    expect(after.h0).toEqual([]);
    expect(after.h1).toHaveLength(1);
    expect(after.timers).toEqual([timerRow('s0', 't', 0)]);
  });

  it('writes one independent transition in a single statement', async () => {
    await seed(1);
    const sent: string[] = [];
    const result = await store.driver.transaction(async (conn) => {
      const t = new SqlStoreTx({
        query: <R>(text: string, params?: readonly unknown[]) => {
          sent.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
          return conn.query<R>(text, params);
        },
      });
      return t.apply(transitionWrite(sessionRow('s0', { version: 2, status: 'SCHEDULED' })));
    });
    expect(result).toEqual({ ok: true });
    expect(sent).toEqual(['WITH ins']);
  });

  it('never lets two managers reserve past an agent capacity', async () => {
    await store.transaction((t) =>
      t.putAgent({ id: 'a1', capacity: { cpu: 1000 }, schedulable: true }),
    );
    const other = await openPostgresStore({ connectionString: database.url });
    const reserve = (target: SqlStore, prefix: string) =>
      target.transaction((t) =>
        t.applyMany(
          Array.from({ length: 10 }, (_, i) =>
            transitionWrite(sessionRow(`${prefix}${i}`), {
              reserve: [{ agentId: 'a1', slots: { cpu: 100 } }],
            }),
          ),
        ),
      );
    const results = (await Promise.all([reserve(store, 'x'), reserve(other, 'y')])).flat();
    await other.close();
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect((await store.transaction((t) => t.agents()))[0]?.reserved).toEqual({ cpu: 1000 });
  });
});
