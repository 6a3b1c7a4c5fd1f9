/**
 * The compiled fast path of `decide` against XState itself: on random event traces, `decide`
 * and `transition(sessionMachine, ...)` give the same state values, contexts, statuses and
 * effects at every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AnyMachineSnapshot, initialTransition, transition } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import { appendEffects } from '../src/core/actions-to-effects.js';
import type { SessionInput } from '../src/core/context.js';
import { decide, type SessionSnapshot, start, statusOf, substateOf } from '../src/core/decide.js';
import type { Effect } from '../src/core/effects.js';
import type { SessionEvent } from '../src/core/events.js';
import { persist, restore } from '../src/core/persist.js';
import { FAILURE_CLASSES } from '../src/core/types.js';
import { T, testPolicy } from './helpers/chart-kit.js';

/** Fixed unless FC_SEED is set, so CI runs are reproducible. */
const SEED = Number(process.env.FC_SEED ?? 20_240_611);

/** Every state a session can rest in, as `status/substate`. */
const RESTING_STATES = [
  'CANCELLED/',
  'CREATING/backoff',
  'CREATING/cleanup',
  'CREATING/creating',
  'CREATING/verifying.waiting',
  'ERROR/',
  'PENDING/',
  'PREPARED/',
  'PREPARING/backoff',
  'PREPARING/pulling.waiting',
  'RUNNING/',
  'SCHEDULED/',
  'TERMINATED/',
  'TERMINATING/',
];
const visited = new Set<string>();
/** Runs per round; further rounds (seed + 1, ...) run only until every resting state is seen. */
const RUNS = 1000;
const MAX_ROUNDS = 5;

const AGENTS = ['a1', 'a2', 'a3'];
const KERNELS = ['k0', 'k1', 'k2'];

const inputArb = fc
  .record({
    kernels: fc.integer({ min: 1, max: 3 }),
    pullAttempts: fc.integer({ min: 1, max: 3 }),
    createAttempts: fc.integer({ min: 1, max: 3 }),
    rescheduleBudget: fc.integer({ min: 0, max: 2 }),
    jitter: fc.constantFrom('none', 'full', 'equal', 'decorrelated' as const),
    deadlineMs: fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 2_000_000 }) },
    ),
    seed: fc.nat(),
  })
  .map(
    (r): SessionInput => ({
      spec: {
        id: 's1',
        owner: 'o',
        image: 'img',
        priority: 0,
        kernels: KERNELS.slice(0, r.kernels).map((id) => ({ id, slots: { cpu: 100 } })),
        dependsOn: [],
        submittedAt: 0,
      },
      policy: {
        ...testPolicy,
        pull: { ...testPolicy.pull, maxAttempts: r.pullAttempts, jitter: r.jitter },
        create: { ...testPolicy.create, maxAttempts: r.createAttempts, jitter: r.jitter },
        rescheduleBudget: r.rescheduleBudget,
        ...(r.deadlineMs === undefined ? {} : { deadlineMs: r.deadlineMs }),
      },
      seed: r.seed,
      now: 0,
    }),
  );

const agent = fc.constantFrom(...AGENTS);
const kernel = fc.constantFrom(...KERNELS);
const attempt = fc.integer({ min: 0, max: 3 });
const failureArb = fc.record({
  class: fc.constantFrom(...FAILURE_CLASSES),
  code: fc.constant('c'),
  message: fc.constant('m'),
  retryAfterMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
});
const found = fc.constantFrom('creating', 'running', 'absent' as const);

