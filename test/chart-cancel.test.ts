import { describe, expect, it } from 'vitest';
import type { Effect } from '../src/core/effects.js';
import { creating, Driver, ev, failure, fx, input, K0, prepared, T } from './helpers/chart-kit.js';

/** Every non-final state, how to get there, and what leaving it cancels. */
const STATES: { name: string; reach: () => Driver; leave: Effect[]; holds: boolean }[] = [
  { name: 'PENDING', reach: () => new Driver(), leave: [], holds: false },
  {
    name: 'SCHEDULED',
    reach: () => {
      const d = new Driver();
      d.send(ev.schedule({ k0: 'a1' }));
      return d;
    },
    leave: [],
    holds: true,
  },
  {
    name: 'PREPARING.pulling',
    reach: () => {
      const d = new Driver();
      d.send(ev.schedule({ k0: 'a1' }), ev.prepare());
      return d;
    },
    leave: [fx.cancel(T.pullRecheck), fx.cancel(T.pullTimeout)],
    holds: true,
  },
  {
    name: 'PREPARING.backoff',
    reach: () => {
      const d = new Driver();
      d.send(ev.schedule({ k0: 'a1' }), ev.prepare(), ev.pullFailed('a1', 1, failure('transient')));
      return d;
    },
    leave: [fx.cancel(T.pullBackoff)],
    holds: true,
  },
  { name: 'PREPARED', reach: () => prepared(), leave: [], holds: true },
  {
    name: 'CREATING.backoff',
    reach: () => {
      const d = creating();
      d.send(ev.createFailed('a1', 1, failure('transient')));
      return d;
    },
    leave: [fx.cancel(T.createBackoff)],
    holds: true,
  },
];

/** States where kernels may exist: CANCEL destroys them; TERMINATE goes to TERMINATING. */
const LIVE: { name: string; reach: () => Driver; leave: Effect[]; seq: number; from: string }[] = [
  {
    name: 'CREATING.creating',
    reach: () => creating(),
    leave: [fx.cancel(T.createTimeout), fx.cancel(T.createRecheck)],
    seq: 1,
    from: 'CREATING',
  },
  {
    name: 'CREATING.verifying',
    reach: () => {
      const d = creating();
      d.send(ev.createFailed('a1', 1, failure('ambiguous')));
      return d;
    },
    leave: [fx.cancel(T.verifyRecheck)],
    seq: 2,
    from: 'CREATING',
  },
  {
    name: 'CREATING.cleanup',
    reach: () => {
      const d = creating();
      d.send(ev.creating('a1', 'k0', 1), ev.createFailed('a1', 1, failure('transient')));
      return d;
    },
    leave: [fx.cancel(T.cleanupTimeout)],
    seq: 2,
    from: 'CREATING',
  },
  {
    name: 'RUNNING',
    reach: () => {
      const d = creating();
      d.send(ev.started('a1', 'k0', 1));
      return d;
    },
    leave: [],
    seq: 1,
    from: 'RUNNING',
  },
];

