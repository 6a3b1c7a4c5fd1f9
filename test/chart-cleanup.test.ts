import { describe, expect, it } from 'vitest';
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
  fx.destroy('a2', ['k1'], 1, 1),
  fx.notify('CREATING', 'CREATING', 'cleanup', 6),
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

  it('moves on when the cleanup timeout passes without a destroy confirmation', () => {
    const d = cleaningUp('transient');
    expect(d.send(ev.timer(T.cleanupTimeout, 30_006))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.notify('CREATING', 'CREATING', 'backoff', 30_006),
      fx.set(T.createBackoff, 31_006),
    ]);
    expect(d.context.history.at(-1)).toEqual({
      stage: 'cleanup',
      attempt: 1,
      at: 30_006,
      outcome: 'timed-out',
    });
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
