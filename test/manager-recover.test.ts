/** `recover()`: outbox rows re-dispatched, CREATING sessions verified on their agents. */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { ManualClock } from '../src/manager/clock.js';
import { createSessionManager } from '../src/manager/manager.js';
import type { AgentClient, SessionStore, StoreTx } from '../src/manager/ports.js';
import type { SessionManager, TransitionNotice } from '../src/manager/types.js';
import {
  AGENT_CAPACITY,
  expectNoLeaks,
  type Harness,
  runUntil,
  runUntilStatus,
  spec,
  testPolicy,
} from './manager-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  if (h) await expectNoLeaks(h);
  h = undefined;
});

function harness(
  store: SessionStore,
  agents: SimulatedAgents,
  clock: ManualClock,
  manager: SessionManager,
) {
  return { store, agents, clock, manager, logs: [], notices: [], ticks: [] } as unknown as Harness;
}

/** The fleet, with reports passed on only while `open()` holds. */
function gated(agents: SimulatedAgents, open: () => boolean, patch: Partial<AgentClient> = {}) {
  const client: AgentClient = {
    pullImages: (effect) => agents.pullImages(effect),
    createKernels: (effect) => agents.createKernels(effect),
    inspectKernels: (effect) => agents.inspectKernels(effect),
    destroyKernels: (effect) => agents.destroyKernels(effect),
    onReport: (listener) => agents.onReport((report) => (open() ? listener(report) : undefined)),
  };
  return { ...client, ...patch };
}

/**
 * A memory store, agent a1 and a first manager on them, its agent client `gated` by `open` and
 * patched with what `patch` makes of the fleet.
 */
async function firstManager(
  open: () => boolean,
  patch: (agents: SimulatedAgents) => Partial<AgentClient> = () => ({}),
) {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const agents = new SimulatedAgents({ clock });
  agents.addAgent({ id: 'a1', capacity: AGENT_CAPACITY });
  const client = gated(agents, open, patch(agents));
  const first = createSessionManager({ store, clock, policy: testPolicy, agents: client });
  await first.registerAgent({ id: 'a1', capacity: AGENT_CAPACITY, schedulable: true });
  return { store, clock, agents, first };
}

/** A first manager drives `ids` to CREATING, then stops listening: reports reach nobody. */
async function creatingThenCrash(patch: Partial<AgentClient> = {}, ids = ['s1']) {
  let listening = true;
  const { store, clock, agents, first } = await firstManager(
    () => listening,
    () => patch,
  );
  for (const id of ids) await first.submit(spec({ id }));
  h = harness(store, agents, clock, first);
  await runUntil(h, async () => {
    const statuses = await store.transaction((tx) => tx.statusOf(ids));
    return ids.every((id) => statuses.get(id) === 'CREATING');
  });
  listening = false;
  return { store, clock, agents, id: ids[0] as string };
}

/** A fresh manager on `store` after `recover()`, with the notices recovery published. */
async function recovered(store: SessionStore, clock: ManualClock, agents: SimulatedAgents) {
  const manager = createSessionManager({ store, clock, policy: testPolicy, agents });
  const notices: TransitionNotice[] = [];
  manager.subscribe((notice) => notices.push(notice));
  await manager.recover();
  return { manager, notices };
}

/** Counts `getSessions` calls made through the store. */
function countingReads(store: SessionStore) {
  const counts = { getSessions: 0 };
  const counted: SessionStore = {
    transaction: (work) =>
      store.transaction((tx) => {
        const wrapped = Object.create(tx) as StoreTx;
        wrapped.getSessions = (ids) => {
          counts.getSessions += 1;
          return tx.getSessions(ids);
        };
        return work(wrapped);
      }),
    close: () => store.close(),
  };
  return { counted, counts };
}

