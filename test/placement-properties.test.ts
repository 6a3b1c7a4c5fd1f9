import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLOT_NAMES, type Slots, type Status } from '../src/core/types.js';
import { placeBatch, placeBatchNaive } from '../src/manager/placement/batch.js';
import {
  createSelectorState,
  isPlaced,
  type PendingSession,
  type PlacementResult,
  type PlacementView,
} from '../src/manager/placement/types.js';
import type { AgentRow } from '../src/manager/ports.js';
import { PICKERS, SELECTORS } from '../src/manager/types.js';

const AGENT_IDS = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];
const OWNERS = ['o0', 'o1', 'o2'];

/** A capacity and a reservation within it, for one slot, in steps of `unit`. */
const slotPair = (steps: number, unit: number) =>
  fc
    .tuple(fc.nat(steps), fc.nat(steps))
    .map(([a, b]) => [Math.max(a, b) * unit, Math.min(a, b) * unit] as const);

const agentArb = (id: string) =>
  fc
    .record({
      cpu: slotPair(8, 500),
      mem: slotPair(8, 1_024),
      gpu: slotPair(2, 1),
      shares: slotPair(4, 250),
      schedulable: fc.nat(5).map((x) => x > 0),
    })
    .map(
      ({ cpu, mem, gpu, shares, schedulable }): AgentRow => ({
        id,
        capacity: { cpu: cpu[0], mem: mem[0], 'cuda.device': gpu[0], 'cuda.shares': shares[0] },
        reserved: { cpu: cpu[1], mem: mem[1], 'cuda.device': gpu[1], 'cuda.shares': shares[1] },
        schedulable,
      }),
    );

const agentsArb = fc
  .integer({ min: 1, max: AGENT_IDS.length })
  .chain((n) => fc.tuple(...AGENT_IDS.slice(0, n).map(agentArb)));

const kernelSlotsArb: fc.Arbitrary<Slots> = fc
  .record({
    cpu: fc.nat(6).map((x) => x * 500),
    mem: fc.nat(6).map((x) => x * 1_024),
    'cuda.device': fc.nat(1),
    'cuda.shares': fc.nat(2).map((x) => x * 250),
  })
  .map((slots) => Object.fromEntries(Object.entries(slots).filter(([, v]) => v > 0)));

const sessionArb = (id: string): fc.Arbitrary<PendingSession> =>
  fc.record({
    id: fc.constant(id),
    owner: fc.constantFrom(...OWNERS),
    priority: fc.nat(2),
    submittedAt: fc.nat(5),
    kernels: fc
      .array(kernelSlotsArb, { minLength: 1, maxLength: 3 })
      .map((list) => list.map((slots, i) => ({ id: `k${i}`, slots }))),
    dependsOn: fc.subarray(['d-running', 'd-pending', 'd-missing']),
    avoid: fc.dictionary(fc.constantFrom(...AGENT_IDS), fc.integer({ min: 0, max: 3 })),
  });

const sessionsArb = fc
  .nat(25)
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => sessionArb(`s${i}`))));

const viewArb = (agents: AgentRow[]): fc.Arbitrary<PlacementView> =>
  fc.record({
    agents: fc.constant(agents),
    ownerUsage: fc
      .dictionary(
        fc.constantFrom(...OWNERS),
        fc.record({ sessions: fc.nat(3), slots: kernelSlotsArb }),
      )
      .map((usage) => new Map(Object.entries(usage))),
    statusOf: fc.constant(
      new Map<string, Status>([
        ['d-running', 'RUNNING'],
        ['d-pending', 'PENDING'],
      ]),
    ),
    limits: fc
      .option(fc.integer({ min: 1, max: 4 }), { nil: undefined })
      .map((max) => (max === undefined ? {} : { maxConcurrentPerOwner: max })),
  });

const caseArb = fc
  .record({
    picker: fc.constantFrom(...PICKERS),
    selector: fc.constantFrom(...SELECTORS),
    cursor: fc.option(fc.constantFrom(...AGENT_IDS), { nil: null }),
    agents: agentsArb,
    sessions: sessionsArb,
  })
  .chain((input) => viewArb(input.agents).map((view) => ({ ...input, view })));

type Free = Map<string, Record<string, number>>;

function freeOf(agents: AgentRow[]): Free {
  const free: Free = new Map();
  for (const agent of agents) {
    const slots: Record<string, number> = {};
    for (const slot of SLOT_NAMES) {
      slots[slot] = Math.max(0, (agent.capacity[slot] ?? 0) - (agent.reserved[slot] ?? 0));
    }
    free.set(agent.id, slots);
  }
  return free;
}

