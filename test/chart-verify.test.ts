import { describe, expect, it } from 'vitest';
import { creating, type Driver, ev, failure, fx, input, K0, T } from './helpers/chart-kit.js';

/** One kernel on a1, verifying after an ambiguous create failure at 5 (inspect request 1). */
function verifying(kernels: 1 | 2 = 1): Driver {
  const d = creating(input(kernels));
  d.send(ev.createFailed('a1', 1, failure('ambiguous')));
  return d;
}

describe('session chart: verifying an uncertain create', () => {
  it('goes RUNNING when the inspection finds every kernel running', () => {
    const d = verifying();
    expect(d.send(ev.inspected('a1', 1, { k0: 'running' }))).toEqual([
      fx.cancel(T.verifyRecheck),
      fx.notify('CREATING', 'RUNNING', '', 6),
    ]);
    expect(d.context.history.at(-1)).toEqual({
      stage: 'create',
      attempt: 1,
      at: 6,
      outcome: 'succeeded',
    });
  });

  it('goes back to waiting on a kernel still creating, without creating again', () => {
    const d = verifying();
    expect(d.send(ev.inspected('a1', 1, { k0: 'creating' }))).toEqual([
      fx.cancel(T.verifyRecheck),
      fx.notify('CREATING', 'CREATING', 'creating', 6),
      fx.set(T.createTimeout, 60_004),
      fx.set(T.createRecheck, 20_006),
    ]);
    expect(d.kernelStatuses).toEqual({ k0: 'CREATING' });
    expect(d.context.attempts.create).toBe(1);
  });

  it('retries without cleanup when no kernel of the attempt exists', () => {
    const d = verifying();
    expect(d.send(ev.inspected('a1', 1, { k0: 'absent' }))).toEqual([
      fx.cancel(T.verifyRecheck),
      fx.notify('CREATING', 'CREATING', 'backoff', 6),
      fx.set(T.createBackoff, 1006),
    ]);
    expect(d.context.lastFailure).toEqual({
      class: 'transient',
      code: 'create-incomplete',
      message: 'verification found kernels of the attempt missing or not started in time',
    });
  });

  it('cleans up a partial creation (one running, one absent) before retrying', () => {
    const d = verifying(2);
    expect(d.send(ev.inspected('a1', 1, { k0: 'running' }))).toEqual([]);
    expect(d.value).toEqual({ CREATING: { verifying: 'waiting' } });
    expect(d.send(ev.inspected('a2', 1, { k1: 'absent' }))).toEqual([
      fx.cancel(T.verifyRecheck),
      fx.notify('CREATING', 'CREATING', 'cleanup', 6),
      fx.destroy('a1', ['k0'], 1, 2),
      fx.set(T.cleanupTimeout, 30_006),
    ]);
    expect(d.kernelStatuses).toEqual({ k0: 'TERMINATING', k1: 'CANCELLED' });
  });

  it('treats a kernel still creating past the attempt deadline as a failure and cleans up', () => {
    const d = creating();
    d.send(ev.timer(T.createTimeout, 60_004));
    expect(d.send(ev.inspected('a1', 1, { k0: 'creating' }, 60_010))).toEqual([
      fx.cancel(T.verifyRecheck),
      fx.notify('CREATING', 'CREATING', 'cleanup', 60_010),
      fx.destroy('a1', ['k0'], 1, 2),
      fx.set(T.cleanupTimeout, 90_010),
    ]);
  });

  for (const cls of ['transient', 'ambiguous', 'permanent'] as const) {
    it(`waits for the recheck after a ${cls} inspect failure and never creates`, () => {
      const d = verifying();
      expect(d.send(ev.inspectFailed('a1', 1, failure(cls)))).toEqual([]);
      expect(d.last?.changed).toBe(true);
      expect(d.value).toEqual({ CREATING: { verifying: 'waiting' } });
      expect(d.context.history.at(-1)).toEqual({
        stage: 'verify',
        attempt: 1,
        at: 6,
        agentId: 'a1',
        outcome: 'failed',
        failure: failure(cls),
      });
      expect(d.send(ev.timer(T.verifyRecheck, 20_005))).toEqual([
        fx.cancel(T.verifyRecheck),
        fx.inspect('a1', ['k0'], 1, 2),
        fx.set(T.verifyRecheck, 40_005),
      ]);
    });
  }

  it('cleans up then reschedules after an agent-class inspect failure', () => {
    const d = verifying();
    expect(d.send(ev.inspectFailed('a1', 1, failure('agent')))).toEqual([
      fx.cancel(T.verifyRecheck),
      fx.notify('CREATING', 'CREATING', 'cleanup', 6),
      fx.destroy('a1', ['k0'], 1, 2),
      fx.set(T.cleanupTimeout, 30_006),
    ]);
    expect(d.send(ev.timer(T.cleanupTimeout, 30_006))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.destroy('a1', ['k0'], 1, 3),
      fx.set(T.cleanupTimeout, 60_006),
    ]);
    expect(d.send(ev.terminated('a1', 'k0', 'CANCELLED', 30_100))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.release('a1', K0),
      fx.notify('CREATING', 'PENDING', '', 30_100),
    ]);
    expect(d.context.avoid).toEqual({ a1: 1 });
  });

  it('ignores a second answer from the same agent and answers for another attempt', () => {
    const d = verifying(2);
    d.send(ev.inspected('a1', 1, { k0: 'running' }));
    expect(d.send(ev.inspected('a1', 1, { k0: 'absent' }))).toEqual([]);
    expect(d.last?.changed).toBe(false);
    expect(d.send(ev.inspected('a2', 2, { k1: 'running' }))).toEqual([]);
    expect(d.last?.changed).toBe(false);
    expect(d.kernelStatuses).toEqual({ k0: 'RUNNING', k1: 'PREPARED' });
  });

  it('goes RUNNING on a start report that completes the session while verifying', () => {
    const d = verifying();
    expect(d.send(ev.started('a1', 'k0', 1, 7))).toEqual([
      fx.cancel(T.verifyRecheck),
      fx.notify('CREATING', 'RUNNING', '', 7),
    ]);
  });
});
