import { describe, expect, it } from 'vitest';
import { placeBatch } from '../src/manager/placement/batch.js';
import { checkDependencies } from '../src/manager/placement/predicates.js';
import { createSelectorState, PREDICATES } from '../src/manager/placement/types.js';
import { agent, session, summary, view } from './placement-fixtures.js';

const roomy = () => [agent('a1', { cpu: 100_000, mem: 100_000 })];

describe('predicates', () => {
  it('are checked in a fixed, documented order', () => {
    expect(PREDICATES).toEqual(['dependencies', 'concurrency', 'capacity']);
  });
});

describe('capacity predicate', () => {
  it('fails with the kernel, its request and the number of schedulable agents', () => {
    const agents = [
      agent('a1', { cpu: 1_000, mem: 4_096 }),
      agent('a2', { cpu: 8_000 }, {}, false),
    ];
    const results = placeBatch(
      'fifo',
      'dispersed',
      [session('s1', { kernels: [{ cpu: 2_000, mem: 100 }] })],
      view(agents),
      createSelectorState(),
    );
    expect(results).toEqual([
      {
        sessionId: 's1',
        predicate: 'capacity',
        message:
          'kernel "k0" needs cpu=2000 mem=100; no schedulable agent has that free ' +
          '(schedulable agents: 1)',
      },
    ]);
  });

  it('never places on an unschedulable agent', () => {
    const agents = [agent('off', { cpu: 8_000 }, {}, false)];
    const results = placeBatch('fifo', 'concentrated', [session('s1')], view(agents), {
      cursor: null,
    });
    expect(summary(results)).toEqual(['s1 capacity']);
  });

  it('never overcommits an agent within one batch', () => {
    const agents = [agent('a1', { cpu: 1_000 }, { cpu: 100 })];
    const sessions = ['s1', 's2', 's3'].map((id, i) =>
      session(id, { submittedAt: i, kernels: [{ cpu: 400 }] }),
    );
    const results = placeBatch('fifo', 'dispersed', sessions, view(agents), createSelectorState());
    expect(summary(results)).toEqual(['s1 k0@a1', 's2 k0@a1', 's3 capacity']);
  });

  it('counts what is reserved on an agent; an overcommitted slot is full', () => {
    const agents = [agent('a1', { cpu: 1_000, mem: 100 }, { cpu: 1_200 })];
    const results = placeBatch(
      'fifo',
      'concentrated',
      [
        session('needs-cpu', { kernels: [{ cpu: 1 }] }),
        session('mem-only', { kernels: [{ mem: 100 }] }),
      ],
      view(agents),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['mem-only k0@a1', 'needs-cpu capacity']);
  });

  it('still places smaller requests after a larger one found no room', () => {
    const agents = [agent('a1', { cpu: 2_000, mem: 2_000 })];
    const sessions = [
      session('big', { submittedAt: 1, kernels: [{ cpu: 3_000 }] }),
      session('bigger', { submittedAt: 2, kernels: [{ cpu: 3_000, mem: 1 }] }),
      session('other-slot', { submittedAt: 3, kernels: [{ cpu: 1_000, mem: 2_000 }] }),
    ];
    const results = placeBatch('fifo', 'concentrated', sessions, view(agents), {
      cursor: null,
    });
    expect(results[1]).toEqual({
      sessionId: 'bigger',
      predicate: 'capacity',
      message:
        'kernel "k0" needs cpu=3000 mem=1; no schedulable agent has that free ' +
        '(schedulable agents: 1)',
    });
    expect(summary(results)).toEqual(['big capacity', 'bigger capacity', 'other-slot k0@a1']);
  });
});

