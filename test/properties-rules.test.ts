/**
 * The safety rules of properties-decide.test.ts must catch what they are named for: each is fed
 * a hand-made run that breaks it (and one that keeps it) and must say which step broke it.
 */
import { describe, expect, it } from 'vitest';
import type { SessionContext, SessionInput } from '../src/core/context.js';
import type { Effect } from '../src/core/effects.js';
import type { SessionEvent } from '../src/core/events.js';
import { defaultPolicy } from '../src/policy/defaults.js';
import { createOnlyWhenEarlierKernelsGone } from './helpers/kernel-ledger.js';
import {
  backoffWithinBounds,
  finalStatesAbsorb,
  reservationsBalance,
} from './helpers/trace-rules.js';
import type { Snapshot, TraceRun } from './helpers/trace-run.js';

const T0 = 1_700_000_000_000;
const input: SessionInput = {
  spec: {
    id: 's1',
    owner: 'alice',
    image: 'img',
    priority: 0,
    kernels: [{ id: 'k0', slots: { cpu: 1000 } }],
    dependsOn: [],
    submittedAt: T0,
  },
  policy: defaultPolicy,
  seed: 1,
  now: T0,
};

/** A stand-in snapshot: only what the rules read. */
function snap(value: unknown, context: Partial<SessionContext> = {}, done = false): Snapshot {
  const base = { holds: {}, attempts: { pull: 0, create: 0 }, lastFailure: null, reschedules: 0 };
  return { status: done ? 'done' : 'active', value, context: { ...base, ...context } } as never;
}

/** A run whose steps are (event, effects, snapshot after) in order. */
function runOf(steps: [SessionEvent, Effect[], Snapshot][]): TraceRun {
  const initial = snap('PENDING');
  const records = steps.map(([event, effects, after], index) => ({
    index,
    before: index === 0 ? initial : steps[index - 1]![2],
    event,
    after,
    effects,
  }));
  return { input, initialEffects: [], initial, records, final: records.at(-1)?.after ?? initial };
}

const reserve: Effect = { type: 'reserve', sessionId: 's1', agentId: 'a0', slots: { cpu: 1000 } };
const release: Effect = { ...reserve, type: 'release' };
const held = { holds: { a0: { cpu: 1000 } } };
const schedule: SessionEvent = { type: 'SCHEDULE', now: T0, placement: { k0: 'a0' } };
const cancel: SessionEvent = { type: 'CANCEL', now: T0 + 1 };

describe('safety rules catch what they are named for', () => {
  it('reservations: a session ending with its reservation still open', () => {
    const run = runOf([
      [schedule, [reserve], snap('SCHEDULED', held)],
      [cancel, [], snap('CANCELLED', {}, true)],
    ]);
    expect(reservationsBalance(run)).toBe(
      'step 1: open reservations [["a0",{"cpu":1000}]] != holds {}',
    );
  });

  it('reservations: reserve then release of the same slots keeps the rule', () => {
    const run = runOf([
      [schedule, [reserve], snap('SCHEDULED', held)],
      [cancel, [release], snap('CANCELLED', {}, true)],
    ]);
    expect(reservationsBalance(run)).toBeNull();
  });

  it('final states: an effect emitted after the end', () => {
    const run = runOf([
      [cancel, [], snap('CANCELLED', {}, true)],
      [schedule, [reserve], snap('CANCELLED', {}, true)],
    ]);
    expect(finalStatesAbsorb(run)).toBe('step 1: final snapshot moved or emitted [reserve]');
  });

  it('creates: a second createKernels while the first kernel may exist', () => {
    const create = (attempt: number): Effect => ({
      type: 'createKernels',
      sessionId: 's1',
      agentId: 'a0',
      image: 'img',
      kernels: [{ kernelId: 'k0', slots: { cpu: 1000 } }],
      attempt,
      key: `s1/a0/create/${attempt}`,
    });
    const timer: SessionEvent = { type: 'xstate.after.createBackoff.x', now: T0 + 2 };
    const run = runOf([
      [{ type: 'START', now: T0 }, [create(1)], snap({ CREATING: 'creating' })],
      [timer, [create(2)], snap({ CREATING: 'creating' })],
    ]);
    expect(createOnlyWhenEarlierKernelsGone(run)).toBe(
      'step 1: createKernels attempt 2 on a0 while a0/k0@1 may exist',
    );
  });

  it('backoff: a delay above the bound of the retry', () => {
    const failed: SessionEvent = {
      type: 'CREATE_FAILED',
      now: T0,
      agentId: 'a0',
      attempt: 1,
      failure: { class: 'transient', code: 'busy', message: 'busy' },
    };
    const timer: Effect = {
      type: 'setTimer',
      sessionId: 's1',
      timerId: 't',
      event: 'xstate.after.createBackoff.session.CREATING.backoff',
      dueAt: T0 + 10_001,
    };
    const after = snap({ CREATING: 'backoff' }, { attempts: { pull: 1, create: 1 } });
    expect(backoffWithinBounds(runOf([[failed, [timer], after]]))).toBe(
      'step 0: create backoff 10001 ms outside [5000, 10000] (retry 1, equal)',
    );
  });
});
