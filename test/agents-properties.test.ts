/**
 * Properties of the simulated fleet's reports under random calls, clock steps and report
 * faults (loss, duplication, reordering, agent loss): whatever the faults do to the order, a
 * report never announces what has not happened yet when it arrives, and every queued report is
 * delivered or dropped in the end.
 *
 * Runs are reproducible: the seed is fixed (override with FC_SEED); re-run with
 * FC_SEED=<seed> to replay a counterexample.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentReport } from '../src/manager/ports.js';
import { create, destroy, fleet, pull } from './agents-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 0x5e55_2001);
const NUM_RUNS = Number(process.env.FC_RUNS ?? 300);

type Step =
  | { op: 'pull' | 'create' | 'destroy'; session: number; attempt: number }
  | { op: 'advance'; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constantFrom('pull' as const, 'create' as const, 'destroy' as const),
    session: fc.nat(3),
    attempt: fc.integer({ min: 1, max: 2 }),
  }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 25_000 }) }),
);

const runArb = fc.record({
  seed: fc.nat({ max: 0xffff }),
  lostReports: fc.constantFrom(0, 0.2),
  duplicatedReports: fc.constantFrom(0, 0.3),
  reorderedReports: fc.constantFrom(0, 0.5, 1),
  agentLoss: fc.constantFrom(0, 0.02),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 40 }),
});

/** What was wrong with a report when it arrived, if anything. */
type Problem = { at: number; report: AgentReport; found: string };

describe('simulated fleet reports (properties)', () => {
  it('a kernel report arrives only once its kernel is in that state; queue drains', async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async ({ seed, steps, ...rates }) => {
        const { agents, clock, advance } = fleet({ seed, faults: rates });
        const problems: Problem[] = [];
        agents.onReport((report) => {
          if (report.type !== 'kernel.started' && report.type !== 'kernel.creating') return;
          const kernel = agents
            .liveKernels()
            .find(
              (k) =>
                k.agentId === report.agentId &&
                k.sessionId === report.sessionId &&
                k.kernelId === report.kernelId &&
                k.attempt === report.attempt,
            );
          // A started kernel must be running; one being created exists (it may run already).
          const ok = report.type === 'kernel.started' ? kernel?.state === 'running' : !!kernel;
          if (!ok) problems.push({ at: clock.t, report, found: kernel?.state ?? 'absent' });
        });
        for (const step of steps) {
          if (step.op === 'advance') {
            advance(clock.t + step.ms);
            continue;
          }
          const session = `s${step.session}`;
          if (step.op === 'pull') await agents.pullImages(pull(session, 'a1', step.attempt));
          if (step.op === 'create') await agents.createKernels(create(session, 'a1', step.attempt));
          if (step.op === 'destroy')
            await agents.destroyKernels(destroy(session, 'a1', step.attempt));
        }
        // Long enough for every latency and scripted delay: nothing may stay queued.
        advance(clock.t + 10 * 60_000);
        expect(problems).toEqual([]);
        expect(agents.reportStats().pending).toBe(0);
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
  });
});
