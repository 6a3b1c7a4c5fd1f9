/**
 * fast-check generators, one per domain object: slots, session specs, retry policies, failures,
 * chart inputs, and the steps of event traces. A trace step is a recipe, not an event: it is
 * turned into an event only when run, by looking at the snapshot it is applied to (see
 * `helpers/trace-events.ts`), so most steps are events the session can take now.
 */
import fc from 'fast-check';
import type { SessionInput } from '../src/core/context.js';
import {
  FAILURE_CLASSES,
  type Failure,
  type FailureClass,
  type KernelSpec,
  type SessionSpec,
  type Slots,
} from '../src/core/types.js';
import { JITTER_KINDS, type RetryPolicy, type StagePolicy } from '../src/policy/types.js';

/** The agents traces place kernels on. `ghost` is never one of them (see NOISE_KINDS). */
export const AGENT_IDS = ['a0', 'a1', 'a2', 'a3'] as const;
/** The session id every single-session trace uses. */
export const SESSION_ID = 's1';
/** The first clock value of every trace (epoch ms). */
export const T0 = 1_700_000_000_000;

/** A kernel's slots: integer millicores and MiB, sometimes whole or fractional GPUs. */
export const slotsArb: fc.Arbitrary<Slots> = fc
  .record({
    cpu: fc.integer({ min: 100, max: 16_000 }),
    mem: fc.integer({ min: 64, max: 131_072 }),
    gpu: fc.oneof(
      fc.constant({}),
      fc.record({ 'cuda.device': fc.integer({ min: 1, max: 8 }) }),
      fc.record({ 'cuda.shares': fc.integer({ min: 1, max: 1000 }) }),
    ),
  })
  .map(({ cpu, mem, gpu }) => ({ cpu, mem, ...gpu }));

/** A normalized spec of 1 to 4 kernels (`k0`..`k3`). */
export const sessionSpecArb: fc.Arbitrary<SessionSpec> = fc
  .record({
    owner: fc.constantFrom('alice', 'bob', 'carol'),
    image: fc.constantFrom('python:3.12', 'pytorch:2.4-cuda12', 'tensorflow:2.16'),
    priority: fc.integer({ min: 0, max: 10 }),
    slots: fc.array(slotsArb, { minLength: 1, maxLength: 4 }),
  })
  .map(({ owner, image, priority, slots }) => ({
    id: SESSION_ID,
    owner,
    image,
    priority,
    kernels: slots.map(
      (kernelSlots, index): KernelSpec => ({ id: `k${index}`, slots: kernelSlots }),
    ),
    dependsOn: [],
    submittedAt: T0,
  }));

/**
 * One stage's retry settings within the validated ranges. Attempts stay small so short traces
 * reach the budget's end; multiplier and delays cover the capped and uncapped regimes.
 */
export const stagePolicyArb: fc.Arbitrary<StagePolicy> = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 4 }),
    initialDelayMs: fc.integer({ min: 0, max: 20_000 }),
    multiplier: fc.oneof(
      fc.constant(1),
      fc.constant(2),
      fc.double({ min: 1, max: 10, noNaN: true }),
    ),
    extraDelayMs: fc.integer({ min: 0, max: 300_000 }),
    jitter: fc.constantFrom(...JITTER_KINDS),
    timeoutMs: fc.integer({ min: 2, max: 900_000 }),
    recheckFraction: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  })
  .map((raw) => ({
    maxAttempts: raw.maxAttempts,
    initialDelayMs: raw.initialDelayMs,
    multiplier: raw.multiplier,
    maxDelayMs: raw.initialDelayMs + raw.extraDelayMs,
    jitter: raw.jitter,
    timeoutMs: raw.timeoutMs,
    // 1 <= recheckMs < timeoutMs, as validation demands
    recheckMs: 1 + Math.floor(raw.recheckFraction * (raw.timeoutMs - 1)),
  }));

/** A complete, valid retry policy, with and without an overall deadline. */
export const retryPolicyArb: fc.Arbitrary<RetryPolicy> = fc
  .record({
    pull: stagePolicyArb,
    create: stagePolicyArb,
    rescheduleBudget: fc.integer({ min: 0, max: 3 }),
    // an overall deadline in a quarter of the policies, long enough not to end every trace
    deadlineMs: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 3 },
      { arbitrary: fc.integer({ min: 600_000, max: 7_200_000 }), weight: 1 },
    ),
    cleanupTimeoutMs: fc.integer({ min: 1, max: 300_000 }),
  })
  .map(({ deadlineMs, ...rest }) => (deadlineMs === undefined ? rest : { ...rest, deadlineMs }));

