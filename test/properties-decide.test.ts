/**
 * Safety rules of the decision core, checked over random event traces: mostly events the
 * session can take where it is, mixed with late, duplicated, other-attempt, unknown-agent,
 * stray timer and stray actor-error events, cancels and terminates at random points.
 *
 * Runs are reproducible: the seed is fixed (override with FC_SEED) and fast-check prints the
 * seed and the shrink path of any counterexample; re-run with FC_SEED=<seed> to replay it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import type { SessionInput } from '../src/core/context.js';
import { persist } from '../src/core/persist.js';
import { sessionInputArb, type TraceStep, traceArb } from './arbitraries.js';
import { allStateNodes } from './helpers/chart-graph.js';
import {
  createOnlyWhenEarlierKernelsGone,
  noKernelOutlivesSession,
} from './helpers/kernel-ledger.js';
import { pathOf } from './helpers/trace-events.js';
import {
  attemptsWithinBudget,
  backoffWithinBounds,
  failureClassesHonoured,
  finalStatesAbsorb,
  keysNameOneRequest,
  neverErrorStatus,
  reservationsBalance,
  specAndPolicyFixed,
  type Violation,
} from './helpers/trace-rules.js';
import { allEffects, describeRun, runTrace, type TraceRun, viewOf } from './helpers/trace-run.js';

/** Fixed unless FC_SEED is set, so CI runs are reproducible. */
const SEED = Number(process.env.FC_SEED ?? 0x5e55_1001);
const NUM_RUNS = Number(process.env.FC_RUNS ?? 1000);

/** Every `xstate.after.*` event type the chart declares, for stray timer events. */
function timerEventTypes(node: AnyStateNode): string[] {
  const own = node.after.map((transition) => transition.eventType);
  return [...own, ...Object.values(node.states).flatMap(timerEventTypes)];
}
const TIMER_EVENTS = timerEventTypes(sessionMachine.root);

const scenarioArb = fc.record({ input: sessionInputArb, steps: traceArb(40) });
type Scenario = { input: SessionInput; steps: TraceStep[] };

/**
 * Runs are memoized by scenario: every rule below draws the same NUM_RUNS scenarios from the
 * same seed, so each trace is decided once and judged by every rule.
 */
const runs = new Map<string, TraceRun>();
const MAX_MEMO = 4 * NUM_RUNS;

function runOf({ input, steps }: Scenario): TraceRun {
  const key = JSON.stringify({ input, steps });
  let run = runs.get(key);
  if (!run) {
    if (runs.size >= MAX_MEMO) runs.clear();
    run = runTrace(input, steps, { timerEventTypes: TIMER_EVENTS });
    runs.set(key, run);
  }
  return run;
}

/** Checks `rule` on NUM_RUNS random traces; a failure shows the seed, the trace and the rule. */
function holds(rule: (run: TraceRun) => Violation): void {
  fc.assert(
    fc.property(scenarioArb, (scenario) => {
      const run = runOf(scenario);
      const violation = rule(run);
      expect(violation, `${violation}\n(FC_SEED=${SEED})\n${describeRun(run)}`).toBeNull();
    }),
    { seed: SEED, numRuns: NUM_RUNS },
  );
}

/** Where the traces went: state paths reached, and how often retries and reschedules ran. */
function reach(): { states: Set<string>; createRetries: number; reschedules: number } {
  const states = new Set<string>();
  let createRetries = 0;
  let reschedules = 0;
  for (const scenario of fc.sample(scenarioArb, { seed: SEED, numRuns: NUM_RUNS })) {
    const run = runOf(scenario);
    for (const record of run.records) states.add(pathOf(viewOf(record.after).value).join('.'));
    const creates = allEffects(run).filter(({ effect }) => effect.type === 'createKernels');
    if (creates.some(({ effect }) => 'attempt' in effect && effect.attempt > 1)) createRetries++;
    if (viewOf(run.final).context.reschedules > 0) reschedules++;
  }
  return { states, createRetries, reschedules };
}

describe('decide: the trace generator', () => {
  it('reaches every resting state of the chart, create retries and reschedules', () => {
    const { states, createRetries, reschedules } = reach();
    const resting = allStateNodes(sessionMachine.root)
      .filter((node) => node.type === 'atomic' || node.type === 'final')
      .filter((node) => !node.always?.length)
      .map((node) => node.path.join('.'));
    expect(resting.filter((path) => !states.has(path))).toEqual([]);
    expect(createRetries).toBeGreaterThanOrEqual(NUM_RUNS / 100);
    expect(reschedules).toBeGreaterThanOrEqual(NUM_RUNS / 100);
  });
});

describe('decide: safety rules over random event traces', () => {
  it('final states are absorbing', () => {
    holds(finalStatesAbsorb);
  });

  it('the spec and the policy never change after submit', () => {
    holds(specAndPolicyFixed);
  });

  it('every reserve is matched by exactly one release (same agent and slots)', () => {
    holds(reservationsBalance);
  });

  it('attempts per stage never exceed the policy maxAttempts', () => {
    holds(attemptsWithinBudget);
  });

  it('never asks for createKernels while kernels of an earlier attempt may exist', () => {
    holds(createOnlyWhenEarlierKernelsGone);
  });

  it('never ends a session with a kernel that may exist and was not ordered destroyed', () => {
    holds(noKernelOutlivesSession);
  });

  it('never retries a permanent failure, never gives up a transient one with budget', () => {
    holds(failureClassesHonoured);
  });

  it('every backoff delay is within the policy bounds ([0, maxDelayMs] on retryAfterMs)', () => {
    holds(backoffWithinBounds);
  });

  it('the snapshot status is never error', () => {
    holds(neverErrorStatus);
  });

  it('an idempotency key is never reused for a different request', () => {
    holds(keysNameOneRequest);
  });

  it('a persist/restore round trip at any step changes nothing that follows', () => {
    fc.assert(
      fc.property(scenarioArb, ({ input, steps }) => {
        const plain = runOf({ input, steps });
        const stored = runTrace(input, steps, { timerEventTypes: TIMER_EVENTS, roundTrip: true });
        const trail = (run: TraceRun) =>
          run.records.map((record) => ({
            event: record.event,
            effects: record.effects,
            after: persist(record.after),
          }));
        expect(trail(stored), `(FC_SEED=${SEED})\n${describeRun(plain)}`).toEqual(trail(plain));
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
  });

  it("persist writes exactly XState's getPersistedSnapshot, key order included", () => {
    fc.assert(
      fc.property(scenarioArb, ({ input, steps }) => {
        for (const { after } of runOf({ input, steps }).records) {
          const ours = persist(after);
          const xstate = sessionMachine.getPersistedSnapshot(after);
          expect(ours).toStrictEqual(xstate);
          expect(JSON.stringify(ours)).toBe(JSON.stringify(xstate));
        }
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
  });
});
