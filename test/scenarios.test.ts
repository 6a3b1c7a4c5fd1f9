/**
 * The scenarios of the lifecycle, end to end: manager, memory store and simulated agents in
 * virtual time. Every scenario ends with the leak check (`expectNoLeaks`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreateKernelsEffect } from '../src/core/effects.js';
import type { AgentClient } from '../src/manager/ports.js';
import {
  AGENT_CAPACITY,
  createHarness,
  expectCreatingOwned,
  expectNoLeaks,
  HAPPY_PATH,
  type Harness,
  reserved,
  runUntil,
  runUntilReached,
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

const ONE_KERNEL = { cpu: 1000, mem: 1024 };

/** Agents whose first createKernels is accepted but creates nothing (the request is lost). */
function losingFirstCreate(agents: AgentClient): AgentClient {
  let lost = false;
  return {
    pullImages: (effect) => agents.pullImages(effect),
    inspectKernels: (effect) => agents.inspectKernels(effect),
    destroyKernels: (effect) => agents.destroyKernels(effect),
    onReport: (listener) => agents.onReport(listener),
    createKernels(effect: CreateKernelsEffect) {
      if (lost) return agents.createKernels(effect);
      lost = true;
      return Promise.resolve({ ok: true });
    },
  };
}

/** Runs until the status, checking after every tick that a CREATING session is owned. */
async function runOwnedUntil(id: string, status: string): Promise<void> {
  await runUntil(h, async () => {
    await expectCreatingOwned(h);
    return (await view(h, id)).status === status;
  });
}

describe('scenario 1: a create slower than the CREATING timeout', () => {
  const slowPolicy = {
    ...testPolicy,
    create: { ...testPolicy.create, timeoutMs: 120_000, recheckMs: 600_000 },
  };

  it('verifies on the agent at the timeout; RUNNING when the kernel did start', async () => {
    h = await createHarness({ policy: slowPolicy });
    // The kernel runs after 100 s, but the agent's "started" report is late by 200 s more.
    h.agents.script({ slowCreate: 100_000 });
    h.agents.script({ delayReport: 'kernel.started', byMs: 200_000 });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'CREATING');
    const createdAt = h.clock.now();
    await runOwnedUntil(id, 'RUNNING');
    const session = await view(h, id);
    expect(h.clock.now() - createdAt).toBe(120_000);
    expect(session.attempts).toEqual({ pull: 1, create: 1 });
    expect(h.agents.calls('createKernels')).toBe(1);
    expect(h.agents.calls('inspectKernels')).toBe(1);
    expect(session.history.map((row) => row.substate).slice(-3)).toEqual([
      'creating',
      'verifying.waiting',
      '',
    ]);
    expect(statusPath(session)).toEqual(HAPPY_PATH);
    expect(reserved(h, 'a1')).toEqual(ONE_KERNEL);
  });

  it('destroys a kernel still not started at the timeout and retries the create', async () => {
    h = await createHarness({ policy: slowPolicy });
    h.agents.script({ slowCreate: 300_000 });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runOwnedUntil(id, 'RUNNING');
    const session = await view(h, id);
    expect(session.attempts).toEqual({ pull: 1, create: 2 });
    expect(h.agents.calls('createKernels')).toBe(2);
    expect(h.agents.calls('inspectKernels')).toBe(1);
    expect(h.agents.calls('destroyKernels')).toBe(1);
    expect(session.history.map((row) => row.substate).slice(-5)).toEqual([
      'verifying.waiting',
      'cleanup',
      'backoff',
      'creating',
      '',
    ]);
    expect(session.kernels).toEqual([{ id: 'k0', agentId: 'a1', status: 'RUNNING', attempt: 2 }]);
    expect(statusPath(session)).toEqual(HAPPY_PATH);
  });

  it('retries the create when verification finds no kernel, and ends RUNNING', async () => {
    h = await createHarness({ policy: slowPolicy, wrapAgents: losingFirstCreate });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runOwnedUntil(id, 'RUNNING');
    const session = await view(h, id);
    expect(session.attempts).toEqual({ pull: 1, create: 2 });
    expect(h.agents.calls('createKernels')).toBe(1);
    expect(h.agents.calls('inspectKernels')).toBe(1);
    expect(session.kernels).toEqual([{ id: 'k0', agentId: 'a1', status: 'RUNNING', attempt: 2 }]);
    expect(session.lastFailure?.code).toBe('create-incomplete');
    expect(reserved(h, 'a1')).toEqual(ONE_KERNEL);
  });
});

