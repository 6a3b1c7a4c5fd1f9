/**
 * Two managers on one PostgreSQL database lock agent rows in one order, so one waits for the
 * other instead of deadlocking. Each test holds the first manager's transaction right after it
 * has locked its first agents, lets the second manager cancel a session placed on both agents
 * (it locks `a`, then waits for `b` or for `a`), then lets the first go on. A transaction that
 * locked agents in two steps, `b` before `a`, deadlocked there (SQLSTATE 40P01).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/adapters/store/sql/postgres.js';
import type { AgentReport } from '../src/manager/ports.js';
import { LockGate, someoneWaits } from './helpers/lock-gate.js';
import { createTestDatabase, type TestDatabase, truncateStore } from './helpers/postgres.js';
import {
  AGENT_CAPACITY,
  agentRows,
  createHarness,
  expectNoLeaks,
  type Harness,
  runUntil,
  runUntilStatus,
  spec,
  tick,
  view,
} from './manager-harness.js';

const AGENTS = [
  { id: 'a', capacity: AGENT_CAPACITY },
  { id: 'b', capacity: AGENT_CAPACITY },
];
const BUSY = { class: 'transient', code: 'agent-busy', message: 'busy' } as const;
/** How long TERMINATING waits for its destroy before it ends anyway (the default policy's). */
const CLEANUP_TIMEOUT_MS = 120_000;

let database: TestDatabase;
let gate: LockGate;
let first: Harness;
let second: Harness;
/** The single-kernel sessions left TERMINATING on `a` and on `b`; `b`'s timer is due first. */
let onA: string;
let onB: string;

beforeAll(async () => {
  database = await createTestDatabase('sl_locks');
});
afterAll(async () => {
  await database.drop();
});
beforeEach(async () => {
  const store = await openPostgresStore({ connectionString: database.url });
  await truncateStore(store);
  gate = new LockGate(store);
  first = await createHarness({ store: gate, agents: AGENTS, selector: 'dispersed' });
  const other = await openPostgresStore({ connectionString: database.url });
  second = await createHarness({ store: other, agents: AGENTS, selector: 'dispersed' });
  await setUp();
});
afterEach(async () => {
  await runUntil(first);
  await expectNoLeaks(first);
  await first.store.close();
  await second.store.close();
});

/**
 * Two running sessions, one per agent, terminated while their agents are too busy to destroy
 * (`b`'s first): each waits in TERMINATING with its destroy to retry and its cleanup timer set.
 * Then `t` and `u`, two kernels each, one on `a` and one on `b`, placed and left SCHEDULED.
 */
async function setUp(): Promise<void> {
  const one = await first.manager.submit(spec());
  const two = await first.manager.submit(spec());
  for (const id of [one, two]) await runUntilStatus(first, id, 'RUNNING');
  [onA, onB] = (await view(first, one)).placement.k0 === 'a' ? [one, two] : [two, one];
  for (const id of [onB, onA]) {
    first.agents.script({ op: 'destroyKernels', sessionId: id, failure: BUSY });
    await first.manager.terminate(id);
    first.clock.set(first.clock.now() + 1_000);
  }
  const pair = { kernels: [{ slots: { cpu: 1000 } }, { slots: { cpu: 1000 } }] };
  await first.manager.submit(spec({ id: 't', ...pair }));
  await first.manager.submit(spec({ id: 'u', ...pair }));
  await tick(first);
  expect((await view(first, 't')).placement).toEqual({ k0: 'a', k1: 'b' });
  expect(await statuses()).toEqual(['TERMINATING', 'TERMINATING', 'SCHEDULED', 'SCHEDULED']);
  expect(await reservedCpu()).toEqual({ a: 3000, b: 3000 });
}

async function statuses(): Promise<string[]> {
  return Promise.all([onA, onB, 't', 'u'].map(async (id) => (await view(first, id)).status));
}

async function reservedCpu(): Promise<Record<string, number>> {
  const rows = await agentRows(first);
  return Object.fromEntries(rows.map((row) => [row.id, row.reserved.cpu ?? 0]));
}

/**
 * Runs `work` on the first manager until it has locked its first agents, cancels `t` on the
 * second (which then waits for the first), and lets the first go on. Both must succeed.
 */
async function interleave(work: () => Promise<unknown>): Promise<void> {
  const held = gate.arm();
  const running = work();
  await held;
  second.clock.set(first.clock.now());
  const cancelled = second.manager.cancel('t');
  await someoneWaits(database.url, database.name);
  gate.release();
  await Promise.all([running, cancelled]);
  const errors = (h: Harness) => h.logs.filter((entry) => entry.level === 'error');
  expect([...errors(first), ...errors(second)]).toEqual([]);
}

function destroyed(sessionId: string, agentId: string): AgentReport {
  return { type: 'kernel.terminated', agentId, sessionId, kernelId: 'k0', outcome: 'TERMINATED' };
}

describe('two managers locking the same agents on PostgreSQL', () => {
  it('fires cleanup timers on two agents while the other cancels a session on both', async () => {
    first.clock.set(first.clock.now() + CLEANUP_TIMEOUT_MS);
    await interleave(() => tick(first));
    expect(await statuses()).toEqual(['TERMINATED', 'TERMINATED', 'CANCELLED', 'PREPARING']);
    expect(await reservedCpu()).toEqual({ a: 1000, b: 1000 });
  });

  it('handles a lost agent while the other cancels a session on it', async () => {
    await interleave(() => first.manager.receive({ type: 'agent.lost', agentId: 'b' }));
    expect(await statuses()).toEqual(['TERMINATING', 'TERMINATED', 'CANCELLED', 'PENDING']);
    expect(await reservedCpu()).toEqual({ a: 1000, b: 0 });
    const schedulable = (await agentRows(first)).map((row) => [row.id, row.schedulable]);
    expect(schedulable).toEqual([
      ['a', true],
      ['b', false],
    ]);
  });

  it('applies reports queued around an agent loss while the other cancels', async () => {
    await first.manager.registerAgent({ id: 'c', capacity: AGENT_CAPACITY, schedulable: true });
    await interleave(() =>
      Promise.all([
        first.manager.receive(destroyed(onB, 'b')),
        first.manager.receive({ type: 'agent.lost', agentId: 'c' }),
        first.manager.receive(destroyed(onA, 'a')),
      ]),
    );
    expect(await statuses()).toEqual(['TERMINATED', 'TERMINATED', 'CANCELLED', 'SCHEDULED']);
    expect(await reservedCpu()).toEqual({ a: 1000, b: 1000, c: 0 });
  });
});
