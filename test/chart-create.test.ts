import { describe, expect, it } from 'vitest';
import { creating, type Driver, ev, failure, fx, input, K0, K1, T } from './helpers/chart-kit.js';

/** The effects of leaving `creating`: both of its timers are cancelled. */
const leaveCreating = [fx.cancel(T.createTimeout), fx.cancel(T.createRecheck)];

describe('session chart: create failures in CREATING', () => {
  it('retries a transient create failure on the same agent after a backoff', () => {
    const d = creating();
    expect(d.send(ev.createFailed('a1', 1, failure('transient')))).toEqual([
      ...leaveCreating,
      fx.notify('CREATING', 'CREATING', 'backoff', 5),
      fx.set(T.createBackoff, 1005),
    ]);
    expect(d.kernelStatuses).toEqual({ k0: 'CANCELLED' });
    expect(d.send(ev.timer(T.createBackoff, 1005))).toEqual([
      fx.cancel(T.createBackoff),
      fx.create('a1', [['k0', K0]], 2),
      fx.notify('CREATING', 'CREATING', 'creating', 1005),
      fx.set(T.createTimeout, 61_005),
      fx.set(T.createRecheck, 21_005),
    ]);
    expect(d.kernelStatuses).toEqual({ k0: 'PREPARED' });
    expect(d.context.kernels[0]?.attempt).toBe(2);
  });

  it('destroys a kernel that reported creating before retrying a transient failure', () => {
    const d = creating();
    d.send(ev.creating('a1', 'k0', 1));
    expect(d.send(ev.createFailed('a1', 1, failure('transient'), 6))).toEqual([
      ...leaveCreating,
      fx.notify('CREATING', 'CREATING', 'cleanup', 6),
      fx.destroy('a1', ['k0'], 1, 1),
      fx.set(T.cleanupTimeout, 30_006),
    ]);
    expect(d.send(ev.terminated('a1', 'k0', 'CANCELLED', 7))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.notify('CREATING', 'CREATING', 'backoff', 7),
      fx.set(T.createBackoff, 1007),
    ]);
  });

  it('verifies on an ambiguous create failure instead of creating again', () => {
    const d = creating();
    expect(d.send(ev.createFailed('a1', 1, failure('ambiguous')))).toEqual([
      ...leaveCreating,
      fx.notify('CREATING', 'CREATING', 'verifying.waiting', 5),
      fx.inspect('a1', ['k0'], 1, 1),
      fx.set(T.verifyRecheck, 20_005),
    ]);
    expect(d.value).toEqual({ CREATING: { verifying: 'waiting' } });
    expect(d.context.attempts.create).toBe(1);
  });

  it('gives up with create-retries-exhausted once the create budget is spent', () => {
    const d = creating();
    d.send(ev.createFailed('a1', 1, failure('transient')), ev.timer(T.createBackoff, 1005));
    d.send(ev.createFailed('a1', 2, failure('transient'), 1100));
    d.send(ev.timer(T.createBackoff, 3100));
    expect(d.send(ev.createFailed('a1', 3, failure('transient'), 3200))).toEqual([
      ...leaveCreating,
      fx.release('a1', K0),
      fx.notify('CREATING', 'CANCELLED', '', 3200, 'create-retries-exhausted'),
    ]);
    expect(d.context.attempts.create).toBe(3);
  });

  it('reschedules on an agent create failure and counts it against the reschedule budget', () => {
    const d = creating();
    expect(d.send(ev.createFailed('a1', 1, failure('agent')))).toEqual([
      ...leaveCreating,
      fx.release('a1', K0),
      fx.notify('CREATING', 'PENDING', '', 5),
    ]);
    expect(d.context).toMatchObject({ reschedules: 1, avoid: { a1: 1 }, holds: {} });
  });

  it('gives up with reschedule-budget-exhausted on an agent failure past the budget', () => {
    const d = creating(input(1, { rescheduleBudget: 0 }));
    expect(d.send(ev.createFailed('a1', 1, failure('agent')))).toEqual([
      ...leaveCreating,
      fx.release('a1', K0),
      fx.notify('CREATING', 'CANCELLED', '', 5, 'reschedule-budget-exhausted'),
    ]);
  });

  it('cancels on a permanent create failure with create-failed-permanently', () => {
    const d = creating();
    expect(d.send(ev.createFailed('a1', 1, failure('permanent')))).toEqual([
      ...leaveCreating,
      fx.release('a1', K0),
      fx.notify('CREATING', 'CANCELLED', '', 5, 'create-failed-permanently'),
    ]);
  });

  it('verifies when the create deadline passes (a timeout is ambiguous)', () => {
    const d = creating();
    expect(d.send(ev.timer(T.createTimeout, 60_004))).toEqual([
      ...leaveCreating,
      fx.notify('CREATING', 'CREATING', 'verifying.waiting', 60_004),
      fx.inspect('a1', ['k0'], 1, 1),
      fx.set(T.verifyRecheck, 80_004),
    ]);
    expect(d.context.history.at(-1)).toEqual({
      stage: 'create',
      attempt: 1,
      at: 60_004,
      outcome: 'timed-out',
    });
  });

  it('inspects the agent on a create recheck (a lost "started" report)', () => {
    const d = creating();
    const effects = d.send(ev.timer(T.createRecheck, 20_004));
    expect(effects).toEqual([
      ...leaveCreating,
      fx.notify('CREATING', 'CREATING', 'verifying.waiting', 20_004),
      fx.inspect('a1', ['k0'], 1, 1),
      fx.set(T.verifyRecheck, 40_004),
    ]);
    expect(d.send(ev.inspected('a1', 1, { k0: 'running' }, 20_010))).toEqual([
      fx.cancel(T.verifyRecheck),
      fx.notify('CREATING', 'RUNNING', '', 20_010),
    ]);
  });

  it('goes to verifying on VERIFY (manager recovery)', () => {
    const d = creating();
    d.send(ev.verify(30));
    expect(d.value).toEqual({ CREATING: { verifying: 'waiting' } });
  });
});