describe('concurrency predicate', () => {
  const limits = { maxConcurrentPerOwner: 2 };
  const usage = { alice: { sessions: 1, slots: { cpu: 1_000 } } };

  it('counts live sessions and those placed earlier in the batch', () => {
    const sessions = [
      session('a-1', { owner: 'alice', submittedAt: 1 }),
      session('a-2', { owner: 'alice', submittedAt: 2 }),
      session('b-1', { owner: 'bob', submittedAt: 3 }),
    ];
    const results = placeBatch(
      'fifo',
      'concentrated',
      sessions,
      view(roomy(), { ownerUsage: usage, limits }),
      createSelectorState(),
    );
    expect(results).toEqual([
      { sessionId: 'a-1', placement: { k0: 'a1' } },
      {
        sessionId: 'a-2',
        predicate: 'concurrency',
        message:
          'owner "alice" has 2 live sessions and the limit is 2 (maxConcurrentPerOwner); ' +
          'waits until one ends',
      },
      { sessionId: 'b-1', placement: { k0: 'a1' } },
    ]);
  });

  it('does not count a session that was not placed', () => {
    const sessions = [
      session('a-big', { owner: 'alice', submittedAt: 1, kernels: [{ cpu: 999_999 }] }),
      session('a-1', { owner: 'alice', submittedAt: 2 }),
    ];
    const results = placeBatch(
      'fifo',
      'concentrated',
      sessions,
      view(roomy(), { ownerUsage: usage, limits }),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['a-big capacity', 'a-1 k0@a1']);
  });

  it('places without limit when maxConcurrentPerOwner is not set', () => {
    const sessions = ['s1', 's2', 's3'].map((id) => session(id));
    const results = placeBatch(
      'fifo',
      'concentrated',
      sessions,
      view(roomy(), { ownerUsage: { alice: { sessions: 50, slots: {} } } }),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['s1 k0@a1', 's2 k0@a1', 's3 k0@a1']);
  });
});

describe('dependencies predicate', () => {
  const statusOf = {
    running: 'RUNNING',
    done: 'TERMINATED',
    waiting: 'PENDING',
    starting: 'CREATING',
    cancelled: 'CANCELLED',
    broken: 'ERROR',
  } as const;

  it.each([
    [['running', 'done'], { ok: true }],
    [
      ['running', 'waiting'],
      {
        ok: false,
        predicate: 'dependencies',
        message:
          'depends on session "waiting", which is PENDING; waits until it is RUNNING or TERMINATED',
      },
    ],
    [
      ['starting'],
      {
        ok: false,
        predicate: 'dependencies',
        message:
          'depends on session "starting", which is CREATING; waits until it is RUNNING or ' +
          'TERMINATED',
      },
    ],
    [
      ['missing'],
      {
        ok: false,
        predicate: 'dependencies',
        message: 'depends on session "missing", which does not exist',
      },
    ],
    [
      ['cancelled'],
      {
        ok: false,
        predicate: 'dependencies',
        message: 'depends on session "cancelled", which ended CANCELLED and will never run',
      },
    ],
    [
      ['broken'],
      {
        ok: false,
        predicate: 'dependencies',
        message: 'depends on session "broken", which ended ERROR and will never run',
      },
    ],
  ])('judges dependencies %j', (dependsOn, verdict) => {
    const pending = session('s1', { dependsOn });
    expect(checkDependencies(pending, new Map(Object.entries(statusOf)))).toEqual(verdict);
  });

  it('is checked before concurrency and capacity', () => {
    const results = placeBatch(
      'fifo',
      'concentrated',
      [session('s1', { dependsOn: ['waiting'], kernels: [{ cpu: 999_999 }] })],
      view(roomy(), {
        statusOf,
        ownerUsage: { alice: { sessions: 5, slots: {} } },
        limits: { maxConcurrentPerOwner: 1 },
      }),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['s1 dependencies']);
  });

  it('does not treat a dependency placed in the same batch as ready', () => {
    const sessions = [
      session('first', { submittedAt: 1 }),
      session('second', { submittedAt: 2, dependsOn: ['first'] }),
    ];
    const results = placeBatch(
      'fifo',
      'concentrated',
      sessions,
      view(roomy(), { statusOf: { first: 'PENDING' } }),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['first k0@a1', 'second dependencies']);
  });
});

describe('placeBatch purity', () => {
  it('leaves the view untouched', () => {
    const agents = [agent('a1', { cpu: 4_000 }, { cpu: 1_000 })];
    const before = structuredClone(agents);
    placeBatch('fifo', 'concentrated', [session('s1')], view(agents), createSelectorState());
    expect(agents).toEqual(before);
  });
});