/** An event without `now`: the trace adds a non-decreasing clock. */
const bodyArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant('SCHEDULE'), placement: fc.dictionary(kernel, agent) }),
  fc.record({
    type: fc.constant('PLACEMENT_FAILED'),
    predicate: fc.constant('p'),
    message: fc.constant('m'),
  }),
  fc.constantFrom(
    ...['PREPARE', 'START', 'TERMINATE', 'VERIFY', 'CANCEL'].map((type) => ({ type })),
  ),
  fc.record({ type: fc.constantFrom('IMAGE_PULLING', 'IMAGE_PULLED'), agentId: agent, attempt }),
  fc.record({
    type: fc.constantFrom('PULL_FAILED', 'CREATE_FAILED', 'INSPECT_FAILED'),
    agentId: agent,
    attempt,
    failure: failureArb,
  }),
  fc.record({
    type: fc.constantFrom('KERNEL_CREATING', 'KERNEL_STARTED'),
    agentId: agent,
    kernelId: kernel,
    attempt,
  }),
  fc.record({
    type: fc.constant('KERNELS_INSPECTED'),
    agentId: agent,
    attempt,
    kernels: fc.dictionary(kernel, found),
  }),
  fc.record({
    type: fc.constant('KERNEL_TERMINATED'),
    agentId: agent,
    kernelId: kernel,
    outcome: fc.constantFrom('TERMINATED', 'CANCELLED'),
  }),
  fc.record({ type: fc.constant('AGENT_LOST'), agentId: agent }),
  fc.constantFrom(...Object.values(T).map((type) => ({ type }))),
  fc.constant({ type: 'xstate.error.actor.child' }),
);

/** One step: a choice among the events that matter now, or (sometimes) random noise. */
const stepArb = fc.record({
  choice: fc.noBias(fc.nat()),
  noise: bodyArb,
  useNoise: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  advance: fc.integer({ min: 0, max: 5_000 }),
  roundTrip: fc.boolean(),
});
const traceArb = fc.array(stepArb, { minLength: 5, maxLength: 45, size: 'max' });

/** Events that the snapshot can plausibly take now, built from its context and armed timers. */
function relevant(
  snapshot: SessionSnapshot,
  choice: number,
  armed: Map<string, number>,
): Record<string, unknown>[] {
  const ctx = snapshot.context;
  const pick = <T>(list: readonly T[], salt: number): T =>
    list[Math.floor(choice / salt) % list.length] as T;
  const failure = { class: pick(FAILURE_CLASSES, 7), code: 'c', message: 'm' };
  const placed = [...new Set(ctx.kernels.map((k) => k.agentId).filter((a) => a !== null))];
  const pull = ctx.attempts.pull;
  const create = ctx.attempts.create;
  const placement = Object.fromEntries(ctx.kernels.map((k, i) => [k.id, pick(AGENTS, 3 + i)]));
  const events: Record<string, unknown>[] = [
    { type: 'SCHEDULE', placement },
    { type: 'PREPARE' },
    { type: 'START' },
  ];
  // Cancel and terminate end the session: offer them on some steps only, so traces get deep.
  if (choice % 6 === 0) events.push({ type: pick(['CANCEL', 'TERMINATE', 'VERIFY'], 11) });
  for (const agentId of placed) {
    const found = Object.fromEntries(
      ctx.kernels
        .filter((k) => k.agentId === agentId)
        .map((k, i) => [k.id, pick(['running', 'creating', 'absent', 'running'], 5 + i)]),
    );
    events.push(
      { type: pick(['IMAGE_PULLED', 'IMAGE_PULLING', 'IMAGE_PULLED'], 13), agentId, attempt: pull },
      { type: 'PULL_FAILED', agentId, attempt: pull, failure },
      { type: 'CREATE_FAILED', agentId, attempt: create, failure },
      { type: 'KERNELS_INSPECTED', agentId, attempt: create, kernels: found },
      { type: pick(['INSPECT_FAILED', 'AGENT_LOST'], 17), agentId, attempt: create, failure },
    );
  }
  for (const k of ctx.kernels) {
    if (k.agentId === null) continue;
    const base = { agentId: k.agentId, kernelId: k.id };
    events.push(
      { type: pick(['KERNEL_STARTED', 'KERNEL_CREATING'], 19), ...base, attempt: create },
      {
        type: 'KERNEL_TERMINATED',
        ...base,
        outcome: pick(['CANCELLED', 'TERMINATED'], 23),
        ...(choice % 3 === 0 ? {} : { attempt: pick([k.attempt, Math.max(0, k.attempt - 1)], 29) }),
      },
    );
  }
  for (const [type, dueAt] of armed) {
    // The overall deadline ends the session: offer it rarely so traces get deep.
    if (type !== T.deadline || choice % 8 === 0) events.push({ type, dueAt });
  }
  return events;
}

