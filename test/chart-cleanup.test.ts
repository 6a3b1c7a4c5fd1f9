import { describe, expect, it } from 'vitest';
import { MAX_CLEANUP_WAITS } from '../machines/session.model.js';
import type { SessionEvent } from '../src/core/events.js';
import type { FailureClass } from '../src/core/types.js';
import { creating, type Driver, ev, failure, fx, input, K0, K1, T } from './helpers/chart-kit.js';

/** Two kernels: k1 started on a2, then a1's create failed with `cls` at 6 -> cleanup of k1. */
function cleaningUp(cls: FailureClass): Driver {
  const d = creating(input(2));
  d.send(ev.started('a2', 'k1', 1));
  d.send(ev.createFailed('a1', 1, failure(cls), 6));
  return d;
}

const cleanupEntered = [
  fx.cancel(T.createTimeout),
  fx.cancel(T.createRecheck),
  fx.notify('CREATING', 'CREATING', 'cleanup', 6),
  fx.destroy('a2', ['k1'], 1, 1),
  fx.set(T.cleanupTimeout, 30_006),
];

describe('session chart: cleanup before the next step', () => {
  it('destroys the started kernel first, for every non-ambiguous failure class', () => {
    for (const cls of ['transient', 'agent', 'permanent'] as const) {
      const d = creating(input(2));
      d.send(ev.started('a2', 'k1', 1));
      expect(d.send(ev.createFailed('a1', 1, failure(cls), 6)), cls).toEqual(cleanupEntered);
    }
  });

  it('backs off after cleanup of a transient failure', () => {
    const d = cleaningUp('transient');
    expect(d.send(ev.terminated('a2', 'k1', 'CANCELLED', 8))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.notify('CREATING', 'CREATING', 'backoff', 8),
      fx.set(T.createBackoff, 1008),
    ]);
  });

  it('reschedules after cleanup of an agent failure, releasing both holds', () => {
    const d = cleaningUp('agent');
    expect(d.send(ev.terminated('a2', 'k1', 'CANCELLED', 8))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('CREATING', 'PENDING', '', 8),
    ]);
    expect(d.context.avoid).toEqual({ a1: 1 });
  });

  it('gives up with create-failed-permanently after cleanup of a permanent failure', () => {
    const d = cleaningUp('permanent');
    expect(d.send(ev.terminated('a2', 'k1', 'TERMINATED', 8))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('CREATING', 'CANCELLED', '', 8, 'create-failed-permanently'),
    ]);
  });

  it('backs off after cleanup of an ambiguous failure found partial by verification', () => {
    const d = creating(input(2));
    d.send(ev.createFailed('a1', 1, failure('ambiguous')));
    d.send(ev.inspected('a1', 1, { k0: 'absent' }), ev.inspected('a2', 1, { k1: 'running' }));
    expect(d.value).toEqual({ CREATING: 'cleanup' });
    expect(d.send(ev.terminated('a2', 'k1', 'CANCELLED', 8))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.notify('CREATING', 'CREATING', 'backoff', 8),
      fx.set(T.createBackoff, 1008),
    ]);
  });

  it('asks for the destroy again on a cleanup timeout, no retry while k1 may exist', () => {
    const d = cleaningUp('transient');
    expect(d.send(ev.timer(T.cleanupTimeout, 30_006))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.destroy('a2', ['k1'], 1, 2),
      fx.set(T.cleanupTimeout, 60_006),
    ]);
    expect(d.value).toEqual({ CREATING: 'cleanup' });
    expect(d.kernelStatuses).toEqual({ k0: 'CANCELLED', k1: 'TERMINATING' });
    expect(d.context.cleanupWaits).toBe(1);
    expect(d.context.history.at(-1)).toEqual({
      stage: 'cleanup',
      attempt: 1,
      at: 30_006,
      outcome: 'timed-out',
    });
  });

  it('retries once the destroy asked again is confirmed', () => {
    const d = cleaningUp('transient');
    d.send(ev.timer(T.cleanupTimeout, 30_006), ev.timer(T.cleanupTimeout, 60_006));
    expect(d.send(ev.timer(T.createBackoff, 60_100))).toEqual([]);
    expect(d.send(ev.terminated('a2', 'k1', 'CANCELLED', 60_200))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.notify('CREATING', 'CREATING', 'backoff', 60_200),
      fx.set(T.createBackoff, 61_200),
    ]);
    expect(d.send(ev.timer(T.createBackoff, 61_200))).toEqual([
      fx.cancel(T.createBackoff),
      fx.create('a1', [['k0', K0]], 2),
      fx.create('a2', [['k1', K1]], 2),
      fx.notify('CREATING', 'CREATING', 'creating', 61_200),
      fx.set(T.createTimeout, 121_200),
      fx.set(T.createRecheck, 81_200),
    ]);
  });

  it('counts the waits of each cleanup from zero', () => {
    const d = cleaningUp('transient');
    d.send(ev.timer(T.cleanupTimeout, 30_006), ev.terminated('a2', 'k1', 'CANCELLED', 30_100));
    d.send(ev.timer(T.createBackoff, 31_100), ev.started('a2', 'k1', 2, 31_200));
    expect(d.send(ev.createFailed('a1', 2, failure('transient'), 31_300))).toEqual([
      fx.cancel(T.createTimeout),
      fx.cancel(T.createRecheck),
      fx.notify('CREATING', 'CREATING', 'cleanup', 31_300),
      fx.destroy('a2', ['k1'], 2, 3),
      fx.set(T.cleanupTimeout, 61_300),
    ]);
    expect(d.context.cleanupWaits).toBe(0);
  });

  it(`gives up with cleanup-timed-out after ${MAX_CLEANUP_WAITS} re-asks, holds released`, () => {
    const d = cleaningUp('transient');
    for (let wait = 1; wait <= MAX_CLEANUP_WAITS; wait++) {
      d.send(ev.timer(T.cleanupTimeout, 6 + wait * 30_000));
    }
    expect(d.context.cleanupWaits).toBe(3);
    const last = 6 + (MAX_CLEANUP_WAITS + 1) * 30_000;
    expect(d.send(ev.timer(T.cleanupTimeout, last))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('CREATING', 'CANCELLED', '', last, 'cleanup-timed-out'),
    ]);
    expect(d.snapshot.status).toBe('done');
    expect(d.context).toMatchObject({
      reason: 'cleanup-timed-out',
      holds: {},
      attempts: { create: 1 },
    });
    // the last destroy stays queued in the outbox; the kernel is still being destroyed
    expect(d.kernelStatuses).toEqual({ k0: 'CANCELLED', k1: 'TERMINATING' });
    expect(d.context.history.filter((h) => h.stage === 'cleanup')).toHaveLength(4);
  });

  it('waits for the destroy before a reschedule too', () => {
    const d = cleaningUp('agent');
    expect(d.send(ev.timer(T.cleanupTimeout, 30_006))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.destroy('a2', ['k1'], 1, 2),
      fx.set(T.cleanupTimeout, 60_006),
    ]);
    expect(d.send(ev.terminated('a2', 'k1', 'CANCELLED', 30_100))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('CREATING', 'PENDING', '', 30_100),
    ]);
    expect(d.context).toMatchObject({ reschedules: 1, avoid: { a1: 1 }, cleanupWaits: 1 });
  });

  it('gives up at the first cleanup timeout with the reason of a permanent failure', () => {
    const d = cleaningUp('permanent');
    expect(d.send(ev.timer(T.cleanupTimeout, 30_006))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('CREATING', 'CANCELLED', '', 30_006, 'create-failed-permanently'),
    ]);
    expect(d.kernelStatuses).toEqual({ k0: 'CANCELLED', k1: 'TERMINATING' });
  });

  it('gives up at the first cleanup timeout (create-retries-exhausted), no retry left', () => {
    const d = creating(input(2, { create: { ...input().policy.create, maxAttempts: 1 } }));
    d.send(ev.started('a2', 'k1', 1), ev.createFailed('a1', 1, failure('transient'), 6));
    expect(d.send(ev.timer(T.cleanupTimeout, 30_006))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('CREATING', 'CANCELLED', '', 30_006, 'create-retries-exhausted'),
    ]);
  });

  it('moves on when the agent holding the destroyed kernel is lost', () => {
    const d = cleaningUp('transient');
    expect(d.send(ev.agentLost('a2', 8))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.notify('CREATING', 'CREATING', 'backoff', 8),
      fx.set(T.createBackoff, 1008),
    ]);
  });

  it('ignores a late start report for a kernel being destroyed', () => {
    const d = cleaningUp('transient');
    expect(d.send(ev.started('a2', 'k1', 1, 8))).toEqual([]);
    expect(d.last?.changed).toBe(false);
    expect(d.kernelStatuses).toEqual({ k0: 'CANCELLED', k1: 'TERMINATING' });
  });

  it('gives up with create-retries-exhausted after cleanup when the budget is spent', () => {
    const d = creating(input(2, { create: { ...input().policy.create, maxAttempts: 1 } }));
    d.send(ev.started('a2', 'k1', 1), ev.createFailed('a1', 1, failure('transient'), 6));
    expect(d.send(ev.terminated('a2', 'k1', 'CANCELLED', 8))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('CREATING', 'CANCELLED', '', 8, 'create-retries-exhausted'),
    ]);
  });

  it('ignores a destroy confirmation that names an earlier create attempt', () => {
    const d = cleaningUp('transient');
    const stale = { ...ev.terminated('a2', 'k1', 'CANCELLED', 8), attempt: 0 } as SessionEvent;
    expect(d.send(stale)).toEqual([]);
    expect(d.last?.changed).toBe(false);
    expect(d.send({ ...stale, attempt: 1 } as SessionEvent)).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.notify('CREATING', 'CREATING', 'backoff', 8),
      fx.set(T.createBackoff, 1008),
    ]);
  });
});
