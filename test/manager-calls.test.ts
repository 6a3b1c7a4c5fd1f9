/** The manager's retries, user calls, agent loss, the run loop and batching. */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { SessionBusyError, UnknownSessionError } from '../src/manager/errors.js';
import { createSessionManager } from '../src/manager/manager.js';
import type { SessionStore } from '../src/manager/ports.js';
import {
  createHarness,
  expectNoLeaks,
  HAPPY_PATH,
  type Harness,
  reserved,
  runUntil,
  runUntilStatus,
  spec,
  statusPath,
  testPolicy,
  tick,
  view,
} from './manager-harness.js';

let h: Harness;
afterEach(async () => {
  await expectNoLeaks(h);
});

describe('guarded retries', () => {
  const transient = { class: 'transient', code: 'agent-busy', message: 'busy' } as const;

  it('retries transient create failures on the same agent and ends RUNNING', async () => {
    h = await createHarness();
    h.agents.script({ op: 'createKernels', failure: transient });
    h.agents.script({ op: 'createKernels', failure: transient });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    const session = await view(h, id);
    expect(session.attempts).toEqual({ pull: 1, create: 3 });
    expect(session.reschedules).toBe(0);
    expect(h.agents.calls('createKernels')).toBe(3);
    const creates = h.agents.callLog().filter((call) => call.op === 'createKernels');
    expect(creates.map((call) => call.key)).toEqual([
      's1/a1/create/1',
      's1/a1/create/2',
      's1/a1/create/3',
    ]);
    // Backoff without jitter: 1 s, then 2 s.
    expect(creates.map((call) => call.at - creates[0]!.at)).toEqual([0, 1_000, 3_000]);
    expect(statusPath(session)).toEqual(HAPPY_PATH);
  });

  it('retries transient pull failures, ends RUNNING, pull attempts counted', async () => {
    h = await createHarness();
    const registry = { class: 'transient', code: 'registry-unavailable', message: '503' } as const;
    h.agents.script({ op: 'pullImages', failure: registry });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    expect((await view(h, id)).attempts).toEqual({ pull: 2, create: 1 });
    expect(h.agents.calls('pullImages')).toBe(2);
  });

  it('gives up with create-retries-exhausted when every attempt fails', async () => {
    h = await createHarness();
    for (let i = 0; i < testPolicy.create.maxAttempts; i += 1) {
      h.agents.script({ op: 'createKernels', failure: transient });
    }
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'CANCELLED');
    const session = await view(h, id);
    expect(session.reason).toBe('create-retries-exhausted');
    expect(session.attempts.create).toBe(5);
    expect(h.agents.calls('createKernels')).toBe(5);
    expect(reserved(h, 'a1')).toEqual({});
  });
});

describe('user calls', () => {
  it('reject unknown ids with UnknownSessionError', async () => {
    h = await createHarness();
    await expect(h.manager.cancel('ghost')).rejects.toThrow(UnknownSessionError);
    await expect(h.manager.terminate('ghost')).rejects.toThrow(
      'unknown session "ghost": no session has this id; use the id that submit() returned',
    );
    expect(await h.manager.get('ghost')).toBeUndefined();
  });

  it('cancel releases the slots and destroys created kernels', async () => {
    h = await createHarness();
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    await h.manager.cancel(id, 'user-cancelled');
    expect((await view(h, id)).status).toBe('CANCELLED');
    expect(reserved(h, 'a1')).toEqual({});
    await runUntil(h);
    expect(h.agents.liveKernels()).toEqual([]);
    expect(h.agents.calls('destroyKernels')).toBe(1);
  });

  it('ignores a cancel of a session already final', async () => {
    h = await createHarness();
    const id = await h.manager.submit(spec({ id: 's1' }));
    await h.manager.cancel(id);
    const version = (await view(h, id)).version;
    await h.manager.cancel(id);
    expect((await view(h, id)).version).toBe(version);
  });

  it('gives up with SessionBusyError when the session changes under every try', async () => {
    h = await createHarness();
    const id = await h.manager.submit(spec({ id: 's1' }));
    const before = await view(h, id);
    // A store on which every write finds the session moved on (another writer always first).
    let tries = 0;
    const busy: SessionStore = {
      transaction: (work) =>
        h.store.transaction((tx) => {
          const wrapped = Object.create(tx);
          wrapped.apply = async () => {
            tries += 1;
            return { ok: false, conflict: 'version', actual: 99 };
          };
          wrapped.applyMany = undefined;
          return work(wrapped);
        }),
      close: () => h.store.close(),
    };
    const manager = createSessionManager({ store: busy, agents: h.agents, clock: h.clock });
    const error = await manager.cancel(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionBusyError);
    expect(error).toMatchObject({ code: 'session-busy', retryable: true, sessionId: id, tries: 6 });
    expect((error as Error).message).toBe(
      'session "s1" changed under CANCEL 6 times in a row: nothing was applied, call again',
    );
    expect(tries).toBe(6);
    expect(await view(h, id)).toEqual(before);
  });
});

