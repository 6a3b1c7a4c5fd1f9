import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { ManualClock } from '../src/manager/clock.js';
import {
  AgentBindingError,
  DuplicateSessionError,
  SessionBusyError,
  SpecError,
  UnknownKernelError,
  UnknownSessionError,
} from '../src/manager/errors.js';
import { createSessionManager } from '../src/manager/manager.js';
import type { AgentReport, SessionStore } from '../src/manager/ports.js';
import type { SubmitSpec } from '../src/manager/types.js';
import {
  AGENT_CAPACITY,
  createHarness,
  expectNoLeaks,
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

async function sessionCount(): Promise<number> {
  return h.store.transaction(async (tx) => (await tx.statuses()).size);
}

describe('submit rejects bad specs with a typed error naming the field', () => {
  const base = spec();
  const cases: [string, unknown, string, string][] = [
    [
      'a missing image',
      { owner: 'alice', kernels: base.kernels },
      'image',
      'spec.image must be a non-empty string (the container image), got undefined',
    ],
    [
      'a negative slot',
      { ...base, kernels: [{ slots: { cpu: -1 } }] },
      'kernels[0].slots.cpu',
      'spec.kernels[0].slots.cpu must be a non-negative integer (millicores), got -1',
    ],
    [
      'a fractional slot',
      { ...base, kernels: [{ slots: { cpu: 1000 } }, { slots: { mem: 0.5 } }] },
      'kernels[1].slots.mem',
      'spec.kernels[1].slots.mem must be a non-negative integer (MiB), got 0.5',
    ],
    [
      'an unknown slot',
      { ...base, kernels: [{ slots: { tpu: 1 } }] },
      'kernels[0].slots',
      'spec.kernels[0].slots has an unknown slot "tpu"; allowed: cpu, mem, cuda.device, cuda.shares',
    ],
    [
      'no kernels',
      { ...base, kernels: [] },
      'kernels',
      'spec.kernels must be a non-empty array of kernels, each { slots }, got []',
    ],
  ];

  for (const [name, input, field, message] of cases) {
    it(`rejects ${name}`, async () => {
      h = await createHarness();
      const rejection = h.manager.submit(input as SubmitSpec);
      await expect(rejection).rejects.toThrow(SpecError);
      await expect(rejection).rejects.toMatchObject({ field, message });
      expect(await sessionCount()).toBe(0);
    });
  }

  it('rejects an unknown dependency, naming its index in dependsOn', async () => {
    h = await createHarness();
    await h.manager.submit(spec({ id: 'known' }));
    const rejection = h.manager.submit(spec({ dependsOn: ['known', 'ghost'] }));
    await expect(rejection).rejects.toThrow(SpecError);
    await expect(rejection).rejects.toMatchObject({
      field: 'dependsOn[1]',
      message: 'spec.dependsOn[1] must be the id of an existing session, got "ghost"',
    });
    expect(await sessionCount()).toBe(1);
  });

  it('rejects a second session with the same id and keeps the first', async () => {
    h = await createHarness();
    await h.manager.submit(spec({ id: 's1', owner: 'alice' }));
    const rejection = h.manager.submit(spec({ id: 's1', owner: 'bob' }));
    await expect(rejection).rejects.toThrow(DuplicateSessionError);
    await expect(rejection).rejects.toThrow(
      'session "s1" already exists; submit with another id, or leave id out to have one generated',
    );
    expect((await view(h, 's1')).owner).toBe('alice');
  });

  it('generates distinct ids when none is given', async () => {
    h = await createHarness();
    const first = await h.manager.submit(spec());
    const second = await h.manager.submit(spec());
    expect(first).toMatch(/^s-[0-9a-z]{10}$/);
    expect(second).not.toBe(first);
  });
});

describe('receive rejects reports that do not fit, changing nothing', () => {
  async function placedSession(): Promise<{ id: string; version: number }> {
    h = await createHarness({
      agents: [
        { id: 'a1', capacity: AGENT_CAPACITY },
        { id: 'a2', capacity: AGENT_CAPACITY },
      ],
    });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    return { id, version: (await view(h, id)).version };
  }

  const cases: [string, AgentReport, new (...args: never[]) => Error, string][] = [
    [
      'an unknown session',
      { type: 'kernel.started', agentId: 'a1', sessionId: 'nope', kernelId: 'k0', attempt: 1 },
      UnknownSessionError,
      'unknown session "nope": no session has this id; use the id that submit() returned',
    ],
    [
      'an unknown kernel',
      {
        type: 'kernel.terminated',
        agentId: 'a1',
        sessionId: 's1',
        kernelId: 'k7',
        outcome: 'TERMINATED',
      },
      UnknownKernelError,
      'session "s1" has no kernel "k7" (its kernels: k0); check the kernel id the agent reported',
    ],
    [
      'a kernel report from another agent',
      {
        type: 'kernel.terminated',
        agentId: 'a2',
        sessionId: 's1',
        kernelId: 'k0',
        outcome: 'TERMINATED',
      },
      AgentBindingError,
      'agent "a2" reported on kernel "k0" of session "s1", which is bound to a1; ' +
        'reports are accepted only from the agent a kernel is bound to',
    ],
    [
      'an image report from an agent without kernels of the session',
      { type: 'image.pulled', agentId: 'a2', sessionId: 's1', attempt: 1 },
      AgentBindingError,
      'agent "a2" reported on session "s1", which is bound to a1; ' +
        'reports are accepted only from the agent a kernel is bound to',
    ],
  ];

  for (const [name, report, errorClass, message] of cases) {
    it(`rejects ${name}`, async () => {
      const { id, version } = await placedSession();
      const rejection = h.manager.receive(report);
      await expect(rejection).rejects.toThrow(errorClass);
      await expect(rejection).rejects.toThrow(message);
      const session = await view(h, id);
      expect(session.status).toBe('RUNNING');
      expect(session.version).toBe(version);
      expect(reserved(h, 'a1')).toEqual({ cpu: 1000, mem: 1024 });
    });
  }

  it('applies reports sent in the same turn in one batch and resolves after applying', async () => {
    h = await createHarness();
    const id = await h.manager.submit(
      spec({ id: 's1', kernels: [{ slots: { cpu: 100 } }, { slots: { cpu: 100 } }] }),
    );
    await runUntil(h, async () => (await view(h, id)).status === 'CREATING');
    const base = { agentId: 'a1', sessionId: id, attempt: 1 } as const;
    await Promise.all([
      h.manager.receive({ type: 'kernel.started', ...base, kernelId: 'k0' }),
      h.manager.receive({ type: 'kernel.started', ...base, kernelId: 'k1' }),
    ]);
    expect((await view(h, id)).status).toBe('RUNNING');
  });
});

describe('subscriptions', () => {
  it('fire after the transition is committed, never inside a transaction', async () => {
    const store = new MemoryStore();
    let open = 0;
    const watched: SessionStore = {
      async transaction(work) {
        open += 1;
        try {
          return await store.transaction(work);
        } finally {
          open -= 1;
        }
      },
      close: () => store.close(),
    };
    const clock = new ManualClock(0);
    const agents = new SimulatedAgents({ clock });
    agents.addAgent({ id: 'a1', capacity: AGENT_CAPACITY });
    const manager = createSessionManager({ store: watched, agents, clock, policy: testPolicy });
    await manager.registerAgent({ id: 'a1', capacity: AGENT_CAPACITY, schedulable: true });
    const seen: [string, number][] = [];
    const unsubscribe = manager.subscribe((notice) => seen.push([notice.to, open]));
    const id = await manager.submit(spec({ id: 's1' }));
    await manager.tick();
    await manager.tick();
    unsubscribe();
    await manager.cancel(id);
    expect(seen).toEqual([
      ['PENDING', 0],
      ['SCHEDULED', 0],
      ['PREPARING', 0],
    ]);
    expect((await manager.get(id))?.status).toBe('CANCELLED');
    h = { store, agents } as unknown as Harness;
  });

  it('keep notifying the others when one listener throws, and log it', async () => {
    h = await createHarness();
    h.manager.subscribe(() => {
      throw new Error('listener bug');
    });
    await h.manager.submit(spec({ id: 's1' }));
    await tick(h);
    expect(h.notices.map((notice) => notice.to)).toEqual(['PENDING', 'SCHEDULED']);
    const errors = h.logs.filter((entry) => entry.message === 'subscriber threw');
    expect(errors.map((entry) => entry.fields.sessionId)).toEqual(['s1', 's1']);
  });
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
    expect(statusPath(session)).toEqual([
      'PENDING',
      'SCHEDULED',
      'PREPARING',
      'PREPARED',
      'CREATING',
      'RUNNING',
    ]);
  });

  it('retries transient pull failures and ends RUNNING with the pull attempts counted', async () => {
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
  it('ends a RUNNING session on a lost agent in ERROR and takes the agent out of placement', async () => {
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
