/**
 * A round asks the store what it has to do (`StoreTx.workDue`) and runs only the stages with
 * something to do, unless this manager wrote since it asked. Same transitions, same agent calls,
 * fewer transactions.
 */
import { describe, expect, it } from 'vitest';
import type { FaultRates } from '../src/adapters/agents/faults.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import type { SessionStore, StoreTx } from '../src/manager/ports.js';
import {
  AGENT_CAPACITY,
  createHarness,
  expectNoLeaks,
  type Harness,
  runUntil,
  runUntilStatus,
  spec,
  tick,
} from './manager-harness.js';

/** Replacements for some methods of a transaction, each made from the real transaction. */
type Patch = { [K in keyof StoreTx]?: (tx: StoreTx) => StoreTx[K] };

/** A `MemoryStore` that counts its transactions and hands them out with `patch` applied. */
class PatchedStore implements SessionStore {
  transactions = 0;
  private readonly inner = new MemoryStore();

  constructor(private readonly patch: Patch = {}) {}

  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    this.transactions += 1;
    return this.inner.transaction((tx) =>
      work(
        new Proxy(tx, {
          get: (target, key) => {
            const make = this.patch[key as keyof StoreTx];
            return make ? make(target) : Reflect.get(target, key, target);
          },
        }),
      ),
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A store whose transactions have no `workDue`. */
const WITHOUT_WORK_DUE: Patch = { workDue: () => undefined };

async function harness(hideWorkDue: boolean, options: Parameters<typeof createHarness>[0] = {}) {
  const store = new PatchedStore(hideWorkDue ? WITHOUT_WORK_DUE : {});
  const h = await createHarness({ ...options, store });
  return { h, store };
}

/** Transactions of the next `rounds` idle rounds, per round. */
async function idleCost(h: Harness, store: PatchedStore, rounds: number): Promise<number> {
  const before = store.transactions;
  for (let round = 0; round < rounds; round += 1) await tick(h);
  return (store.transactions - before) / rounds;
}

describe('a round runs only the stages with something to do', () => {
  it('an idle round costs one transaction; without workDue, one per stage that looks', async () => {
    const asked = await harness(false);
    await tick(asked.h); // the first round also places: the agents are new
    expect(await idleCost(asked.h, asked.store, 3)).toBe(1);
    const looked = await harness(true);
    await tick(looked.h);
    // Timers, start, prepare and the outbox: one each (a stage's second batch starts only once
    // its first has claimed a full batch).
    expect(await idleCost(looked.h, looked.store, 3)).toBe(4);
  });

  it('a write in the round lets later stages run: the create goes out at once', async () => {
    const { h } = await harness(false, { latencies: { pull: 500 } });
    const id = await h.manager.submit(spec());
    await runUntilStatus(h, id, 'PREPARING');
    const pulled = await runUntilCreating(h, id);
    // The round that moved the session to CREATING found no outbox row due when it began; the
    // start stage's write made one, and the dispatcher of the same round sent it.
    expect(pulled.dispatched).toBe(1);
    expect(h.agents.callLog().filter((call) => call.op === 'createKernels')).toEqual([
      expect.objectContaining({ sessionId: id, at: h.clock.now() }),
    ]);
  });

  it('a faulty workload: the same transitions and calls as every stage looking', async () => {
    const faults: FaultRates = {
      pullImages: { transient: 0.2 },
      createKernels: { transient: 0.2, ambiguous: 0.1 },
      reorderedReports: 0.1,
      duplicatedReports: 0.1,
    };
    const agents = ['a1', 'a2', 'a3'].map((id) => ({ id, capacity: AGENT_CAPACITY }));
    const options = { agents, faults, latencies: { pull: 300, create: 200 }, seed: 7 };
    const runs = [];
    for (const hide of [false, true]) {
      const { h, store } = await harness(hide, options);
      for (let index = 0; index < 12; index += 1) await h.manager.submit(spec());
      await runUntil(h, undefined, 2_000);
      await expectNoLeaks(h);
      const transitions = h.notices.map(({ sessionId, from, to, at }) => [sessionId, from, to, at]);
      runs.push({ transitions, calls: h.agents.callLog(), ticks: h.ticks, store });
    }
    const [asked, looked] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(asked.transitions.filter(([, , to]) => to === 'RUNNING')).toHaveLength(12);
    expect(asked.calls.some((call) => call.failure !== undefined)).toBe(true);
    expect(asked.transitions).toEqual(looked.transitions);
    expect(asked.calls).toEqual(looked.calls);
    expect(asked.ticks).toEqual(looked.ticks);
    // Every transaction of the run, the harness's own reads included.
    expect([asked.store.transactions, looked.store.transactions]).toEqual([109, 166]);
  });
});

/** Ticks until the session is CREATING; the summary of the round that moved it there. */
async function runUntilCreating(h: Harness, id: string) {
  for (let round = 0; round < 100; round += 1) {
    const next = h.agents.nextDueAt();
    if (next !== undefined && next > h.clock.now()) h.clock.set(next);
    const summary = await tick(h);
    if ((await h.manager.get(id))?.status === 'CREATING') return summary;
  }
  throw new Error(`${id} never reached CREATING`);
}

describe('a round whose look for work fails', () => {
  it('logs it and has every stage look for itself', async () => {
    const failing = new PatchedStore({
      workDue: () => async () => {
        throw new Error('no answer');
      },
    });
    const h = await createHarness({ store: failing });
    const id = await h.manager.submit(spec());
    await runUntilStatus(h, id, 'RUNNING');
    const failed = h.logs.filter((entry) => entry.message === 'looking for work failed');
    expect(failed.length).toBe(h.ticks.length);
    expect(failed[0]).toEqual({
      level: 'error',
      message: 'looking for work failed',
      fields: expect.objectContaining({ err: expect.objectContaining({ message: 'no answer' }) }),
    });
    expect(h.ticks.reduce((sum, t) => sum + t.errors, 0)).toBe(0);
    await expectNoLeaks(h);
  });
});

describe("a stage's second batch", () => {
  it('is not held back by a first batch that failed before claiming', async () => {
    let failures = 1;
    const failing = new PatchedStore({
      claimSessions: (tx) => async (statuses, limit, after) => {
        if (statuses.includes('SCHEDULED') && failures-- > 0) throw new Error('boom');
        return tx.claimSessions(statuses, limit, after);
      },
    });
    const h = await createHarness({ store: failing });
    const id = await h.manager.submit(spec());
    await tick(h); // places it: SCHEDULED
    expect((await h.manager.get(id))?.status).toBe('SCHEDULED');
    expect((await tick(h)).errors).toBe(1);
    expect(h.logs.filter((entry) => entry.message === 'stage failed')).toEqual([
      expect.objectContaining({
        level: 'error',
        fields: expect.objectContaining({ stage: 'prepareStage' }),
      }),
    ]);
    await tick(h);
    expect((await h.manager.get(id))?.status).toBe('PREPARING');
  });
});