describe('session chart: multi-kernel creation', () => {
  function twoCreating(): Driver {
    return creating(input(2));
  }

  it('destroys the kernel that started before retrying a partial creation failure', () => {
    const d = twoCreating();
    d.send(ev.started('a2', 'k1', 1));
    expect(d.send(ev.createFailed('a1', 1, failure('transient'), 6))).toEqual([
      ...leaveCreating,
      fx.notify('CREATING', 'CREATING', 'cleanup', 6),
      fx.destroy('a2', ['k1'], 1, 1),
      fx.set(T.cleanupTimeout, 30_006),
    ]);
    expect(d.kernelStatuses).toEqual({ k0: 'CANCELLED', k1: 'TERMINATING' });
    expect(d.send(ev.timer(T.createBackoff, 2000))).toEqual([]);
    expect(d.send(ev.terminated('a2', 'k1', 'CANCELLED', 8))).toEqual([
      fx.cancel(T.cleanupTimeout),
      fx.notify('CREATING', 'CREATING', 'backoff', 8),
      fx.set(T.createBackoff, 1008),
    ]);
    expect(d.send(ev.timer(T.createBackoff, 1008))).toEqual([
      fx.cancel(T.createBackoff),
      fx.create('a1', [['k0', K0]], 2),
      fx.create('a2', [['k1', K1]], 2),
      fx.notify('CREATING', 'CREATING', 'creating', 1008),
      fx.set(T.createTimeout, 61_008),
      fx.set(T.createRecheck, 21_008),
    ]);
  });

  it('destroys the kernels not yet reported on the other agent too (their create may land)', () => {
    const d = twoCreating();
    expect(d.send(ev.createFailed('a1', 1, failure('transient'), 6))).toEqual([
      ...leaveCreating,
      fx.notify('CREATING', 'CREATING', 'cleanup', 6),
      fx.destroy('a2', ['k1'], 1, 1),
      fx.set(T.cleanupTimeout, 30_006),
    ]);
  });

  it('ignores start reports from the first attempt once the second has begun', () => {
    const d = twoCreating();
    d.send(ev.createFailed('a1', 1, failure('transient'), 6), ev.terminated('a2', 'k1'));
    d.send(ev.timer(T.createBackoff, 1007));
    expect(d.send(ev.started('a2', 'k1', 1, 1010))).toEqual([]);
    expect(d.last?.changed).toBe(false);
    expect(d.kernelStatuses).toEqual({ k0: 'PREPARED', k1: 'PREPARED' });
  });
});