const FAILURE_CODES: Record<FailureClass, string[]> = {
  transient: ['connection-refused', 'agent-busy', 'registry-5xx'],
  ambiguous: ['create-timeout', 'rpc-timeout'],
  agent: ['agent-lost', 'insufficient-capacity', 'agent-unschedulable'],
  permanent: ['image-not-found', 'bad-spec', 'quota-exceeded'],
};

/** A failure of one of `classes` (every class by default), with or without `retryAfterMs`. */
export function failureArb(
  classes: readonly FailureClass[] = FAILURE_CLASSES,
): fc.Arbitrary<Failure> {
  return fc
    .constantFrom(...classes)
    .chain((failureClass) =>
      fc.record({
        class: fc.constant(failureClass),
        code: fc.constantFrom(...FAILURE_CODES[failureClass]),
        retryAfterMs: fc.option(fc.integer({ min: 0, max: 400_000 }), { nil: undefined }),
      }),
    )
    .map(({ retryAfterMs, ...failure }) => {
      const base = { ...failure, message: `${failure.code} (${failure.class})` };
      return retryAfterMs === undefined ? base : { ...base, retryAfterMs };
    });
}

/** The chart's input: a spec, a policy, a jitter seed and the submit time. */
export const sessionInputArb: fc.Arbitrary<SessionInput> = fc.record({
  spec: sessionSpecArb,
  policy: retryPolicyArb,
  seed: fc.nat({ max: 0xffff_ffff }),
  now: fc.constant(T0),
});

/**
 * What a trace step does. `progress`: an event that moves the session forward from where it
 * is; `failure`: a failure report for the current attempt; `timer`: the earliest armed timer
 * fires. The rest are noise the chart must ignore or absorb.
 */
export const STEP_KINDS = [
  'progress',
  'failure',
  'timer',
  'late',
  'duplicate',
  'other-attempt',
  'unknown-agent',
  'unknown-kernel',
  'stray-timer',
  'error-actor',
  'verify',
  'cancel',
  'terminate',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** The raw choices of one step; `helpers/trace-events.ts` turns them into an event. */
export interface TraceStep {
  kind: StepKind;
  /** Picks among the candidate events (mod their count). */
  pick: number;
  /** Used when the step reports a failure. */
  failure: Failure;
  /** Per kernel index: what an inspection finds (when the step is an inspection result). */
  inspected: ('creating' | 'running' | 'absent')[];
  outcome: 'TERMINATED' | 'CANCELLED';
  /** Clock advance before the event, ms. */
  advanceMs: number;
}

const WEIGHTS: Record<StepKind, number> = {
  progress: 40,
  failure: 10,
  timer: 12,
  late: 2,
  duplicate: 2,
  'other-attempt': 2,
  'unknown-agent': 2,
  'unknown-kernel': 1,
  'stray-timer': 2,
  'error-actor': 1,
  verify: 1,
  cancel: 1,
  terminate: 1,
};

const stepKindArb: fc.Arbitrary<StepKind> = fc.oneof(
  ...STEP_KINDS.map((kind) => ({ arbitrary: fc.constant(kind), weight: WEIGHTS[kind] })),
);

/** One step; inspections mostly find running kernels so verification can succeed. */
export const traceStepArb: fc.Arbitrary<TraceStep> = fc.record({
  kind: stepKindArb,
  pick: fc.nat({ max: 1 << 20 }),
  failure: failureArb(),
  inspected: fc.array(
    fc.oneof(
      { arbitrary: fc.constant('running' as const), weight: 3 },
      { arbitrary: fc.constant('creating' as const), weight: 1 },
      { arbitrary: fc.constant('absent' as const), weight: 1 },
    ),
    { minLength: 4, maxLength: 4 },
  ),
  outcome: fc.constantFrom('TERMINATED' as const, 'CANCELLED' as const),
  advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60_000 })),
});

/** A trace of steps; short by default so 1,000 runs stay within a few seconds. */
export function traceArb(maxLength = 40): fc.Arbitrary<TraceStep[]> {
  const minLength = Math.min(10, maxLength);
  return fc.array(traceStepArb, { minLength, maxLength, size: 'max' });
}
