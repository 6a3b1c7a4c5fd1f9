import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add } from '../src/core/slots.js';
import type { Slots } from '../src/core/types.js';
import { placeBatch } from '../src/manager/placement/batch.js';
import { AgentCache } from '../src/manager/placement/cache.js';
import {
  createSelectorState,
  isPlaced,
  type PendingSession,
  type PlacementResult,
} from '../src/manager/placement/types.js';
import type { AgentRow } from '../src/manager/ports.js';
import { PICKERS, SELECTORS } from '../src/manager/types.js';
import { agent, session, summary, view } from './placement-fixtures.js';

const AGENT_IDS = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'];

/** What happens to the rows between two batches, as a store would do it. */
type Change =
  | { kind: 'commit' }
  | { kind: 'refuse' }
  | { kind: 'release'; agent: number; cpu: number }
  | { kind: 'reserve'; agent: number; cpu: number }
  | { kind: 'schedulable'; agent: number; value: boolean }
  | { kind: 'copy' };

const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc.constant({ kind: 'commit' as const }),
  fc.constant({ kind: 'refuse' as const }),
  fc.record({
    kind: fc.constant('release' as const),
    agent: fc.nat(AGENT_IDS.length - 1),
    cpu: fc.nat(4).map((x) => x * 500),
  }),
  fc.record({
    kind: fc.constant('reserve' as const),
    agent: fc.nat(AGENT_IDS.length - 1),
    cpu: fc.nat(4).map((x) => x * 500),
  }),
  fc.record({
    kind: fc.constant('schedulable' as const),
    agent: fc.nat(AGENT_IDS.length - 1),
    value: fc.boolean(),
  }),
  fc.constant({ kind: 'copy' as const }),
);

const kernelArb: fc.Arbitrary<Slots> = fc
  .record({
    cpu: fc.integer({ min: 1, max: 6 }).map((x) => x * 500),
    'cuda.shares': fc.nat(2).map((x) => x * 250),
  })
  .map((slots) => Object.fromEntries(Object.entries(slots).filter(([, v]) => v > 0)));

const batchArb = (step: number): fc.Arbitrary<PendingSession[]> =>
  fc
    .array(fc.array(kernelArb, { minLength: 1, maxLength: 2 }), { maxLength: 6 })
    .map((sessions) =>
      sessions.map((kernels, i) => session(`s${step}-${i}`, { kernels, submittedAt: i })),
    );

const fleetArb = fc
  .array(fc.integer({ min: 2, max: 8 }), { minLength: 1, maxLength: AGENT_IDS.length })
  .map((cores) =>
    cores.map((n, i) => agent(AGENT_IDS[i]!, { cpu: n * 1000, 'cuda.shares': 1000 })),
  );

/** The rows after `change`, sharing every row object that did not change (like MemoryStore). */
function nextRows(
  rows: AgentRow[],
  batch: PendingSession[],
  results: PlacementResult[],
  change: Change,
): AgentRow[] {
  switch (change.kind) {
    case 'commit':
      return commit(rows, kernelsOf(batch, results));
    case 'refuse':
      return [...rows];
    case 'copy':
      return rows.map((row) => ({ ...row }));
    case 'release':
      return rows.map((row, i) =>
        i === change.agent ? { ...row, reserved: release(row.reserved, change.cpu) } : row,
      );
    case 'reserve':
      return rows.map((row, i) =>
        i === change.agent ? { ...row, reserved: add(row.reserved, { cpu: change.cpu }) } : row,
      );
    case 'schedulable':
      return rows.map((row, i) =>
        i === change.agent ? { ...row, schedulable: change.value } : row,
      );
  }
}

function commit(rows: AgentRow[], kernels: Map<string, Slots>): AgentRow[] {
  return rows.map((row) => {
    const taken = kernels.get(row.id);
    return taken === undefined ? row : { ...row, reserved: add(row.reserved, taken) };
  });
}

/** Per agent, the slots the batch's placed kernels take. */
function kernelsOf(batch: PendingSession[], results: PlacementResult[]): Map<string, Slots> {
  const taken = new Map<string, Slots>();
  for (const result of results) {
    if (!isPlaced(result)) continue;
    const spec = batch.find((s) => s.id === result.sessionId)!;
    for (const kernel of spec.kernels) {
      const agentId = result.placement[kernel.id]!;
      taken.set(agentId, add(taken.get(agentId) ?? {}, kernel.slots));
    }
  }
  return taken;
}

function messages(results: PlacementResult[]): string[] {
  return results.map((result) => ('message' in result ? result.message : ''));
}

function release(reserved: Slots, cpu: number): Slots {
  return { ...reserved, cpu: Math.max(0, (reserved.cpu ?? 0) - cpu) };
}

