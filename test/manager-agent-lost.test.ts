/**
 * An `agent.lost` report reaches every session on the lost agent: through write conflicts
 * (retried past the limit that drops a session report) and, on PostgreSQL, through a session row
 * another transaction holds locked at that moment.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { openPostgresStore, type SqlStore } from '../src/adapters/store/sql/postgres.js';
import { ManagerStoppedError } from '../src/manager/errors.js';
import type { SessionStore, StoreTx } from '../src/manager/ports.js';
import { AGENT_LOST_RETRY_MS, MAX_REPORT_CONFLICTS } from '../src/manager/receive.js';
import { truncateStore, useTestDatabase } from './helpers/postgres.js';
import {
  AGENT_CAPACITY,
  createHarness,
  expectNoLeaks,
  type Harness,
  reservedOn,
  runUntil,
  spec,
  view,
} from './manager-harness.js';

let h: Harness;

/** Two sessions RUNNING on agent a1. */
async function twoRunning(store: SessionStore): Promise<void> {
  h = await createHarness({ store, agents: [{ id: 'a1', capacity: AGENT_CAPACITY }] });
  await h.manager.submit(spec({ id: 's1' }));
  await h.manager.submit(spec({ id: 's2' }));
  await runUntil(h, async () => {
    const statuses = [(await view(h, 's1')).status, (await view(h, 's2')).status];
    return statuses.every((status) => status === 'RUNNING');
  });
}

const messages = (message: string) => h.logs.filter((entry) => entry.message === message);

/** Both sessions heard AGENT_LOST and ended for it, no report was dropped, a1 holds nothing. */
async function expectBothLost(): Promise<void> {
  const ended = [];
  for (const id of ['s1', 's2']) {
    const session = await view(h, id);
    ended.push({ id, status: session.status, reason: session.reason });
  }
  expect(ended).toEqual([
    { id: 's1', status: 'ERROR', reason: 'agent-lost' },
    { id: 's2', status: 'ERROR', reason: 'agent-lost' },
  ]);
  expect(messages('report dropped after write conflicts')).toEqual([]);
  expect(await reservedOn(h, 'a1')).toEqual({});
}

const refusedWrites = (sessionId: string) =>
  messages('write refused').filter((entry) => entry.fields.sessionId === sessionId).length;

/**
 * A memory store on which the next `refusals.s1` writes of session s1 find it moved on. Without
 * `applyMany`, every write goes through `apply`.
 */
function conflicting(refusals: { s1: number }): SessionStore {
  const store = new MemoryStore();
  return {
    transaction: (work) =>
      store.transaction((tx) => {
        const wrapped = Object.create(tx) as StoreTx;
        wrapped.apply = async (write) => {
          if (write.session.id !== 's1' || refusals.s1 === 0) return tx.apply(write);
          refusals.s1 -= 1;
          return { ok: false, conflict: 'version', actual: write.expectedVersion + 1 };
        };
        wrapped.applyMany = undefined;
        return work(wrapped);
      }),
    close: () => store.close(),
  };
}

