import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { ManualClock } from '../src/manager/clock.js';
import {
  AgentBindingError,
  DuplicateSessionError,
  SpecError,
  UnknownKernelError,
  UnknownSessionError,
} from '../src/manager/errors.js';
import { createSessionManager } from '../src/manager/manager.js';
import type { AgentReport, SessionStore, StoreTx, TransitionWrite } from '../src/manager/ports.js';
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
      'spec.kernels[0].slots has an unknown slot "tpu"; allowed: cpu, mem, cuda.device, ' +
        'cuda.shares',
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

  it('generates ids no other manager on the store, or a restarted one, generates', async () => {
    h = await createHarness();
    const { store, agents, clock } = h;
    // Three more managers with the default options share the harness's store; the last one
    // stands for the harness's manager restarted.
    const others = [1, 2, 3].map(() => createSessionManager({ store, agents, clock }));
    const ids = [await h.manager.submit(spec())];
    for (const manager of others) ids.push(await manager.submit(spec()));
    expect(new Set(ids).size).toBe(4);
    expect(await sessionCount()).toBe(4);
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
  it('fire after the transaction that wrote the transition has committed', async () => {
    const store = new MemoryStore();
    // Per session and status: whether the transaction that wrote it has committed yet.
    const written = new Map<string, boolean>();
    const watched: SessionStore = {
      async transaction(work) {
        const mine: string[] = [];
        const result = await store.transaction((tx) => {
          const record = (writes: readonly TransitionWrite[]) => {
            for (const { session } of writes) {
              const key = `${session.id}:${session.status}`;
              mine.push(key);
              written.set(key, false);
            }
          };
          const wrapped = Object.create(tx) as StoreTx;
          wrapped.apply = (write) => {
            record([write]);
            return tx.apply(write);
          };
          if (tx.applyMany) {
            wrapped.applyMany = (writes) => {
              record(writes);
              return tx.applyMany!(writes);
            };
          }
          return work(wrapped);
        });
        for (const key of mine) written.set(key, true);
        return result;
      },
      close: () => store.close(),
    };
    const clock = new ManualClock(0);
    const agents = new SimulatedAgents({ clock });
    agents.addAgent({ id: 'a1', capacity: AGENT_CAPACITY });
    const manager = createSessionManager({ store: watched, agents, clock, policy: testPolicy });
    await manager.registerAgent({ id: 'a1', capacity: AGENT_CAPACITY, schedulable: true });
    const seen: [string, boolean | undefined][] = [];
    const unsubscribe = manager.subscribe((notice) =>
      seen.push([notice.to, written.get(`${notice.sessionId}:${notice.to}`)]),
    );
    const id = await manager.submit(spec({ id: 's1' }));
    await manager.tick();
    await manager.tick();
    unsubscribe();
    await manager.cancel(id);
    expect(seen).toEqual([
      ['PENDING', true],
      ['SCHEDULED', true],
      ['PREPARING', true],
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
