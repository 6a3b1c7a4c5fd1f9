import { describe, expect, it } from 'vitest';
import { Driver, ev, failure, fx, input, K0, K1, T } from './helpers/chart-kit.js';

/** One kernel on a1, in PREPARING.pulling (pull attempt 1 sent at 2). */
function pulling(kernels: 1 | 2 = 1): Driver {
  const d = new Driver(input(kernels));
  d.send(ev.schedule(kernels === 2 ? { k0: 'a1', k1: 'a2' } : { k0: 'a1' }), ev.prepare());
  return d;
}

describe('session chart: pull failures in PREPARING', () => {
  for (const cls of ['transient', 'ambiguous'] as const) {
    it(`backs off and retries a ${cls} pull failure on the same agent`, () => {
      const d = pulling();
      expect(d.send(ev.pullFailed('a1', 1, failure(cls)))).toEqual([
        fx.cancel(T.pullRecheck),
        fx.cancel(T.pullTimeout),
        fx.notify('PREPARING', 'PREPARING', 'backoff', 3),
        fx.set(T.pullBackoff, 1003),
      ]);
      expect(d.value).toEqual({ PREPARING: 'backoff' });
      expect(d.context.lastFailure).toEqual(failure(cls));
      expect(d.send(ev.timer(T.pullBackoff, 1003))).toEqual([
        fx.cancel(T.pullBackoff),
        fx.pull('a1', ['k0'], 2),
        fx.notify('PREPARING', 'PREPARING', 'pulling.waiting', 1003),
        fx.set(T.pullTimeout, 61_003),
        fx.set(T.pullRecheck, 21_003),
      ]);
      expect(d.context.attempts).toEqual({ pull: 2, create: 0 });
    });
  }

  it('doubles the backoff and gives up with pull-retries-exhausted after maxAttempts', () => {
    const d = pulling();
    d.send(ev.pullFailed('a1', 1, failure('transient')), ev.timer(T.pullBackoff, 1003));
    const second = d.send(ev.pullFailed('a1', 2, failure('transient'), 1100));
    expect(second[3]).toEqual(fx.set(T.pullBackoff, 3100));
    d.send(ev.timer(T.pullBackoff, 3100));
    expect(d.send(ev.pullFailed('a1', 3, failure('transient'), 3200))).toEqual([
      fx.cancel(T.pullRecheck),
      fx.cancel(T.pullTimeout),
      fx.release('a1', K0),
      fx.notify('PREPARING', 'CANCELLED', '', 3200, 'pull-retries-exhausted'),
    ]);
    expect(d.value).toBe('CANCELLED');
    expect(d.context.reason).toBe('pull-retries-exhausted');
    expect(d.context.holds).toEqual({});
    expect(d.context.history.filter((h) => h.outcome === 'failed').length).toBe(3);
  });

  it('uses retryAfterMs from the failure instead of the computed delay', () => {
    const d = pulling();
    const effects = d.send(ev.pullFailed('a1', 1, failure('transient', { retryAfterMs: 4500 })));
    expect(effects[3]).toEqual(fx.set(T.pullBackoff, 4503));
    expect(d.context.backoffMs).toBe(4500);
  });

  it('reschedules on an agent failure: releases, penalizes the agent, back to PENDING', () => {
    const d = pulling();
    expect(d.send(ev.pullFailed('a1', 1, failure('agent')))).toEqual([
      fx.cancel(T.pullRecheck),
      fx.cancel(T.pullTimeout),
      fx.release('a1', K0),
      fx.notify('PREPARING', 'PENDING', '', 3),
    ]);
    expect(d.value).toBe('PENDING');
    expect(d.context).toMatchObject({
      holds: {},
      avoid: { a1: 1 },
      reschedules: 1,
      attempts: { pull: 0, create: 0 },
      kernels: [{ id: 'k0', slots: K0, agentId: null, status: 'PENDING', attempt: 0 }],
    });
    d.send(ev.schedule({ k0: 'a2' }, 10));
    expect(d.send(ev.prepare(11))[0]).toEqual(fx.pull('a2', ['k0'], 1, '1.r1'));
  });

  it('gives up with reschedule-budget-exhausted on an agent failure past the budget', () => {
    const d = pulling();
    d.send(ev.pullFailed('a1', 1, failure('agent')), ev.schedule({ k0: 'a2' }, 10));
    d.send(ev.prepare(11));
    expect(d.send(ev.pullFailed('a2', 1, failure('agent'), 12))).toEqual([
      fx.cancel(T.pullRecheck),
      fx.cancel(T.pullTimeout),
      fx.release('a2', K0),
      fx.notify('PREPARING', 'CANCELLED', '', 12, 'reschedule-budget-exhausted'),
    ]);
    expect(d.context.avoid).toEqual({ a1: 1 });
  });

  it('cancels on a permanent pull failure with pull-failed-permanently', () => {
    const d = pulling();
    expect(d.send(ev.pullFailed('a1', 1, failure('permanent')))).toEqual([
      fx.cancel(T.pullRecheck),
      fx.cancel(T.pullTimeout),
      fx.release('a1', K0),
      fx.notify('PREPARING', 'CANCELLED', '', 3, 'pull-failed-permanently'),
    ]);
    expect(d.context.lastFailure).toEqual(failure('permanent'));
  });

  it('treats the pull deadline as a transient timed-out failure', () => {
    const d = pulling();
    expect(d.send(ev.timer(T.pullTimeout, 60_002))).toEqual([
      fx.cancel(T.pullRecheck),
      fx.cancel(T.pullTimeout),
      fx.notify('PREPARING', 'PREPARING', 'backoff', 60_002),
      fx.set(T.pullBackoff, 61_002),
    ]);
    expect(d.context.lastFailure).toEqual({
      class: 'transient',
      code: 'pull-timeout',
      message: 'the image pull did not finish within the pull timeout',
    });
    expect(d.context.history.at(-1)?.outcome).toBe('timed-out');
  });

  it('re-asks only the agents not yet pulled on a recheck, same key, same deadline', () => {
    const d = pulling(2);
    d.send(ev.pulled('a2', 1));
    expect(d.send(ev.timer(T.pullRecheck, 20_002))).toEqual([
      fx.cancel(T.pullRecheck),
      fx.pull('a1', ['k0'], 1),
      fx.set(T.pullRecheck, 40_002),
    ]);
    expect(d.context.attempts.pull).toBe(1);
  });

  it('reschedules when an agent holding kernels is lost while pulling', () => {
    const d = pulling(2);
    expect(d.send(ev.agentLost('a2'))).toEqual([
      fx.cancel(T.pullRecheck),
      fx.cancel(T.pullTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('PREPARING', 'PENDING', '', 7),
    ]);
    expect(d.context.avoid).toEqual({ a2: 1 });
    expect(d.context.lastFailure?.code).toBe('agent-lost');
  });

  it('takes an image reported pulled during backoff as a fact', () => {
    const d = pulling();
    d.send(ev.pullFailed('a1', 1, failure('transient')));
    expect(d.send(ev.pulled('a1', 1, 500))).toEqual([
      fx.cancel(T.pullBackoff),
      fx.notify('PREPARING', 'PREPARED', '', 500),
    ]);
  });
});