describe('agent.lost after write conflicts', () => {
  afterEach(async () => {
    await expectNoLeaks(h);
  });

  it('retries an agent.lost report past the conflict limit until it applies', async () => {
    const refusals = { s1: 0 };
    await twoRunning(conflicting(refusals));
    refusals.s1 = MAX_REPORT_CONFLICTS + 3;
    h.agents.loseAgent('a1');
    expect(await h.agents.deliverDueAsync()).toBe(1);
    expect(refusals.s1).toBe(0);
    expect(refusedWrites('s1')).toBe(MAX_REPORT_CONFLICTS + 3);
    await expectBothLost();
    expect(messages('agent.lost report retried after write conflicts')).toEqual([
      {
        level: 'warn',
        fields: { agentId: 'a1', report: 'agent.lost', conflicts: MAX_REPORT_CONFLICTS + 1 },
        message: 'agent.lost report retried after write conflicts',
      },
    ]);
  });

  it('pauses between retries past the limit; the inbox and tick() go on meanwhile', async () => {
    const refusals = { s1: 0 };
    await twoRunning(conflicting(refusals));
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      refusals.s1 = MAX_REPORT_CONFLICTS + 2;
      h.agents.loseAgent('a1');
      let applied = false;
      const delivered = h.agents.deliverDueAsync().then(() => {
        applied = true;
      });
      // Retried at once up to the limit, then set aside: a tick waits for nothing.
      await h.manager.tick();
      expect(refusedWrites('s1')).toBe(MAX_REPORT_CONFLICTS + 1);
      await vi.advanceTimersByTimeAsync(AGENT_LOST_RETRY_MS - 1);
      expect(refusedWrites('s1')).toBe(MAX_REPORT_CONFLICTS + 1);
      await vi.advanceTimersByTimeAsync(1);
      await h.manager.tick();
      expect(refusedWrites('s1')).toBe(MAX_REPORT_CONFLICTS + 2);
      expect(applied).toBe(false);
      // The next pause is twice as long; then the report applies.
      await vi.advanceTimersByTimeAsync(2 * AGENT_LOST_RETRY_MS - 1);
      expect(applied).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await delivered;
      expect(refusals.s1).toBe(0);
      await expectBothLost();
    } finally {
      vi.useRealTimers();
    }
  });

  it('stop() rejects a report waiting out its pause; delivered again, it applies', async () => {
    const refusals = { s1: 0 };
    await twoRunning(conflicting(refusals));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      refusals.s1 = MAX_REPORT_CONFLICTS + 1;
      h.agents.loseAgent('a1');
      const delivered = h.agents.deliverDueAsync();
      await h.manager.tick();
      expect(refusedWrites('s1')).toBe(MAX_REPORT_CONFLICTS + 1);
      expect(vi.getTimerCount()).toBe(1);
      await h.manager.stop();
      expect(vi.getTimerCount()).toBe(0);
      expect(await delivered).toBe(1);
      const conflicts = MAX_REPORT_CONFLICTS + 1;
      expect(messages('report abandoned at stop').map((entry) => entry.fields)).toEqual([
        { agentId: 'a1', report: 'agent.lost', conflicts },
      ]);
      // The fleet's `receive` was rejected with the typed error, logged as a warning.
      expect(messages('report rejected')).toEqual([
        {
          level: 'warn',
          fields: {
            type: 'agent.lost',
            agentId: 'a1',
            err: {
              name: 'ManagerStoppedError',
              code: 'manager-stopped',
              message:
                'the manager stopped before the agent.lost report of agent "a1" applied (it ' +
                `met ${conflicts} write conflicts): deliver it again to a running manager`,
            },
          },
          message: 'report rejected',
        },
      ]);
      // s1 never heard it and still holds its slots on a1; s2 did and released them.
      expect((await view(h, 's1')).status).toBe('RUNNING');
      expect((await view(h, 's2')).status).toBe('ERROR');
      expect(await reservedOn(h, 'a1')).toEqual(spec().kernels[0]!.slots);
      // Nothing fires later; delivered again, the report applies.
      await vi.advanceTimersByTimeAsync(10 * AGENT_LOST_RETRY_MS);
      expect(refusedWrites('s1')).toBe(conflicts);
      const again = h.manager.receive({ type: 'agent.lost', agentId: 'a1' });
      await expect(again).resolves.toBeUndefined();
      await expectBothLost();
    } finally {
      vi.useRealTimers();
    }
  });

  it('still drops a session report after the conflict limit', async () => {
    const refusals = { s1: 0 };
    await twoRunning(conflicting(refusals));
    refusals.s1 = Number.POSITIVE_INFINITY;
    expect(h.agents.exitKernel('a1', 's1', 'k0')).toBe(1);
    expect(await h.agents.deliverDueAsync()).toBe(1);
    refusals.s1 = 0;
    expect(refusedWrites('s1')).toBe(MAX_REPORT_CONFLICTS + 1);
    expect(messages('report dropped after write conflicts')).toHaveLength(1);
    expect((await view(h, 's1')).status).toBe('RUNNING');
  });
});

describe('ManagerStoppedError', () => {
  it('is typed and retryable', () => {
    const error = new ManagerStoppedError({ type: 'agent.lost', agentId: 'a1' }, 6);
    expect(error).toBeInstanceOf(ManagerStoppedError);
    expect({ ...error, name: error.name }).toEqual({
      code: 'manager-stopped',
      retryable: true,
      agentId: 'a1',
      report: 'agent.lost',
      conflicts: 6,
      name: 'ManagerStoppedError',
    });
  });
});