describe('agent loss', () => {
  it('ends a RUNNING session on a lost agent in ERROR; the agent leaves placement', async () => {
    h = await createHarness();
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    h.agents.loseAgent('a1');
    await runUntil(h);
    const session = await view(h, id);
    expect(session.status).toBe('ERROR');
    expect(session.reason).toBe('agent-lost');
    expect(reserved(h, 'a1')).toEqual({});
    expect(h.store.stats().agents[0]?.schedulable).toBe(false);
    const next = await h.manager.submit(spec({ id: 's2' }));
    await tick(h);
    expect((await view(h, next)).lastPlacementFailure?.predicate).toBe('capacity');
  });
});

describe('run and stop', () => {
  it('ticks in real time until stopped, and stop waits for the tick in progress', async () => {
    h = await createHarness();
    const id = await h.manager.submit(spec({ id: 's1' }));
    h.manager.run(1);
    for (let waited = 0; waited < 2_000; waited += 5) {
      if ((await view(h, id)).status !== 'PENDING') break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await h.manager.stop();
    const stopped = await view(h, id);
    expect(stopped.status).not.toBe('PENDING');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await view(h, id)).version).toBe(stopped.version);
  });

  it('stop waits for the reports being applied', async () => {
    const memory = new MemoryStore();
    // While `held` is set, a transaction that has done its work waits for it before committing.
    let held: Promise<void> | undefined;
    const store: SessionStore = {
      transaction: (work) =>
        memory.transaction(async (tx) => {
          const result = await work(tx);
          await held;
          return result;
        }),
      close: () => memory.close(),
    };
    h = await createHarness({ store });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    const before = (await view(h, id)).version;
    let release = () => {};
    held = new Promise((resolve) => {
      release = resolve;
    });
    expect(h.agents.exitKernel('a1', id, 'k0')).toBe(1);
    const delivery = h.agents.deliverDueAsync();
    let stopped = false;
    const stopping = h.manager.stop().then(() => {
      stopped = true;
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(stopped).toBe(false);
    } finally {
      held = undefined;
      release();
    }
    await stopping;
    // Resolved only once the report's transaction had committed.
    const after = await memory.transaction((tx) => tx.getSessions([id]));
    expect(after.map((row) => [row.status, row.version])).toEqual([['TERMINATED', before + 1]]);
    expect(await delivery).toBe(1);
  });

  it('rejects a negative interval', async () => {
    h = await createHarness();
    expect(() => h.manager.run(-1)).toThrow(
      new RangeError('intervalMs is -1: it must be a non-negative number'),
    );
  });
});

describe('batches', () => {
  it('runs more sessions than one batch through every stage in the same tick', async () => {
    h = await createHarness({ batchSize: 2 });
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      ids.push(await h.manager.submit(spec({ kernels: [{ slots: { cpu: 500 } }] })));
    }
    await tick(h);
    for (const id of ids) expect((await view(h, id)).status).toBe('SCHEDULED');
    const summary = await tick(h);
    expect(summary.dispatched).toBe(5);
    for (const id of ids) expect((await view(h, id)).status).toBe('PREPARING');
    await runUntil(h);
    for (const id of ids) expect((await view(h, id)).status).toBe('RUNNING');
    expect(reserved(h, 'a1')).toEqual({ cpu: 2500 });
  });

  it.each([
    ['fifo, no owner limit', {}, 0],
    ['drf', { picker: 'drf' as const }, 3],
    ['fifo, an owner limit', { limits: { maxConcurrentPerOwner: 1 } }, 3],
  ])('reads what owners hold only when placement uses it (%s)', async (_name, options, reads) => {
    const memory = new MemoryStore();
    let ownerReads = 0;
    const store: SessionStore = {
      transaction: (work) =>
        memory.transaction((tx) => {
          const watched = Object.create(tx) as typeof tx;
          watched.ownerUsage = (statuses) => {
            ownerReads += 1;
            return tx.ownerUsage(statuses);
          };
          return work(watched);
        }),
      close: () => memory.close(),
    };
    h = await createHarness({ ...options, store, batchSize: 2 });
    const owners = ['alice', 'bob', 'alice', 'carol', 'bob'];
    const ids: string[] = [];
    for (const [index, owner] of owners.entries()) {
      const kernels = [{ slots: { cpu: 500 } }];
      ids.push(await h.manager.submit(spec({ id: `o${index}`, owner, kernels })));
    }
    await tick(h);
    // Five sessions in batches of two: three schedule batches, each reading the owners or not.
    expect(ownerReads).toBe(reads);
    const statuses = await Promise.all(ids.map(async (id) => (await view(h, id)).status));
    const limited = 'limits' in options;
    expect(statuses).toEqual(
      limited
        ? ['SCHEDULED', 'SCHEDULED', 'PENDING', 'SCHEDULED', 'PENDING']
        : ['SCHEDULED', 'SCHEDULED', 'SCHEDULED', 'SCHEDULED', 'SCHEDULED'],
    );
    h = { ...h, store: memory };
  });

  it('refuses a batch size that is not a positive integer', async () => {
    h = await createHarness();
    expect(() =>
      createSessionManager({
        store: new MemoryStore(),
        agents: h.agents,
        clock: h.clock,
        batchSize: 0,
      }),
    ).toThrow(new RangeError('batchSize is 0: it must be a positive integer'));
  });
});
