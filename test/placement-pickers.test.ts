import { describe, expect, it } from 'vitest';
import { placeBatch } from '../src/manager/placement/batch.js';
import { dominantShare } from '../src/manager/placement/pickers.js';
import { createSelectorState } from '../src/manager/placement/types.js';
import { agent, session, summary, targets, view } from './placement-fixtures.js';

const roomy = [agent('a1', { cpu: 100_000, mem: 100_000 })];

const arrivals = [
  session('late', { submittedAt: 30 }),
  session('urgent', { submittedAt: 40, priority: 2 }),
  session('b-early', { submittedAt: 10 }),
  session('a-early', { submittedAt: 10 }),
  session('middle', { submittedAt: 20 }),
  session('low', { submittedAt: 0, priority: -1 }),
];

describe('fifo picker', () => {
  it('takes higher priority first, then the oldest, then the smaller id', () => {
    const results = placeBatch(
      'fifo',
      'concentrated',
      arrivals,
      view(roomy),
      createSelectorState(),
    );
    expect(results.map((result) => result.sessionId)).toEqual([
      'urgent',
      'a-early',
      'b-early',
      'middle',
      'late',
      'low',
    ]);
  });

  it('lets a later, smaller session through when an earlier one does not fit', () => {
    const small = [agent('a1', { cpu: 1000 })];
    const sessions = [
      session('big', { submittedAt: 1, kernels: [{ cpu: 2000 }] }),
      session('small', { submittedAt: 2, kernels: [{ cpu: 1000 }] }),
    ];
    const results = placeBatch(
      'fifo',
      'concentrated',
      sessions,
      view(small),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['big capacity', 'small k0@a1']);
  });
});

describe('lifo picker', () => {
  it('takes higher priority first, then the newest, then the smaller id', () => {
    const results = placeBatch(
      'lifo',
      'concentrated',
      arrivals,
      view(roomy),
      createSelectorState(),
    );
    expect(results.map((result) => result.sessionId)).toEqual([
      'urgent',
      'late',
      'middle',
      'a-early',
      'b-early',
      'low',
    ]);
  });

  it('gives the last slot to the newest session', () => {
    const one = [agent('a1', { cpu: 1000 })];
    const sessions = [session('old', { submittedAt: 1 }), session('new', { submittedAt: 2 })];
    const results = placeBatch('lifo', 'concentrated', sessions, view(one), createSelectorState());
    expect(targets(results)).toEqual(['new:a1', 'old:-']);
  });
});

describe('drf picker', () => {
  // Total schedulable capacity: cpu=20000 mem=10000. Alice already holds cpu=5000 (share 0.25).
  const cluster = [
    agent('a1', { cpu: 10_000, mem: 5_000 }, { cpu: 5_000 }),
    agent('a2', { cpu: 10_000, mem: 5_000 }),
    agent('off', { cpu: 80_000, mem: 80_000 }, {}, false),
  ];
  const usage = { alice: { sessions: 1, slots: { cpu: 5_000 } } };
  const cpu = [{ cpu: 2_000 }];

  it('serves the owner with the smallest dominant share next, updating shares in the batch', () => {
    const sessions = [
      session('a-1', { owner: 'alice', submittedAt: 1, kernels: cpu }),
      session('a-2', { owner: 'alice', submittedAt: 2, kernels: cpu }),
      session('b-1', { owner: 'bob', submittedAt: 3, kernels: cpu }),
      session('b-2', { owner: 'bob', submittedAt: 4, kernels: cpu }),
      session('c-1', { owner: 'carol', submittedAt: 5, kernels: [{ mem: 1_000 }] }),
      session('b-3', { owner: 'bob', submittedAt: 6, kernels: cpu }),
    ];
    const results = placeBatch(
      'drf',
      'dispersed',
      sessions,
      view(cluster, { ownerUsage: usage }),
      createSelectorState(),
    );
    // bob and carol tie at 0 (b-1 is older); then carol 0 < bob 0.1; bob 0.1 and 0.2 < alice
    // 0.25; then alice 0.25 < bob 0.3.
    expect(targets(results)).toEqual(['b-1:a2', 'c-1:a2', 'b-2:a2', 'b-3:a2', 'a-1:a1', 'a-2:a2']);
  });

  it('does not raise the share of an owner whose session was not placed', () => {
    const sessions = [
      session('b-huge', { owner: 'bob', submittedAt: 1, kernels: [{ cpu: 50_000 }] }),
      session('a-1', { owner: 'alice', submittedAt: 2, kernels: cpu }),
      session('b-1', { owner: 'bob', submittedAt: 3, kernels: cpu }),
    ];
    const results = placeBatch(
      'drf',
      'concentrated',
      sessions,
      view(cluster, { ownerUsage: usage }),
      createSelectorState(),
    );
    expect(targets(results)).toEqual(['b-huge:-', 'b-1:a1', 'a-1:a1']);
  });

  it('measures the dominant share against each slot the cluster has, skipping absent ones', () => {
    expect(dominantShare([2, 0, 1_000, 4_000], [0, 0, 10_000, 10_000])).toBe(0.4);
    expect(dominantShare([0, 0, 0, 0], [0, 0, 10_000, 10_000])).toBe(0);
  });
});