describe('AgentCache', () => {
  it('places every batch exactly as a fresh pool would, whatever changed in between', () => {
    const stepsArb = fc
      .array(changeArb, { minLength: 1, maxLength: 8 })
      .chain((changes) =>
        fc.tuple(fc.constant(changes), fc.tuple(...changes.map((_, step) => batchArb(step)))),
      );
    fc.assert(
      fc.property(
        fc.constantFrom(...PICKERS),
        fc.constantFrom(...SELECTORS),
        fleetArb,
        stepsArb,
        (picker, selector, fleet, [changes, arrivals]) => {
          const cache = new AgentCache();
          const cachedState = createSelectorState();
          const freshState = createSelectorState();
          let rows = fleet;
          let waiting: PendingSession[] = [];
          changes.forEach((change, step) => {
            // Sessions left pending come back in the next batch, as the schedule stage does.
            const batch = [...waiting, ...arrivals[step]!];
            const cached = placeBatch(picker, selector, batch, view(rows), cachedState, cache);
            const fresh = placeBatch(picker, selector, batch, view(rows), freshState);
            expect(summary(cached)).toEqual(summary(fresh));
            expect(messages(cached)).toEqual(messages(fresh));
            expect(cachedState).toEqual(freshState);
            rows = nextRows(rows, batch, fresh, change);
            const placed = new Set(fresh.filter(isPlaced).map((result) => result.sessionId));
            waiting = change.kind === 'refuse' ? batch : batch.filter((s) => !placed.has(s.id));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the order when the rows are the same objects and nothing was placed', () => {
    const cache = new AgentCache();
    const rows = [agent('a0', { cpu: 4000 }), agent('a1', { cpu: 2000 })];
    expect(cache.workAgents(rows, 'concentrated').inOrder).toBe(false);
    cache.placed([]);
    const again = cache.workAgents([...rows], 'concentrated');
    expect(again.inOrder).toBe(true);
    expect(again.agents.map((a) => [a.id, a.free])).toEqual([
      ['a0', [0, 0, 4000, 0]],
      ['a1', [0, 0, 2000, 0]],
    ]);
  });

  it('reads an agent again when the batch placed on it but its row did not change', () => {
    const cache = new AgentCache();
    const state = createSelectorState();
    const rows = [agent('a0', { cpu: 4000 })];
    const first = placeBatch('fifo', 'concentrated', [session('s1')], view(rows), state, cache);
    expect(summary(first)).toEqual(['s1 k0@a0']);
    // The write was refused: the store still says a0 is empty, so s2 and s3 both fit.
    const sessions = [session('s2', { kernels: [{ cpu: 3000 }] }), session('s3')];
    const second = placeBatch('fifo', 'concentrated', sessions, view(rows), state, cache);
    expect(summary(second)).toEqual(['s2 k0@a0', 's3 k0@a0']);
  });

  it('remembers a session that fit nowhere until some agent gains free slots', () => {
    const cache = new AgentCache();
    const state = createSelectorState();
    const big = session('big', { kernels: [{ cpu: 6000 }] });
    const need = [0, 0, 6000, 0];
    let rows = [agent('a0', { cpu: 4000 }, { cpu: 1000 })];
    const first = placeBatch('fifo', 'concentrated', [big], view(rows), state, cache);
    expect(first).toEqual([
      {
        sessionId: 'big',
        predicate: 'capacity',
        message:
          'kernel "k0" needs cpu=6000; no schedulable agent has that free (schedulable agents: 1)',
      },
    ]);
    expect(cache.misses.knows('big', need)).toBe(true);
    rows = [{ ...rows[0]!, reserved: { cpu: 2000 } }];
    expect(placeBatch('fifo', 'concentrated', [big], view(rows), state, cache)).toEqual(first);
    expect(cache.misses.knows('big', need)).toBe(true);
    rows = [{ ...rows[0]!, reserved: {} }];
    placeBatch(
      'fifo',
      'concentrated',
      [session('s1', { kernels: [{ cpu: 9000 }] })],
      view(rows),
      state,
      cache,
    );
    expect(cache.misses.knows('big', need)).toBe(false);
  });

  it('starts over when an agent joins, leaves or changes schedulability', () => {
    const cache = new AgentCache();
    const rows = [agent('a0', { cpu: 4000 })];
    cache.workAgents(rows, 'dispersed');
    cache.placed([]);
    const joined = cache.workAgents([...rows, agent('a1', { cpu: 8000 })], 'dispersed');
    expect([joined.inOrder, joined.agents.map((a) => a.id)]).toEqual([false, ['a0', 'a1']]);
    cache.placed([]);
    const drained = cache.workAgents(
      [rows[0]!, agent('a1', { cpu: 8000 }, {}, false)],
      'dispersed',
    );
    expect([drained.inOrder, drained.agents.map((a) => a.id)]).toEqual([false, ['a0']]);
  });
});