function track(armed: Map<string, number>, effects: readonly Effect[]): void {
  for (const effect of effects) {
    if (effect.type === 'setTimer') armed.set(effect.event, effect.dueAt);
    if (effect.type === 'cancelTimer') armed.delete(effect.timerId);
  }
}

/** XState's own answer: `transition()` and its executed actions turned into effects. */
function reference(snapshot: AnyMachineSnapshot, event: SessionEvent) {
  if (snapshot.status !== 'active') return { next: snapshot, effects: [] as Effect[] };
  const [next, actions] = transition(sessionMachine, snapshot as never, event as never);
  const effects: Effect[] = [];
  for (const action of actions)
    appendEffects(effects, action, snapshot.context.sessionId, event.now);
  return { next: next as AnyMachineSnapshot, effects };
}

function view(snapshot: AnyMachineSnapshot | SessionSnapshot) {
  return { value: snapshot.value, context: snapshot.context, status: snapshot.status };
}

describe('decide (compiled) equals XState transition()', () => {
  it('gives the same start snapshot and effects', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const [refNext, refActions] = initialTransition(sessionMachine, input);
        const refEffects: Effect[] = [];
        for (const action of refActions) appendEffects(refEffects, action, 's1', input.now);
        const ours = start(input);
        expect(view(ours.next)).toEqual(view(refNext));
        expect(ours.effects).toEqual(refEffects);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it(`gives the same values, contexts, statuses, effects on random traces (seed ${SEED})`, () => {
    for (let round = 0; round < MAX_ROUNDS && visited.size < RESTING_STATES.length; round += 1) {
      compareRandomTraces(SEED + round);
    }
    // The traces must reach every resting state, or the comparison above proves little.
    expect([...visited].sort()).toEqual(RESTING_STATES);
  }, 180_000);
});

/** Replays `RUNS` random traces (from `seed`) through `decide` and XState's `transition`. */
function compareRandomTraces(seed: number): void {
  fc.assert(
    fc.property(inputArb, traceArb, (input, trace) => {
      const begun = start(input);
      let ours: SessionSnapshot = begun.next;
      let theirs = initialTransition(sessionMachine, input)[0] as AnyMachineSnapshot;
      const armed = new Map<string, number>();
      track(armed, begun.effects);
      let now = 0;
      for (const [index, step] of trace.entries()) {
        const options = relevant(ours, step.choice, armed);
        const { dueAt, ...body } = step.useNoise
          ? step.noise
          : (options[step.choice % options.length] as Record<string, unknown>);
        now = typeof dueAt === 'number' ? Math.max(now, dueAt) : now + step.advance;
        const event = { ...body, now } as SessionEvent;
        const before = step.roundTrip ? restore(JSON.parse(JSON.stringify(persist(ours)))) : ours;
        const decided = decide(before, event);
        const expected = reference(theirs, event);
        const where = `step ${index} (${event.type}), seed ${seed}`;
        expect(view(decided.next), where).toEqual(view(expected.next));
        expect(decided.effects, where).toEqual(expected.effects);
        expect(decided.next.status, where).not.toBe('error');
        track(armed, decided.effects);
        visited.add(`${statusOf(decided.next)}/${substateOf(decided.next)}`);
        ours = decided.next;
        theirs = expected.next;
      }
    }),
    { seed, numRuns: RUNS },
  );
}