describe('recover', () => {
  it('re-dispatches an outbox row left by a manager that died mid-call', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(0);
    const agents = new SimulatedAgents({ clock });
    agents.addAgent({ id: 'a1', capacity: AGENT_CAPACITY });
    const dying = createSessionManager({
      store,
      clock,
      policy: testPolicy,
      agents: gated(agents, () => true, { pullImages: () => new Promise(() => {}) }),
    });
    await dying.registerAgent({ id: 'a1', capacity: AGENT_CAPACITY, schedulable: true });
    const id = await dying.submit(spec({ id: 's1' }));
    await dying.tick();
    void dying.tick(); // hangs in the pull call, its row leased
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await store.transaction((tx) => tx.dueOutbox(clock.now(), 10))).length).toBe(0);

    const manager = createSessionManager({ store, agents, clock, policy: testPolicy });
    await manager.recover();
    expect(agents.calls('pullImages', { key: 's1/a1/pull/1' })).toBe(1);
    h = harness(store, agents, clock, manager);
    await runUntilStatus(h, id, 'RUNNING');
    expect(agents.calls('createKernels')).toBe(1);
  });

  it('moves a session whose kernel started unseen to RUNNING in one transition', async () => {
    const { store, clock, agents, id } = await creatingThenCrash();
    clock.advance(10_000);
    expect(agents.deliverDue()).toBe(2); // creating and started, to nobody
    const { manager, notices } = await recovered(store, clock, agents);
    expect(notices.map(({ from, to, substate }) => [from, to, substate])).toEqual([
      ['CREATING', 'RUNNING', ''],
    ]);
    const session = await manager.get(id);
    expect(session?.status).toBe('RUNNING');
    expect(agents.calls('createKernels')).toBe(1);
    expect(agents.calls('inspectKernels')).toBe(1);
    expect(await store.transaction((tx) => tx.dueOutbox(Number.MAX_SAFE_INTEGER, 10))).toEqual([]);
    h = harness(store, agents, clock, manager);
  });

  it('records a kernel still being created and lets its report finish the start', async () => {
    const { store, clock, agents, id } = await creatingThenCrash();
    const { manager, notices } = await recovered(store, clock, agents);
    expect(notices).toEqual([]);
    expect((await manager.get(id))?.substate).toBe('creating');
    expect(agents.calls('inspectKernels')).toBe(1);
    h = harness(store, agents, clock, manager);
    await runUntilStatus(h, id, 'RUNNING');
    expect(agents.calls('createKernels')).toBe(1);
    expect(agents.calls('inspectKernels')).toBe(1);
  });

  it('hands a kernel missing on its agent to the chart, which verifies first', async () => {
    let dropped = 0;
    const { store, clock, agents, id } = await creatingThenCrash({
      // The first create is accepted and lost: the agent never makes the kernel.
      createKernels: async (effect) => {
        if (dropped++ === 0) return { ok: true };
        return agents.createKernels(effect);
      },
    });
    const { manager, notices } = await recovered(store, clock, agents);
    // The direct inspection finds nothing: VERIFY. The chart's own inspection, sent through the
    // outbox before recover() returns, finds nothing either: the create failed, retry later.
    expect(notices.map(({ to, substate }) => [to, substate])).toEqual([
      ['CREATING', 'verifying.waiting'],
      ['CREATING', 'backoff'],
    ]);
    expect(agents.calls('inspectKernels')).toBe(2);
    h = harness(store, agents, clock, manager);
    await runUntilStatus(h, id, 'RUNNING');
    expect(agents.calls('createKernels')).toBe(1);
    expect(agents.calls('inspectKernels')).toBe(2);
  });
});