describe('scenario 2: the "image pulled" report is lost', () => {
  it('asks for the pull again with the same key, reaches PREPARED, never back', async () => {
    h = await createHarness();
    h.agents.script({ dropReport: 'image.pulled' });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilReached(h, id, 'PREPARED');
    const session = await view(h, id);
    expect(h.agents.calls('pullImages')).toBe(2);
    expect(h.agents.calls('pullImages', { key: 's1/a1/pull/1' })).toBe(2);
    expect(session.attempts.pull).toBe(1);
    expect(statusPath(session).slice(0, 4)).toEqual(HAPPY_PATH.slice(0, 4));
    await runUntilStatus(h, id, 'RUNNING');
    expect(statusPath(await view(h, id))).toEqual(HAPPY_PATH);
  });
});

describe('scenario 3: the "kernel started" report is lost', () => {
  it('inspects the agent, finds the kernel running, and is RUNNING after one create', async () => {
    h = await createHarness();
    h.agents.script({ dropReport: 'kernel.started' });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    const session = await view(h, id);
    expect(h.agents.calls('createKernels')).toBe(1);
    expect(h.agents.calls('inspectKernels')).toBe(1);
    expect(session.attempts).toEqual({ pull: 1, create: 1 });
    expect(session.kernels).toEqual([{ id: 'k0', agentId: 'a1', status: 'RUNNING', attempt: 1 }]);
    expect(statusPath(session)).toEqual(HAPPY_PATH);
  });
});

describe('scenario 4: createKernels fails with an agent failure', () => {
  const agents = [
    { id: 'a1', capacity: AGENT_CAPACITY },
    { id: 'a2', capacity: AGENT_CAPACITY },
  ];
  const agentFailure = {
    class: 'agent',
    code: 'agent-unschedulable',
    message: 'the agent stopped taking kernels',
  } as const;

  it('releases the slots, goes back to PENDING and is placed on another agent', async () => {
    h = await createHarness({ agents });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await tick(h);
    const first = (await view(h, id)).placement.k0!;
    const other = first === 'a1' ? 'a2' : 'a1';
    expect(reserved(h, first)).toEqual(ONE_KERNEL);
    h.agents.script({ op: 'createKernels', agentId: first, failure: agentFailure });
    await runUntil(h, async () => (await view(h, id)).status === 'PENDING');
    expect(statusPath(await view(h, id)).slice(-2)).toEqual(['CREATING', 'PENDING']);
    expect(reserved(h, first)).toEqual({});
    expect(reserved(h, other)).toEqual({});
    await runUntilStatus(h, id, 'RUNNING');
    const session = await view(h, id);
    expect(session.placement).toEqual({ k0: other });
    expect(session.reschedules).toBe(1);
    expect(session.attempts).toEqual({ pull: 1, create: 1 });
    expect(session.lastFailure).toEqual(agentFailure);
    expect(reserved(h, first)).toEqual({});
    expect(reserved(h, other)).toEqual(ONE_KERNEL);
    expect(h.agents.calls('createKernels', { agentId: first })).toBe(1);
    expect(h.agents.calls('createKernels', { agentId: other })).toBe(1);
    expect(statusPath(session)).toEqual([...HAPPY_PATH.slice(0, 5), ...HAPPY_PATH]);
  });

  it('ends CANCELLED with the reason and every slot released on a permanent failure', async () => {
    h = await createHarness({ agents });
    const failure = {
      class: 'permanent',
      code: 'invalid-kernel-spec',
      message: 'the runtime rejected the kernel',
    } as const;
    h.agents.script({ op: 'createKernels', failure });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'CANCELLED');
    const session = await view(h, id);
    expect(session.reason).toBe('create-failed-permanently');
    expect(session.lastFailure).toEqual(failure);
    expect(session.attempts).toEqual({ pull: 1, create: 1 });
    expect(reserved(h, 'a1')).toEqual({});
    expect(reserved(h, 'a2')).toEqual({});
    expect(h.agents.calls('createKernels')).toBe(1);
    expect(h.agents.liveKernels()).toEqual([]);
  });
});