describe('session chart: CANCEL and TERMINATE from every non-final state', () => {
  for (const state of STATES) {
    const release = state.holds ? [fx.release('a1', K0)] : [];
    const from = state.name.split('.')[0] as 'PENDING';

    it(`cancels from ${state.name}, releasing what is held`, () => {
      const d = state.reach();
      expect(d.send(ev.cancel(90_000))).toEqual([
        ...state.leave,
        ...release,
        fx.notify(from, 'CANCELLED', '', 90_000, 'user-cancelled'),
      ]);
      expect(d.snapshot.status).toBe('done');
      expect(d.context.holds).toEqual({});
    });

    it(`terminates from ${state.name} as CANCELLED user-terminated (no kernel exists)`, () => {
      const d = state.reach();
      expect(d.send(ev.terminate(90_000))).toEqual([
        ...state.leave,
        ...release,
        fx.notify(from, 'CANCELLED', '', 90_000, 'user-terminated'),
      ]);
    });
  }

  for (const state of LIVE) {
    const from = state.from as 'CREATING';

    it(`cancels from ${state.name}, destroying the kernel and releasing`, () => {
      const d = state.reach();
      expect(d.send(ev.cancel(90_000, 'deadline-exceeded'))).toEqual([
        ...state.leave,
        fx.destroy('a1', ['k0'], 1, state.seq),
        fx.release('a1', K0),
        fx.notify(from, 'CANCELLED', '', 90_000, 'deadline-exceeded'),
      ]);
    });

    it(`terminates from ${state.name} through TERMINATING`, () => {
      const d = state.reach();
      expect(d.send(ev.terminate(90_000))).toEqual([
        ...state.leave,
        fx.destroy('a1', ['k0'], 1, state.seq),
        fx.notify(from, 'TERMINATING', '', 90_000, 'user-terminated'),
        fx.set(T.terminateTimeout, 120_000),
      ]);
      expect(d.send(ev.terminated('a1', 'k0', 'CANCELLED', 90_100))).toEqual([
        fx.cancel(T.terminateTimeout),
        fx.release('a1', K0),
        fx.notify('TERMINATING', 'TERMINATED', '', 90_100, 'user-terminated'),
      ]);
    });
  }

  it('cancels from TERMINATING with a fresh destroy, and ignores a second TERMINATE', () => {
    const d = creating();
    d.send(ev.started('a1', 'k0', 1), ev.terminate(100));
    expect(d.send(ev.terminate(110))).toEqual([]);
    expect(d.last?.changed).toBe(false);
    expect(d.send(ev.cancel(120))).toEqual([
      fx.cancel(T.terminateTimeout),
      fx.destroy('a1', ['k0'], 1, 2),
      fx.release('a1', K0),
      fx.notify('TERMINATING', 'CANCELLED', '', 120, 'user-cancelled'),
    ]);
  });

  it('ends TERMINATED when the terminate timeout passes without confirmation', () => {
    const d = creating();
    d.send(ev.started('a1', 'k0', 1), ev.terminate(100));
    expect(d.send(ev.timer(T.terminateTimeout, 30_100))).toEqual([
      fx.cancel(T.terminateTimeout),
      fx.release('a1', K0),
      fx.notify('TERMINATING', 'TERMINATED', '', 30_100, 'user-terminated'),
    ]);
  });

  it('ends in ERROR (agent-lost) when the agent of a running kernel is lost', () => {
    const d = creating(input(2));
    d.send(ev.started('a1', 'k0', 1), ev.started('a2', 'k1', 1));
    expect(d.send(ev.agentLost('a1', 50))).toEqual([
      fx.destroy('a2', ['k1'], 1, 1),
      fx.release('a1', K0),
      fx.release('a2', { cpu: 2000, mem: 1024 }),
      fx.notify('RUNNING', 'ERROR', '', 50, 'agent-lost'),
    ]);
    expect(d.kernelStatuses).toEqual({ k0: 'CANCELLED', k1: 'TERMINATING' });
  });

  it('cancels with deadline-exceeded when the overall deadline fires before RUNNING', () => {
    const d = creating(input(1, { deadlineMs: 100_000 }));
    expect(d.send(ev.timer(T.deadline, 100_000))).toEqual([
      fx.cancel(T.createTimeout),
      fx.cancel(T.createRecheck),
      fx.destroy('a1', ['k0'], 1, 1),
      fx.release('a1', K0),
      fx.notify('CREATING', 'CANCELLED', '', 100_000, 'deadline-exceeded'),
    ]);
  });

  it('ignores the overall deadline once RUNNING', () => {
    const d = creating(input(1, { deadlineMs: 100_000 }));
    d.send(ev.started('a1', 'k0', 1));
    expect(d.send(ev.timer(T.deadline, 100_000))).toEqual([]);
    expect(d.value).toBe('RUNNING');
  });
});
