/**
 * Batch transactions in flight side by side: the prepare and start stages and large report
 * batches run two transactions at once (`inTurns`), so the manager decides one batch while the
 * store writes another. Checked on MemoryStore and on a real PostgreSQL server, where the two
 * run on two connections at once.
 */
import { describe, expect, it } from 'vitest';
import type { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { openPostgresStore } from '../src/adapters/store/sql/postgres.js';
import { createSessionManager } from '../src/manager/manager.js';
import type { AgentClient, SessionStore } from '../src/manager/ports.js';
import { overlapped, STAGE_DEPTH } from '../src/manager/runtime.js';
import { useTestDatabase } from './helpers/postgres.js';
import {
  createHarness,
  expectNoLeaks,
  HAPPY_PATH,
  type Harness,
  runUntil,
  spec,
  testPolicy,
} from './manager-harness.js';

/** A promise settled from outside, to hold a batch until the test lets it go. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('overlapped', () => {
  it('runs every batch, never more than `depth` at once, and starts them in order', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await overlapped(7, 2, async (index) => {
      started.push(index);
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, index % 3));
      running -= 1;
      return true;
    });
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
  });

  it('starts nothing after a batch comes back false; the one in flight finishes', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const second = gate();
    await overlapped(10, 2, async (index) => {
      started.push(index);
      if (index === 1) await second.opened;
      if (index === 2) second.open();
      finished.push(index);
      return index !== 2;
    });
    // 0 ends, 2 starts beside 1 and says stop; 1 then finishes and nothing else starts.
    expect(started).toEqual([0, 1, 2]);
    expect(finished).toEqual([0, 2, 1]);
  });

  it('rejects with the first failure once the batches in flight have settled', async () => {
    const finished: number[] = [];
    const slow = gate();
    const failure = new Error('batch 2 failed');
    const run = overlapped(10, 2, async (index) => {
      if (index === 1) await slow.opened;
      if (index === 2) {
        slow.open();
        throw failure;
      }
      finished.push(index);
      return true;
    });
    await expect(run).rejects.toBe(failure);
    expect(finished).toEqual([0, 1]);
  });
});

/** `store`, counting the transactions open at once and in all. */
function counting(store: SessionStore) {
  const counts = { open: 0, most: 0, total: 0 };
  const watched: SessionStore = {
    async transaction(work) {
      counts.open += 1;
      counts.total += 1;
      counts.most = Math.max(counts.most, counts.open);
      try {
        return await store.transaction(work);
      } finally {
        counts.open -= 1;
      }
    },
    close: () => store.close(),
  };
  return { counts, watched };
}

const SESSIONS = 60;
const BATCH = 8;
/** Ten agents with room for all sixty one-CPU sessions. */
const AGENTS = Array.from({ length: 10 }, (_, index) => ({
  id: `o${index}`,
  capacity: { cpu: 8000, mem: 32768 },
}));

const database = useTestDatabase();

const STORES: [string, () => Promise<SessionStore>][] = [
  ['MemoryStore', async () => new MemoryStore()],
  ['PostgreSQL', () => openPostgresStore({ connectionString: database.url, maxConnections: 4 })],
];

describe.each(STORES)('stages and reports in overlapped batches on %s', (_name, open) => {
  it('take every session to RUNNING once, two transactions at a time, no leak', async () => {
    const { counts, watched } = counting(await open());
    const h = await createHarness({ store: watched, agents: AGENTS, batchSize: BATCH });
    try {
      const ids: string[] = [];
      for (let index = 0; index < SESSIONS; index += 1) {
        ids.push(await h.manager.submit(spec({ id: `ov-${index}`, owner: `u${index}` })));
      }
      await runUntil(
        h,
        async () => h.notices.filter((n) => n.to === 'RUNNING').length === SESSIONS,
      );
      expect(counts.most).toBe(STAGE_DEPTH);
      // Each session was told each status once, in order: no batch ran a session twice.
      for (const id of ids) {
        const path = h.notices.filter((n) => n.sessionId === id).map((n) => n.to);
        expect(path, id).toEqual(HAPPY_PATH);
      }
      expect(h.ticks.reduce((sum, t) => sum + t.errors, 0)).toBe(0);
      await expectNoLeaks(h);
    } finally {
      await h.manager.stop();
      await watched.close();
    }
  }, 60_000);
});

/** The fleet, with every create dropped after the call (no answer) and reports while heard. */
function droppingCreates(agents: SimulatedAgents, state: { dropped: Set<string>; heard: boolean }) {
  const client: AgentClient = {
    pullImages: (effect) => agents.pullImages(effect),
    createKernels: async (effect) => {
      state.dropped.add(effect.sessionId);
      throw new Error('connection reset');
    },
    inspectKernels: (effect) => agents.inspectKernels(effect),
    destroyKernels: (effect) => agents.destroyKernels(effect),
    onReport: (listener) =>
      agents.onReport((report) => (state.heard ? listener(report) : undefined)),
  };
  return client;
}

const recoveryDatabase = useTestDatabase();

const RECOVERY_STORES: [string, () => Promise<SessionStore>][] = [
  ['MemoryStore', async () => new MemoryStore()],
  [
    'PostgreSQL',
    () => openPostgresStore({ connectionString: recoveryDatabase.url, maxConnections: 4 }),
  ],
];

describe.each(RECOVERY_STORES)('recovery in overlapped batches on %s', (_name, open) => {
  it('re-sends every create and verifies every session, two transactions at a time', async () => {
    const store = await open();
    const state = { dropped: new Set<string>(), heard: true };
    const first = await createHarness({
      store,
      agents: AGENTS,
      batchSize: BATCH,
      wrapAgents: (agents) => droppingCreates(agents, state),
    });
    const { counts, watched } = counting(store);
    try {
      for (let index = 0; index < SESSIONS; index += 1) {
        await first.manager.submit(spec({ id: `rc-${index}`, owner: `u${index}` }));
      }
      await runUntil(first, async () => state.dropped.size === SESSIONS);
      state.heard = false;
      const manager = createSessionManager({
        store: watched,
        agents: first.agents,
        clock: first.clock,
        policy: testPolicy,
        batchSize: BATCH,
      });
      const h: Harness = { ...first, manager, notices: [], ticks: [] };
      manager.subscribe((notice) => h.notices.push(notice));
      await manager.recover();
      expect(counts.most).toBe(STAGE_DEPTH);
      // Outbox: a claim, a read of the sessions the answers concern, no transaction for the
      // eight batches of accepted creates, and one that deletes their rows; verification: a
      // claim and eight batches; the second pass over the outbox: a claim that finds nothing.
      expect(counts.total).toBe(1 + 1 + 1 + 1 + 8 + 1);
      expect(await watched.transaction((tx) => tx.dueOutbox(Number.MAX_SAFE_INTEGER, 100))).toEqual(
        [],
      );
      expect(first.agents.calls('createKernels')).toBe(SESSIONS);
      expect(first.agents.calls('inspectKernels')).toBe(SESSIONS);
      await runUntil(
        h,
        async () => h.notices.filter((n) => n.to === 'RUNNING').length === SESSIONS,
      );
      expect(first.agents.liveKernels()).toHaveLength(SESSIONS);
      expect(first.agents.calls('createKernels')).toBe(SESSIONS);
      await expectNoLeaks(h);
    } finally {
      await first.manager.stop();
      await watched.close();
    }
  }, 60_000);
});