describe('scenario 5: the image pull fails permanently', () => {
  it('ends CANCELLED and the agent reserved slots return to exactly what they were', async () => {
    h = await createHarness();
    const other = await h.manager.submit(spec({ id: 'other', kernels: [{ slots: { cpu: 500 } }] }));
    await runUntilStatus(h, other, 'RUNNING');
    const before = reserved(h, 'a1');
    expect(before).toEqual({ cpu: 500 });
    const failure = {
      class: 'permanent',
      code: 'image-not-found',
      message: 'no such image',
    } as const;
    h.agents.script({ op: 'pullImages', sessionId: 's1', failure });
    const id = await h.manager.submit(spec({ id: 's1', image: 'missing:1' }));
    await tick(h);
    expect(reserved(h, 'a1')).toEqual({ cpu: 1500, mem: 1024 });
    await runUntilStatus(h, id, 'CANCELLED');
    const session = await view(h, id);
    expect(session.reason).toBe('pull-failed-permanently');
    expect(session.lastFailure).toEqual(failure);
    expect(session.attempts).toEqual({ pull: 1, create: 0 });
    expect(reserved(h, 'a1')).toEqual(before);
    expect(h.agents.calls('pullImages', { sessionId: 's1' })).toBe(1);
    expect(h.agents.calls('createKernels', { sessionId: 's1' })).toBe(0);
    expect(statusPath(session)).toEqual(['PENDING', 'SCHEDULED', 'PREPARING', 'CANCELLED']);
  });
});

describe('scenario 6: a two-kernel session terminating', () => {
  it('reaches TERMINATED when one kernel ends TERMINATED and the other CANCELLED', async () => {
    h = await createHarness({
      agents: [
        { id: 'a1', capacity: AGENT_CAPACITY },
        { id: 'a2', capacity: AGENT_CAPACITY },
      ],
    });
    const big = { cpu: 3000, mem: 2048 };
    const id = await h.manager.submit(
      spec({ id: 's1', kernels: [{ slots: big }, { slots: big }] }),
    );
    await runUntilStatus(h, id, 'RUNNING');
    const { placement } = await view(h, id);
    expect(new Set(Object.values(placement))).toEqual(new Set(['a1', 'a2']));
    // The agent of k1 vanishes while destroying it: its kernel is gone, the call fails.
    h.agents.script({
      op: 'destroyKernels',
      agentId: placement.k1!,
      failure: { class: 'agent', code: 'agent-lost', message: 'agent gone' },
      performed: true,
    });
    await h.manager.terminate(id);
    expect((await view(h, id)).status).toBe('TERMINATING');
    await runUntilStatus(h, id, 'TERMINATED');
    const session = await view(h, id);
    expect(session.reason).toBe('user-terminated');
    expect(session.kernels.map((kernel) => [kernel.id, kernel.status])).toEqual([
      ['k0', 'TERMINATED'],
      ['k1', 'CANCELLED'],
    ]);
    expect(reserved(h, 'a1')).toEqual({});
    expect(reserved(h, 'a2')).toEqual({});
    expect(h.agents.calls('destroyKernels')).toBe(2);
    expect(h.agents.liveKernels()).toEqual([]);
  });
});

describe('scenario 7: "kernel started" arrives before "kernel creating"', () => {
  it('runs the kernel and the late report does not move it back', async () => {
    h = await createHarness();
    h.agents.script({ delayReport: 'kernel.creating', byMs: 10_000 });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    const runningVersion = (await view(h, id)).version;
    expect(h.agents.reportStats().pending).toBe(1);
    await runUntil(h);
    expect(h.agents.reportStats().pending).toBe(0);
    const session = await view(h, id);
    expect(session.status).toBe('RUNNING');
    expect(session.kernels).toEqual([{ id: 'k0', agentId: 'a1', status: 'RUNNING', attempt: 1 }]);
    expect(session.version).toBe(runningVersion);
    expect(h.logs.some((entry) => entry.message === 'event ignored')).toBe(true);
  });
});

