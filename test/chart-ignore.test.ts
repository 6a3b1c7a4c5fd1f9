import { describe, expect, it } from 'vitest';
import { decide } from '../src/core/decide.js';
import { InvalidEventError, UnknownEventError } from '../src/core/errors.js';
import type { SessionEvent } from '../src/core/events.js';
import { creating, Driver, ev, failure, fx, input, prepared, T } from './helpers/chart-kit.js';

const EVENT_LIST =
  'SCHEDULE, PLACEMENT_FAILED, PREPARE, IMAGE_PULLING, IMAGE_PULLED, PULL_FAILED, START, ' +
  'KERNEL_CREATING, KERNEL_STARTED, CREATE_FAILED, KERNELS_INSPECTED, INSPECT_FAILED, ' +
  'KERNEL_TERMINATED, AGENT_LOST, CANCEL, TERMINATE, VERIFY';

/** Sends `event` and expects it to be ignored: same snapshot, no effect, changed false. */
function expectIgnored(d: Driver, event: SessionEvent): void {
  const before = d.snapshot;
  const decision = decide(before, event);
  expect(decision.changed, event.type).toBe(false);
  expect(decision.effects, event.type).toEqual([]);
  expect(decision.next, event.type).toBe(before);
}

describe('session chart: events that do not apply are ignored', () => {
  it('ignores a SCHEDULE whose placement misses a kernel, and records placement failures', () => {
    const d = new Driver(input(2));
    expectIgnored(d, ev.schedule({ k0: 'a1' }));
    expect(
      d.send({ type: 'PLACEMENT_FAILED', now: 3, predicate: 'capacity', message: 'full' }),
    ).toEqual([]);
    expect(d.context.lastPlacementFailure).toEqual({
      predicate: 'capacity',
      message: 'full',
      at: 3,
    });
    expect(d.value).toBe('PENDING');
  });

  it('ignores pull reports for an earlier attempt and from agents not placed', () => {
    const d = new Driver();
    d.send(ev.schedule({ k0: 'a1' }), ev.prepare(), ev.pullFailed('a1', 1, failure('transient')));
    d.send(ev.timer(T.pullBackoff, 1003));
    expectIgnored(d, ev.pullFailed('a1', 1, failure('permanent')));
    expectIgnored(d, ev.pulling('a1', 1));
    expectIgnored(d, ev.pullFailed('a9', 2, failure('permanent')));
  });

  it('never moves a kernel back: creating after started, duplicates, other attempts', () => {
    const d = creating(input(2));
    d.send(ev.started('a1', 'k0', 1));
    expectIgnored(d, ev.creating('a1', 'k0', 1));
    expectIgnored(d, ev.started('a1', 'k0', 1));
    expectIgnored(d, ev.started('a2', 'k1', 2));
    expectIgnored(d, ev.started('a1', 'k1', 1));
    expectIgnored(d, ev.createFailed('a2', 0, failure('permanent')));
    expect(d.kernelStatuses).toEqual({ k0: 'RUNNING', k1: 'PREPARED' });
  });

  it('ignores stage events in the wrong status', () => {
    const d = prepared();
    for (const event of [
      ev.prepare(),
      ev.schedule({ k0: 'a2' }),
      ev.started('a1', 'k0', 1),
      ev.inspected('a1', 1, { k0: 'running' }),
      ev.verify(),
      ev.timer(T.pullTimeout, 60_002),
      ev.timer(T.createBackoff, 60_002),
      ev.terminated('a1', 'k0'),
    ]) {
      expectIgnored(d, event);
    }
    expect(d.value).toBe('PREPARED');
  });

  it('ignores VERIFY during a create backoff (nothing exists to verify)', () => {
    const d = creating();
    d.send(ev.createFailed('a1', 1, failure('transient')));
    expectIgnored(d, ev.verify());
  });

  it('ignores a stray xstate.error.actor event in an active session', () => {
    const d = creating();
    expectIgnored(d, { type: 'xstate.error.actor.child', now: 10 } as unknown as SessionEvent);
    expect(d.snapshot.status).toBe('active');
  });
});

describe('session chart: final states absorb everything', () => {
  for (const [name, end] of [
    ['CANCELLED', ev.cancel(50)],
    ['TERMINATED', ev.terminated('a1', 'k0', 'TERMINATED', 50)],
  ] as const) {
    it(`keeps ${name} for every event, including xstate.error.actor.*`, () => {
      const d = creating();
      d.send(ev.started('a1', 'k0', 1), end);
      expect(d.value).toBe(name);
      for (const event of [
        ev.cancel(),
        ev.terminate(),
        ev.schedule({ k0: 'a1' }),
        ev.started('a1', 'k0', 1),
        ev.agentLost('a1'),
        ev.timer(T.deadline, 99),
        { type: 'xstate.error.actor.child', now: 60 } as unknown as SessionEvent,
      ]) {
        expectIgnored(d, event);
      }
      expect(d.snapshot.status).toBe('done');
    });
  }
});

describe('decide: malformed events', () => {
  it('throws UnknownEventError naming an unknown type', () => {
    const d = new Driver();
    const bogus = { type: 'BOGUS', now: 1 } as unknown as SessionEvent;
    expect(() => decide(d.snapshot, bogus)).toThrow(UnknownEventError);
    expect(() => decide(d.snapshot, bogus)).toThrow(
      `event.type "BOGUS" is not a session event; expected one of ${EVENT_LIST}, ` +
        'or xstate.after.<delay>.<state id> for a timer',
    );
    const inherited = { type: 'toString', now: 1 } as unknown as SessionEvent;
    expect(() => decide(d.snapshot, inherited)).toThrow(UnknownEventError);
  });

  it('throws InvalidEventError naming a missing now', () => {
    const d = new Driver();
    const event = { type: 'PREPARE' } as unknown as SessionEvent;
    expect(() => decide(d.snapshot, event)).toThrow(InvalidEventError);
    expect(() => decide(d.snapshot, event)).toThrow(
      'PREPARE event field now must be a finite number (epoch ms), got undefined',
    );
  });

  it('throws InvalidEventError naming a mistyped field, even for a final snapshot', () => {
    const d = new Driver();
    d.send(ev.cancel());
    const event = { type: 'IMAGE_PULLED', now: 3, agentId: 'a1', attempt: '1' };
    let caught: unknown;
    try {
      decide(d.snapshot, event as unknown as SessionEvent);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEventError);
    expect(caught).toMatchObject({
      code: 'invalid-event',
      field: 'attempt',
      eventType: 'IMAGE_PULLED',
      value: '1',
      message: 'IMAGE_PULLED event field attempt must be an integer >= 0, got "1"',
    });
  });

  it('rejects a failure with an unknown class', () => {
    const d = new Driver();
    const event = { ...ev.pullFailed('a1', 1, failure('transient')), failure: { class: 'odd' } };
    expect(() => decide(d.snapshot, event as SessionEvent)).toThrow(
      'PULL_FAILED event field failure must be an object { class: transient | ambiguous | ' +
        'agent | permanent, code: string, message: string }, got an object',
    );
  });

  it('recognizes the error classes by brand across package copies', () => {
    const foreign = Object.defineProperty(
      new Error('x'),
      Symbol.for('session-lifecycle.UnknownEventError'),
      {
        value: true,
      },
    );
    expect(foreign).toBeInstanceOf(UnknownEventError);
    expect(new Error('x')).not.toBeInstanceOf(UnknownEventError);
  });

  it('keeps the start effects of a session exact', () => {
    expect(new Driver().initialEffects).toEqual([fx.notify('PENDING', 'PENDING', '', 0)]);
  });
});