describe('recover: answers that concern their session', () => {
  it('sends a failed re-dispatched pull to its session, and settles every batch', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(0);
    const agents = new SimulatedAgents({ clock });
    agents.addAgent({ id: 'a1', capacity: AGENT_CAPACITY });
    const hanging = { pullImages: () => new Promise<never>(() => {}) };
    const dying = createSessionManager({
      store,
      clock,
      policy: testPolicy,
      agents: gated(agents, () => true, hanging),
    });
    await dying.registerAgent({ id: 'a1', capacity: AGENT_CAPACITY, schedulable: true });
    for (const name of ['s1', 's2', 's3']) await dying.submit(spec({ id: name }));
    await dying.tick();
    void dying.tick(); // hangs in the three pulls, their rows leased
    await new Promise((resolve) => setTimeout(resolve, 10));

    // The agent refuses s2's pull once (busy); batches of one row each.
    let refused = 0;
    const manager = createSessionManager({
      store,
      clock,
      policy: testPolicy,
      batchSize: 1,
      agents: gated(agents, () => true, {
        pullImages: async (effect) => {
          if (effect.sessionId === 's2' && refused++ === 0) {
            const failure = { class: 'transient' as const, code: 'busy', message: 'agent busy' };
            return { ok: false, failure };
          }
          return agents.pullImages(effect);
        },
      }),
    });
    const notices: TransitionNotice[] = [];
    manager.subscribe((notice) => notices.push(notice));
    await manager.recover();
    expect(notices.map(({ sessionId, to, substate }) => [sessionId, to, substate])).toEqual([
      ['s2', 'PREPARING', 'backoff'],
    ]);
    expect(await store.transaction((tx) => tx.dueOutbox(Number.MAX_SAFE_INTEGER, 10))).toEqual([]);
    expect(agents.calls('pullImages')).toBe(2);
    h = harness(store, agents, clock, manager);
    for (const name of ['s1', 's2', 's3']) await runUntilStatus(h, name, 'RUNNING');
    expect(agents.calls('pullImages', { sessionId: 's2' })).toBe(1);
  });
});

/** A first manager whose create reaches a1 and makes the kernel; its answer is lost. */
async function createSentAnswerLost() {
  // The create reaches the agent; its answer is lost (the connection drops), and the manager
  // stops there.
  let sent = false;
  const { store, clock, agents, first } = await firstManager(
    () => !sent,
    (fleet) => ({
      createKernels: async (effect) => {
        await fleet.createKernels(effect);
        sent = true;
        throw new Error('connection reset');
      },
    }),
  );
  const id = await first.submit(spec({ id: 's1' }));
  h = harness(store, agents, clock, first);
  await runUntil(h, async () => sent);
  expect(agents.liveKernels()).toHaveLength(1);
  return { store, clock, agents, id };
}

describe('recover: a create sent again and refused', () => {
  // Every refusal of the re-sent create, whatever its class: the agent may refuse because of the
  // kernel the first send made (busy with it, out of capacity, taking no more placements).
  it.each([
    { class: 'transient', code: 'agent-busy', message: 'agent busy' },
    { class: 'agent', code: 'agent-unschedulable', message: 'agent takes no placements' },
    { class: 'agent', code: 'insufficient-capacity', message: 'agent full' },
    { class: 'permanent', code: 'invalid-kernel-spec', message: 'bad spec' },
  ] as const)('inspects before anything else when refused $class $code', async (refusal) => {
    const { store, clock, agents, id } = await createSentAnswerLost();
    // The re-sent create is turned away at the door, nothing done.
    agents.script({ sessionId: 's1', op: 'createKernels', failure: refusal });
    const { manager, notices } = await recovered(store, clock, agents);
    // Refused again, the create counts as ambiguous: the chart inspects, finds the kernel being
    // created by the first send, and waits for it (no second attempt, no reschedule).
    expect(notices.map(({ to, substate }) => [to, substate])).toEqual([
      ['CREATING', 'verifying.waiting'],
      ['CREATING', 'creating'],
    ]);
    expect(agents.calls('inspectKernels')).toBe(1);
    h = harness(store, agents, clock, manager);
    await runUntilStatus(h, id, 'RUNNING');
    // One kernel, made by the first send, on the agent it was placed on.
    expect(agents.liveKernels().map((kernel) => [kernel.agentId, kernel.key])).toEqual([
      ['a1', 's1/a1/create/1'],
    ]);
    const session = await manager.get(id);
    expect([session?.attempts.create, session?.reschedules]).toEqual([1, 0]);
  });

  it('takes a lost agent at its word: its kernels went with it, nothing to inspect', async () => {
    const { store, clock, agents, id } = await createSentAnswerLost();
    agents.loseAgent('a1');
    const { manager, notices } = await recovered(store, clock, agents);
    h = harness(store, agents, clock, manager);
    expect(agents.calls('inspectKernels')).toBe(0);
    // Rescheduled away from the lost agent at once (no cleanup): nowhere else to go yet.
    expect(notices.map(({ to, substate }) => [to, substate])).toEqual([['PENDING', '']]);
    expect(agents.liveKernels()).toEqual([]);
    const session = await manager.get(id);
    expect([session?.status, session?.reschedules, session?.placement]).toEqual(['PENDING', 1, {}]);
    expect(session?.lastFailure?.code).toBe('agent-lost');
  });
});