describe('scenario 8: an owner limited to one concurrent session submits two', () => {
  it('schedules exactly one and records the concurrency predicate on the other', async () => {
    h = await createHarness({ limits: { maxConcurrentPerOwner: 1 } });
    const first = await h.manager.submit(spec({ id: 's1' }));
    const second = await h.manager.submit(spec({ id: 's2' }));
    await tick(h);
    expect((await view(h, first)).status).toBe('SCHEDULED');
    const waiting = await view(h, second);
    expect(waiting.status).toBe('PENDING');
    expect(waiting.lastPlacementFailure).toEqual({
      predicate: 'concurrency',
      message:
        'owner "alice" has 1 live sessions and the limit is 1 (maxConcurrentPerOwner); ' +
        'waits until one ends',
      at: h.clock.now(),
    });
    expect(reserved(h, 'a1')).toEqual(ONE_KERNEL);
    // The same failure is not written again on the next round.
    await tick(h);
    expect((await view(h, second)).version).toBe(waiting.version);
    await h.manager.cancel(first);
    await runUntilStatus(h, second, 'RUNNING');
    expect((await view(h, first)).reason).toBe('user-cancelled');
    expect(reserved(h, 'a1')).toEqual(ONE_KERNEL);
  });
});

describe('scenario 9: the image is already on the agent', () => {
  it('goes from PREPARING straight to PREPARED on "pulled" with no "pulling"', async () => {
    h = await createHarness();
    const warm = await h.manager.submit(spec({ id: 'warm' }));
    await runUntilStatus(h, warm, 'RUNNING');
    const id = await h.manager.submit(spec({ id: 's1' }));
    const pullsBefore = h.logs.filter((entry) => entry.fields.report === 'image.pulling').length;
    await runUntilStatus(h, id, 'RUNNING');
    const session = await view(h, id);
    const pulls = h.logs.filter((entry) => entry.fields.report === 'image.pulling').length;
    expect(pulls).toBe(pullsBefore);
    expect(session.history.map((row) => [row.to, row.substate]).slice(2, 4)).toEqual([
      ['PREPARING', 'pulling.waiting'],
      ['PREPARED', ''],
    ]);
    expect(session.history[3]!.at - session.history[2]!.at).toBe(50);
    expect(session.attempts).toEqual({ pull: 1, create: 1 });
  });
});

describe('scenario 10: one session whose processing throws', () => {
  it('does not stop the others in the same tick', async () => {
    h = await createHarness();
    await h.store.transaction((tx) =>
      tx.apply({
        session: {
          id: 'corrupt',
          owner: 'mallory',
          priority: 0,
          status: 'PENDING',
          substate: '',
          version: 1,
          submittedAt: 0,
          updatedAt: 0,
          holds: {},
          snapshot: { value: 'NOWHERE', context: 'not a context' },
        },
        expectedVersion: 0,
        reserve: [],
        release: [],
        history: [],
        outbox: [],
        timersSet: [],
        timersCancelled: [],
      }),
    );
    const ids = [
      await h.manager.submit(spec({ id: 's1' })),
      await h.manager.submit(spec({ id: 's2' })),
    ];
    const summary = await tick(h);
    expect(summary.errors).toBe(1);
    expect(summary.transitions).toBe(2);
    for (const id of ids) expect((await view(h, id)).status).toBe('SCHEDULED');
    const errors = h.logs.filter((entry) => entry.level === 'error');
    expect(errors.map((entry) => [entry.message, entry.fields.sessionId])).toEqual([
      ['session processing failed', 'corrupt'],
    ]);
    for (const id of ids) await runUntilStatus(h, id, 'RUNNING');
    expect(reserved(h, 'a1')).toEqual({ cpu: 2000, mem: 2048 });
  });
});