describe('a placement decided on agents read before one stopped taking placements', () => {
  it('is refused by the store and made again on a fresh read next round', async () => {
    const memory = new MemoryStore();
    // While `stale` holds, the manager reads every agent as still taking placements.
    let stale = false;
    const store: SessionStore = {
      transaction: (work) =>
        memory.transaction((tx) => {
          const wrapped = Object.create(tx) as StoreTx;
          wrapped.agents = async () =>
            (await tx.agents()).map((agent) => (stale ? { ...agent, schedulable: true } : agent));
          return work(wrapped);
        }),
      close: () => memory.close(),
    };
    h = await createHarness({
      store,
      agents: [
        { id: 'a1', capacity: AGENT_CAPACITY },
        { id: 'a2', capacity: AGENT_CAPACITY },
      ],
    });
    await memory.transaction((tx) => tx.setSchedulable('a1', false));
    await h.manager.submit(spec({ id: 's1' }));
    stale = true;
    await h.manager.tick();
    expect((await view(h, 's1')).status).toBe('PENDING');
    expect(await reservedOn(h, 'a1')).toEqual({});
    expect(messages('write refused').map((entry) => entry.fields)).toEqual([
      { sessionId: 's1', ok: false, conflict: 'unschedulable', agentId: 'a1' },
    ]);
    stale = false;
    await h.manager.tick();
    expect((await view(h, 's1')).placement).toEqual({ k0: 'a2' });
    await runUntil(h, async () => (await view(h, 's1')).status === 'RUNNING');
    expect(await reservedOn(h, 'a1')).toEqual({});
    await expectNoLeaks(h);
  });
});

describe('agent.lost on PostgreSQL while another transaction holds a session locked', () => {
  const database = useTestDatabase();
  let store: SqlStore;
  let holder: pg.Client;
  let watcher: pg.Client;

  beforeEach(async () => {
    store = await openPostgresStore({ connectionString: database.url, maxConnections: 2 });
    await truncateStore(store);
    holder = new pg.Client({ connectionString: database.url });
    watcher = new pg.Client({ connectionString: database.url });
    await Promise.all([holder.connect(), watcher.connect()]);
  });
  afterEach(async () => {
    await expectNoLeaks(h);
    await Promise.all([holder.end(), watcher.end()]);
    await store.close();
  });

  /**
   * Loses a1 while `holder` holds s2 locked (after `meanwhile` ran in its transaction), waits
   * until the manager is blocked on that lock, then ends the holder's transaction with `end`.
   * Returns whether the manager was seen blocked.
   */
  async function loseWhileLocked(meanwhile: string | undefined, end: 'COMMIT' | 'ROLLBACK') {
    await holder.query('BEGIN');
    await holder.query("SELECT id FROM sessions WHERE id = 's2' FOR UPDATE");
    if (meanwhile !== undefined) await holder.query(meanwhile);
    const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    h.agents.loseAgent('a1');
    let settled = false;
    const delivered = h.agents.deliverDueAsync().finally(() => {
      settled = true;
    });
    let blocked = false;
    for (let waited = 0; waited < 10_000 && !blocked && !settled; waited += 10) {
      const waiting = await watcher.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
        [rows[0]?.pid],
      );
      blocked = (waiting.rows[0]?.n ?? 0) > 0;
      if (!blocked) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await holder.query(end);
    expect(await delivered).toBe(1);
    return blocked;
  }

  // The second row stands in for another manager's write to s2: only its version moves.
  it.each([
    { change: 'nothing', meanwhile: undefined, end: 'ROLLBACK', refused: 0 },
    {
      change: 'its version',
      meanwhile: "UPDATE sessions SET version = version + 1 WHERE id = 's2'",
      end: 'COMMIT',
      refused: 1,
    },
  ] as const)(
    'waits for the lock instead of skipping the session, then tells it (holder changed $change)',
    async ({ meanwhile, end, refused }) => {
      await twoRunning(store);
      const blocked = await loseWhileLocked(meanwhile, end);
      await runUntil(h);
      await expectBothLost();
      expect(blocked).toBe(true);
      expect(refusedWrites('s2')).toBe(refused);
    },
  );
});
