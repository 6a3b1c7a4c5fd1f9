/**
 * The manager under seeded faults from every class, lost / duplicated / reordered reports and
 * agent loss: when the run goes quiet, no reservation or kernel has leaked and no session is
 * left between stages.
 */
import { describe, expect, it } from 'vitest';
import type { Status } from '../src/core/types.js';
import { placeablePending, readStore } from './helpers/invariants.js';
import { createHarness, expectNoLeaks, runUntil, spec } from './manager-harness.js';

/** Where a session may rest once nothing is due: waiting for capacity, running, or ended. */
const RESTING: readonly Status[] = ['PENDING', 'RUNNING', 'TERMINATED', 'CANCELLED', 'ERROR'];

describe('manager under seeded faults', () => {
  it.each([1, 2, 3])(
    'leaks nothing and leaves every session resting (fleet seed %i)',
    async (seed) => {
      const agents = Array.from({ length: 12 }, (_, index) => ({
        id: `a${index}`,
        capacity: { cpu: 8000, mem: 32768, 'cuda.device': 4 },
      }));
      const h = await createHarness({
        seed,
        agents,
        faults: {
          pullImages: { transient: 0.15, ambiguous: 0.05, agent: 0.03, permanent: 0.02 },
          createKernels: { transient: 0.15, ambiguous: 0.08, agent: 0.05, permanent: 0.02 },
          inspectKernels: { transient: 0.1 },
          destroyKernels: { transient: 0.1 },
          lostReports: 0.05,
          duplicatedReports: 0.05,
          reorderedReports: 0.05,
          agentLoss: 0.003,
        },
      });
      const ids: string[] = [];
      for (let index = 0; index < 60; index += 1) {
        const kernels = index % 5 === 0 ? 2 : 1;
        const slots = { cpu: 1000, mem: 2048, 'cuda.device': 1 };
        ids.push(await h.manager.submit(spec({ kernels: Array(kernels).fill({ slots }) })));
      }
      await runUntil(h, undefined, 5_000);
      const statuses = await h.store.transaction((tx) => tx.statuses());
      const counts: Record<string, number> = {};
      for (const status of statuses.values()) counts[status] = (counts[status] ?? 0) + 1;
      for (const status of Object.keys(counts)) expect(RESTING).toContain(status);
      // A session left PENDING waits for room: no schedulable agent can take it (agents lost
      // to the faults take their capacity with them, so how many run depends on the seed).
      expect(placeablePending(await readStore(h.store))).toEqual([]);
      expect(counts.RUNNING).toBeGreaterThan(0);
      expect(h.logs.filter((entry) => entry.level === 'error')).toEqual([]);
      await expectNoLeaks(h);
      for (const kernel of h.agents.liveKernels()) {
        expect(statuses.get(kernel.sessionId)).toBe('RUNNING');
      }
    },
  );
});

describe('placeablePending (the resting check above)', () => {
  it('names a PENDING session an agent has room for, and not one too large for any', async () => {
    const capacity = { cpu: 8000, mem: 32768, 'cuda.device': 4 };
    const h = await createHarness({ agents: [{ id: 'a0', capacity }] });
    const small = await h.manager.submit(spec({ kernels: [{ slots: { cpu: 1000 } }] }));
    const large = await h.manager.submit(
      spec({ kernels: [{ slots: { cpu: 1000, 'cuda.device': 8 } }] }),
    );
    // Submitted, not yet scheduled: the small one fits a0, the large one fits nowhere.
    expect(placeablePending(await readStore(h.store))).toEqual([`${small} PENDING/ fits an agent`]);
    await runUntil(h, undefined, 100);
    const statuses = await h.store.transaction((tx) => tx.statuses());
    expect([statuses.get(small), statuses.get(large)]).toEqual(['RUNNING', 'PENDING']);
    expect(placeablePending(await readStore(h.store))).toEqual([]);
  });
});