describe('recover: a store that fails mid-way', () => {
  it('rejects with the store error met while the next batch is decided', async () => {
    const { store, clock, agents } = await creatingThenCrash({}, ['s1', 's2', 's3']);
    clock.advance(10_000);
    agents.deliverDue();
    // A store whose writes fail from the second verification batch on.
    let writes = 0;
    const failing: SessionStore = {
      transaction: (work) =>
        store.transaction((tx) => {
          const wrapped = Object.create(tx) as StoreTx;
          wrapped.applyMany = async (batch) => {
            writes += 1;
            if (writes >= 2) throw new Error('disk full');
            return tx.applyMany ? tx.applyMany(batch) : [];
          };
          return work(wrapped);
        }),
      close: () => store.close(),
    };
    const slowInspect = {
      inspectKernels: async (effect: Parameters<AgentClient['inspectKernels']>[0]) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return agents.inspectKernels(effect);
      },
    };
    const manager = createSessionManager({
      store: failing,
      clock,
      policy: testPolicy,
      batchSize: 1,
      agents: gated(agents, () => true, slowInspect),
    });
    await expect(manager.recover()).rejects.toThrow('disk full');
    const statuses = await store.transaction((tx) => tx.statusOf(['s1', 's2', 's3']));
    expect([...statuses.values()].sort()).toEqual(['CREATING', 'CREATING', 'RUNNING']);
    // A manager on the healthy store finishes the job.
    const healthy = createSessionManager({ store, clock, policy: testPolicy, agents });
    await healthy.recover();
    h = harness(store, agents, clock, healthy);
    for (const name of ['s1', 's2', 's3']) await runUntilStatus(h, name, 'RUNNING');
    expect(agents.calls('createKernels')).toBe(3);
  });
});

describe('dispatch', () => {
  it('sends a call its session has not moved past without reading the session', async () => {
    const { counted, counts } = countingReads(new MemoryStore());
    const clock = new ManualClock(0);
    const agents = new SimulatedAgents({ clock });
    agents.addAgent({ id: 'a1', capacity: AGENT_CAPACITY });
    const manager = createSessionManager({ store: counted, clock, policy: testPolicy, agents });
    await manager.registerAgent({ id: 'a1', capacity: AGENT_CAPACITY, schedulable: true });
    for (const name of ['s1', 's2', 's3']) await manager.submit(spec({ id: name }));
    await manager.tick(); // scheduled
    counts.getSessions = 0;
    const summary = await manager.tick(); // PREPARING: three pulls dispatched, all accepted
    expect(summary.dispatched).toBe(3);
    expect(agents.calls('pullImages')).toBe(3);
    // Submit's duplicate check aside, no session was read to dispatch or settle the pulls.
    expect(counts.getSessions).toBe(0);
    h = harness(counted, agents, clock, manager);
    for (const name of ['s1', 's2', 's3']) await runUntilStatus(h, name, 'RUNNING');
  });
});
