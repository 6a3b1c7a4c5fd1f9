/**
 * Regressions found by the model and property tests, each pinned as the exact trace that
 * showed it.
 */
import { describe, expect, it } from 'vitest';
import { decide, type SessionSnapshot, start } from '../src/core/decide.js';
import type { SessionEvent } from '../src/core/events.js';
import { defaultPolicy } from '../src/policy/defaults.js';

const T0 = 1_700_000_000_000;
const at = (seconds: number) => T0 + seconds * 1_000;

function run(events: SessionEvent[]): SessionSnapshot {
  const spec = {
    id: 's1',
    owner: 'alice',
    image: 'python:3.12',
    priority: 0,
    kernels: [{ id: 'k0', slots: { cpu: 1000 } }],
    dependsOn: [],
    submittedAt: T0,
  };
  let snapshot = start({ spec, policy: defaultPolicy, seed: 1, now: T0 }).next;
  for (const event of events) snapshot = decide(snapshot, event).next;
  return snapshot;
}

/**
 * Attempt 1's kernel is destroyed in cleanup; the cleanup times out once (the destroy is asked
 * again), the destroy then confirms, and attempt 2 starts.
 */
const secondAttemptRunning: SessionEvent[] = [
  { type: 'SCHEDULE', now: at(1), placement: { k0: 'a0' } },
  { type: 'PREPARE', now: at(2) },
  { type: 'IMAGE_PULLED', now: at(3), agentId: 'a0', attempt: 1 },
  { type: 'START', now: at(4) },
  { type: 'KERNEL_CREATING', now: at(5), agentId: 'a0', kernelId: 'k0', attempt: 1 },
  {
    type: 'CREATE_FAILED',
    now: at(6),
    agentId: 'a0',
    attempt: 1,
    failure: { class: 'transient', code: 'agent-busy', message: 'busy' },
  },
  { type: 'xstate.after.cleanupTimeout.session.CREATING.cleanup', now: at(130) },
  {
    type: 'KERNEL_TERMINATED',
    now: at(140),
    agentId: 'a0',
    kernelId: 'k0',
    outcome: 'CANCELLED',
    attempt: 1,
  },
  { type: 'xstate.after.createBackoff.session.CREATING.backoff', now: at(150) },
  { type: 'KERNEL_STARTED', now: at(160), agentId: 'a0', kernelId: 'k0', attempt: 2 },
];

describe('regressions', () => {
  it('asks the destroy again instead of creating when the cleanup times out', () => {
    const upToTimeout = secondAttemptRunning.slice(0, 7);
    const snapshot = run(upToTimeout.slice(0, 6));
    const { next, effects } = decide(snapshot, upToTimeout[6]!);
    expect(next.value).toEqual({ CREATING: 'cleanup' });
    expect(effects.map((effect) => effect.type)).not.toContain('createKernels');
    expect(effects.filter((effect) => effect.type === 'destroyKernels')).toHaveLength(1);
  });

  it('reaches RUNNING on the second create attempt after a cleanup that timed out', () => {
    const snapshot = run(secondAttemptRunning);
    expect(snapshot.value).toBe('RUNNING');
    expect(snapshot.context.kernels.map((k) => [k.status, k.attempt])).toEqual([['RUNNING', 2]]);
  });

  // The report carries the attempt of the kernel it is about (attempt 1 here); a
  // chart that cannot tell it from attempt 2's kernel ends the session and orphans that kernel.
  it('ignores a late termination report of the previous attempt kernel', () => {
    const before = run(secondAttemptRunning);
    const late: SessionEvent = {
      type: 'KERNEL_TERMINATED',
      now: at(161), // a duplicate of the confirmation that already ended the cleanup
      agentId: 'a0',
      kernelId: 'k0',
      outcome: 'CANCELLED',
      attempt: 1,
    };
    const { next, effects } = decide(before, late);
    expect(next.value).toBe('RUNNING');
    expect(effects).toEqual([]);
  });
});