const fits = (need: Slots, free: Record<string, number>) =>
  SLOT_NAMES.every((slot) => (need[slot] ?? 0) <= free[slot]!);

/**
 * Replays the results in order on a copy of the free slots, calling `check` before each kernel
 * is taken, and returns the free slots after the batch.
 */
function replay(
  agents: AgentRow[],
  sessions: PendingSession[],
  results: PlacementResult[],
  check: (need: Slots, agentId: string, session: PendingSession, free: Free) => void,
): Free {
  const free = freeOf(agents);
  const byId = new Map(sessions.map((session) => [session.id, session]));
  for (const result of results.filter(isPlaced)) {
    const session = byId.get(result.sessionId)!;
    for (const kernel of session.kernels) {
      const agentId = result.placement[kernel.id]!;
      check(kernel.slots, agentId, session, free);
      const left = free.get(agentId)!;
      for (const slot of SLOT_NAMES) left[slot] = left[slot]! - (kernel.slots[slot] ?? 0);
    }
  }
  return free;
}

const RUNS = { numRuns: 200 };

describe('placement safety rules', () => {
  it('no agent goes over capacity, and every kernel fits its agent when it is placed', () => {
    fc.assert(
      fc.property(caseArb, ({ picker, selector, cursor, sessions, view }) => {
        const results = placeBatch(picker, selector, sessions, view, { cursor });
        const schedulable = new Set(view.agents.filter((a) => a.schedulable).map((a) => a.id));
        const after = replay(view.agents, sessions, results, (need, agentId, _session, free) => {
          expect(schedulable.has(agentId)).toBe(true);
          expect(fits(need, free.get(agentId)!)).toBe(true);
        });
        for (const left of after.values()) {
          for (const slot of SLOT_NAMES) expect(left[slot]).toBeGreaterThanOrEqual(0);
        }
      }),
      RUNS,
    );
  });

  it('every session gets one result, and a placement names an agent for every kernel', () => {
    fc.assert(
      fc.property(caseArb, ({ picker, selector, sessions, view }) => {
        const results = placeBatch(picker, selector, sessions, view, createSelectorState());
        expect(results.map((r) => r.sessionId).sort()).toEqual(sessions.map((s) => s.id).sort());
        const byId = new Map(sessions.map((session) => [session.id, session]));
        for (const result of results.filter(isPlaced)) {
          const kernels = byId.get(result.sessionId)!.kernels.map((kernel) => kernel.id);
          expect(Object.keys(result.placement)).toEqual(kernels);
        }
      }),
      RUNS,
    );
  });

  it('a failed agent is chosen only when no other schedulable agent fits the kernel', () => {
    fc.assert(
      fc.property(caseArb, ({ picker, selector, sessions, view }) => {
        const results = placeBatch(picker, selector, sessions, view, createSelectorState());
        const schedulable = view.agents.filter((agent) => agent.schedulable);
        replay(view.agents, sessions, results, (need, agentId, session, free) => {
          if ((session.avoid[agentId] ?? 0) === 0) return;
          const clean = schedulable.filter((agent) => (session.avoid[agent.id] ?? 0) === 0);
          expect(clean.some((agent) => fits(need, free.get(agent.id)!))).toBe(false);
        });
      }),
      RUNS,
    );
  });

  it('no owner goes past maxConcurrentPerOwner through a batch', () => {
    fc.assert(
      fc.property(caseArb, ({ picker, selector, sessions, view }) => {
        const limit = view.limits.maxConcurrentPerOwner;
        const results = placeBatch(picker, selector, sessions, view, createSelectorState());
        if (limit === undefined) return;
        const owners = new Map(sessions.map((session) => [session.id, session.owner]));
        for (const owner of OWNERS) {
          const live = view.ownerUsage.get(owner)?.sessions ?? 0;
          const placed = results.filter(
            (result) => isPlaced(result) && owners.get(result.sessionId) === owner,
          ).length;
          expect(placed).toBeLessThanOrEqual(Math.max(0, limit - live));
        }
      }),
      RUNS,
    );
  });

  it('the indexed selectors choose exactly what a scan of every agent chooses', () => {
    fc.assert(
      fc.property(caseArb, ({ picker, selector, cursor, sessions, view }) => {
        const indexedState = { cursor };
        const naiveState = { cursor };
        const indexed = placeBatch(picker, selector, sessions, view, indexedState);
        const naive = placeBatchNaive(picker, selector, sessions, view, naiveState);
        expect(indexed).toEqual(naive);
        expect(indexedState).toEqual(naiveState);
      }),
      RUNS,
    );
  });
});
