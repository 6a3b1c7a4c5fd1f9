import { describe, expect, it } from 'vitest';
import { statusOf, substateOf } from '../src/core/decide.js';
import { Driver, ev, fx, input, K0, K1, T } from './helpers/chart-kit.js';

describe('session chart: the happy path', () => {
  it('starts PENDING with one notify and no timer when the policy has no deadline', () => {
    const d = new Driver();
    expect(d.value).toBe('PENDING');
    expect(d.initialEffects).toEqual([fx.notify('PENDING', 'PENDING', '', 0)]);
    expect(d.context.kernels).toEqual([
      { id: 'k0', slots: K0, agentId: null, status: 'PENDING', attempt: 0 },
    ]);
  });

  it('arms the overall deadline from submit when the policy sets one', () => {
    const d = new Driver(input(1, { deadlineMs: 500_000 }));
    expect(d.initialEffects).toEqual([
      {
        type: 'setTimer',
        sessionId: 's1',
        timerId: 'deadline',
        event: T.deadline,
        dueAt: 500_000,
      },
      fx.notify('PENDING', 'PENDING', '', 0),
    ]);
  });

  it('walks one kernel PENDING -> RUNNING with exact effects at every step', () => {
    const d = new Driver();
    expect(d.send(ev.schedule({ k0: 'a1' }))).toEqual([
      fx.reserve('a1', K0),
      fx.notify('PENDING', 'SCHEDULED', '', 1),
    ]);
    expect(d.context.holds).toEqual({ a1: K0 });

    expect(d.send(ev.prepare())).toEqual([
      fx.pull('a1', ['k0'], 1),
      fx.notify('SCHEDULED', 'PREPARING', 'pulling.waiting', 2),
      fx.set(T.pullTimeout, 60_002),
      fx.set(T.pullRecheck, 20_002),
    ]);
    expect(d.value).toEqual({ PREPARING: { pulling: 'waiting' } });

    expect(d.send(ev.pulling('a1', 1))).toEqual([]);
    expect(d.kernelStatuses).toEqual({ k0: 'PULLING' });

    expect(d.send(ev.pulled('a1', 1))).toEqual([
      fx.cancel(T.pullRecheck),
      fx.cancel(T.pullTimeout),
      fx.notify('PREPARING', 'PREPARED', '', 3),
    ]);
    expect(d.value).toBe('PREPARED');

    expect(d.send(ev.start())).toEqual([
      fx.create('a1', [['k0', K0]], 1),
      fx.notify('PREPARED', 'CREATING', 'creating', 4),
      fx.set(T.createTimeout, 60_004),
      fx.set(T.createRecheck, 20_004),
    ]);
    expect(d.kernelStatuses).toEqual({ k0: 'PREPARED' });

    expect(d.send(ev.creating('a1', 'k0', 1))).toEqual([]);
    expect(d.kernelStatuses).toEqual({ k0: 'CREATING' });

    expect(d.send(ev.started('a1', 'k0', 1, 8))).toEqual([
      fx.cancel(T.createTimeout),
      fx.cancel(T.createRecheck),
      fx.notify('CREATING', 'RUNNING', '', 8),
    ]);
    expect(d.value).toBe('RUNNING');
    expect(statusOf(d.snapshot)).toBe('RUNNING');
    expect(substateOf(d.snapshot)).toBe('');
    expect(d.context.statusSince).toBe(8);
    expect(d.context.history.map((h) => `${h.stage}:${h.attempt}:${h.outcome}`)).toEqual([
      'schedule:1:succeeded',
      'pull:1:started',
      'pull:1:succeeded',
      'create:1:started',
      'create:1:succeeded',
    ]);
  });

  it('accepts "pulled" without "pulling" before it', () => {
    const d = new Driver();
    d.send(ev.schedule({ k0: 'a1' }), ev.prepare(), ev.pulled('a1', 1));
    expect(d.value).toBe('PREPARED');
    expect(d.kernelStatuses).toEqual({ k0: 'PREPARED' });
  });

  it('waits for every kernel of a two-agent session before PREPARED and RUNNING', () => {
    const d = new Driver(input(2));
    expect(d.send(ev.schedule({ k0: 'a1', k1: 'a2' }))).toEqual([
      fx.reserve('a1', K0),
      fx.reserve('a2', K1),
      fx.notify('PENDING', 'SCHEDULED', '', 1),
    ]);
    expect(d.send(ev.prepare())).toEqual([
      fx.pull('a1', ['k0'], 1),
      fx.pull('a2', ['k1'], 1),
      fx.notify('SCHEDULED', 'PREPARING', 'pulling.waiting', 2),
      fx.set(T.pullTimeout, 60_002),
      fx.set(T.pullRecheck, 20_002),
    ]);
    expect(d.send(ev.pulled('a2', 1))).toEqual([]);
    expect(d.kernelStatuses).toEqual({ k0: 'SCHEDULED', k1: 'PREPARED' });
    d.send(ev.pulled('a1', 1));
    expect(d.value).toBe('PREPARED');

    expect(d.send(ev.start())).toEqual([
      fx.create('a1', [['k0', K0]], 1),
      fx.create('a2', [['k1', K1]], 1),
      fx.notify('PREPARED', 'CREATING', 'creating', 4),
      fx.set(T.createTimeout, 60_004),
      fx.set(T.createRecheck, 20_004),
    ]);
    expect(d.send(ev.started('a2', 'k1', 1))).toEqual([]);
    expect(d.value).toEqual({ CREATING: 'creating' });
    d.send(ev.started('a1', 'k0', 1));
    expect(d.value).toBe('RUNNING');
  });

  it('one agent holding both kernels gets one reserve, one pull and one create', () => {
    const d = new Driver(input(2));
    expect(d.send(ev.schedule({ k0: 'a1', k1: 'a1' }))).toEqual([
      fx.reserve('a1', { cpu: 3000, mem: 1536 }),
      fx.notify('PENDING', 'SCHEDULED', '', 1),
    ]);
    expect(d.send(ev.prepare())[0]).toEqual(fx.pull('a1', ['k0', 'k1'], 1));
    d.send(ev.pulled('a1', 1));
    expect(d.send(ev.start())[0]).toEqual(
      fx.create(
        'a1',
        [
          ['k0', K0],
          ['k1', K1],
        ],
        1,
      ),
    );
  });

  it('ends TERMINATED with a release when the last kernel exits on its own', () => {
    const d = new Driver();
    d.send(ev.schedule({ k0: 'a1' }), ev.prepare(), ev.pulled('a1', 1), ev.start());
    d.send(ev.started('a1', 'k0', 1));
    expect(d.send(ev.terminated('a1', 'k0', 'TERMINATED', 100))).toEqual([
      fx.release('a1', K0),
      fx.notify('RUNNING', 'TERMINATED', '', 100, 'kernel-exited'),
    ]);
    expect(d.value).toBe('TERMINATED');
    expect(d.snapshot.status).toBe('done');
    expect(d.context.holds).toEqual({});
  });

  it('destroys the other kernels when one of two exits, then TERMINATED on confirmation', () => {
    const d = new Driver(input(2));
    d.send(ev.schedule({ k0: 'a1', k1: 'a2' }), ev.prepare(), ev.pulled('a1', 1));
    d.send(ev.pulled('a2', 1), ev.start(), ev.started('a1', 'k0', 1), ev.started('a2', 'k1', 1));
    expect(d.send(ev.terminated('a1', 'k0', 'TERMINATED', 100))).toEqual([
      fx.destroy('a2', ['k1'], 1, 1),
      fx.notify('RUNNING', 'TERMINATING', '', 100, 'kernel-exited'),
      fx.set(T.terminateTimeout, 30_100),
    ]);
    expect(d.send(ev.terminated('a2', 'k1', 'TERMINATED', 110))).toEqual([
      fx.cancel(T.terminateTimeout),
      fx.release('a1', K0),
      fx.release('a2', K1),
      fx.notify('TERMINATING', 'TERMINATED', '', 110, 'kernel-exited'),
    ]);
  });
});
