import { describe, expect, it } from 'vitest';
import type { Effect } from '../src/core/effects.js';
import { type NextRow, planWrite } from '../src/manager/transition.js';

const next: NextRow = {
  id: 's1',
  owner: 'alice',
  priority: 0,
  status: 'SCHEDULED',
  substate: '',
  submittedAt: 10,
  updatedAt: 500,
  holds: { a1: { cpu: 1000 } },
  snapshot: { persisted: true },
};

describe('planWrite', () => {
  it('turns each effect into its part of one write and bumps the version', () => {
    const effects: Effect[] = [
      { type: 'reserve', sessionId: 's1', agentId: 'a1', slots: { cpu: 1000 } },
      { type: 'release', sessionId: 's1', agentId: 'a0', slots: { mem: 64 } },
      {
        type: 'notify',
        sessionId: 's1',
        from: 'PENDING',
        to: 'SCHEDULED',
        substate: '',
        at: 500,
      },
      {
        type: 'pullImages',
        sessionId: 's1',
        agentId: 'a1',
        image: 'img',
        kernelIds: ['k0'],
        attempt: 1,
        key: 's1/a1/pull/1',
      },
      { type: 'setTimer', sessionId: 's1', timerId: 't1', event: 'xstate.after.x', dueAt: 900 },
      { type: 'cancelTimer', sessionId: 's1', timerId: 't0' },
    ];
    const { write, notices } = planWrite(next, 3, effects);
    expect(write.expectedVersion).toBe(3);
    expect(write.session).toEqual({ ...next, version: 4 });
    expect(write.reserve).toEqual([{ agentId: 'a1', slots: { cpu: 1000 } }]);
    expect(write.release).toEqual([{ agentId: 'a0', slots: { mem: 64 } }]);
    expect(write.history).toEqual([
      { sessionId: 's1', at: 500, from: 'PENDING', to: 'SCHEDULED', substate: '' },
    ]);
    expect(notices).toEqual(write.history);
    expect(write.outbox).toEqual([
      {
        key: 's1/a1/pull/1',
        sessionId: 's1',
        agentId: 'a1',
        effect: effects[3],
        dueAt: 500,
        tries: 0,
        sessionVersion: 4,
      },
    ]);
    expect(write.timersSet).toEqual([
      { sessionId: 's1', timerId: 't1', event: 'xstate.after.x', dueAt: 900 },
    ]);
    expect(write.timersCancelled).toEqual(['t0']);
  });

  it('keeps a timer cancelled and set again; deletes a fired timer not re-armed', () => {
    const effects: Effect[] = [
      { type: 'cancelTimer', sessionId: 's1', timerId: 'recheck' },
      {
        type: 'setTimer',
        sessionId: 's1',
        timerId: 'recheck',
        event: 'xstate.after.r',
        dueAt: 700,
      },
    ];
    const { write } = planWrite(next, 1, effects, 'deadline');
    expect(write.timersSet).toEqual([
      { sessionId: 's1', timerId: 'recheck', event: 'xstate.after.r', dueAt: 700 },
    ]);
    expect(write.timersCancelled).toEqual(['deadline']);
  });

  it('does not delete a fired timer that the decision armed again', () => {
    const effects: Effect[] = [
      { type: 'setTimer', sessionId: 's1', timerId: 'fired', event: 'xstate.after.f', dueAt: 800 },
    ];
    const { write } = planWrite(next, 1, effects, 'fired');
    expect(write.timersSet).toEqual([
      { sessionId: 's1', timerId: 'fired', event: 'xstate.after.f', dueAt: 800 },
    ]);
    expect(write.timersCancelled).toEqual([]);
  });

  it('carries the reason of a notify into the history row and the notice', () => {
    const effects: Effect[] = [
      {
        type: 'notify',
        sessionId: 's1',
        from: 'CREATING',
        to: 'CANCELLED',
        substate: '',
        at: 600,
        reason: 'user-cancelled',
      },
    ];
    const { write, notices } = planWrite(next, 1, effects);
    const row = {
      sessionId: 's1',
      at: 600,
      from: 'CREATING',
      to: 'CANCELLED',
      substate: '',
      reason: 'user-cancelled',
    };
    expect(write.history).toEqual([row]);
    expect(notices).toEqual([row]);
  });
});
