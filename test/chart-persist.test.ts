import { describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import { decide, type SessionSnapshot, start } from '../src/core/decide.js';
import { CorruptSnapshotError, UnknownStateError } from '../src/core/errors.js';
import type { SessionEvent } from '../src/core/events.js';
import { effectKey, parseKey } from '../src/core/keys.js';
import { persist, restore } from '../src/core/persist.js';
import { creating, ev, failure, input, T } from './helpers/chart-kit.js';

const STATUS_LIST =
  'PENDING, SCHEDULED, PREPARING, PREPARED, CREATING, RUNNING, TERMINATING, TERMINATED, ' +
  'CANCELLED, ERROR';

/** The state value of every leaf (atomic or final state) below `node`. */
function leafValues(node: AnyStateNode): unknown[] {
  return Object.entries(node.states).flatMap(([name, child]): unknown[] =>
    Object.keys(child.states).length === 0 || child.type === 'final'
      ? [name]
      : leafValues(child).map((inner) => ({ [name]: inner })),
  );
}

function stored(snapshot: SessionSnapshot): Record<string, unknown> {
  return JSON.parse(JSON.stringify(persist(snapshot)));
}

/** A persisted snapshot with one field replaced. */
function corrupt(path: string[], value: unknown): unknown {
  const json = stored(creating().snapshot) as Record<string, Record<string, unknown>>;
  if (path.length === 1) (json as Record<string, unknown>)[path[0] as string] = value;
  else (json[path[0] as string] as Record<string, unknown>)[path[1] as string] = value;
  return json;
}

const TRACE: SessionEvent[] = [
  ev.schedule({ k0: 'a1', k1: 'a2' }),
  ev.prepare(),
  ev.pulled('a1', 1),
  ev.pullFailed('a2', 1, failure('transient')),
  ev.timer(T.pullBackoff, 1003),
  ev.pulled('a2', 2, 1100),
  ev.start(1200),
  ev.started('a2', 'k1', 1, 1300),
  ev.createFailed('a1', 1, failure('ambiguous'), 1400),
  ev.inspected('a1', 1, { k0: 'absent' }, 1500),
  ev.inspected('a2', 1, { k1: 'running' }, 1500),
  ev.terminated('a2', 'k1', 'CANCELLED', 1600),
  ev.timer(T.createBackoff, 2600),
  ev.started('a1', 'k0', 2, 2700),
  ev.started('a2', 'k1', 2, 2800),
];

describe('persist / restore', () => {
  it('round-trips at every step without changing anything that follows', () => {
    let plain = start(input(2)).next;
    let trip = plain;
    for (const event of TRACE) {
      const a = decide(plain, event);
      const b = decide(restore(stored(trip)), event);
      expect(b.effects, event.type).toEqual(a.effects);
      expect(b.next.value, event.type).toEqual(a.next.value);
      expect(b.next.context, event.type).toEqual(a.next.context);
      expect(b.next.status, event.type).toBe(a.next.status);
      plain = a.next;
      trip = b.next;
    }
    expect(plain.value).toBe('RUNNING');
  });

  it("restores every leaf state exactly as XState's resolveState does", () => {
    const context = stored(creating().snapshot).context as SessionSnapshot['context'];
    const leaves = leafValues(sessionMachine.root);
    expect(leaves.length).toBe(16);
    for (const value of leaves) {
      const ours = restore({ status: 'active', value, context, historyValue: {}, children: {} });
      const theirs = sessionMachine.resolveState({ value: value as never, context });
      const label = JSON.stringify(value);
      expect(Object.keys(ours), label).toEqual(Object.keys(theirs));
      expect(ours.value, label).toEqual(theirs.value);
      expect(ours.status, label).toBe(theirs.status);
      expect(ours.context, label).toBe(theirs.context);
      expect(ours._nodes, label).toEqual(theirs._nodes);
      expect([...ours.tags], label).toEqual([...theirs.tags]);
      expect(ours.machine, label).toBe(theirs.machine);
      expect([ours.output, ours.error, ours.children, ours.historyValue], label).toEqual([
        theirs.output,
        theirs.error,
        theirs.children,
        theirs.historyValue,
      ]);
    }
  });

  it('restores a final snapshot as done', () => {
    const d = creating();
    d.send(ev.cancel());
    const back = restore(stored(d.snapshot));
    expect(back.status).toBe('done');
    expect(back.value).toBe('CANCELLED');
    expect(decide(back, ev.cancel()).changed).toBe(false);
  });

  it('writes plain JSON: value, context and status survive JSON unchanged', () => {
    const snapshot = creating().snapshot;
    const json = persist(snapshot);
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      status: 'active',
      value: { CREATING: 'creating' },
      context: snapshot.context,
      historyValue: {},
      children: {},
    });
  });
});

describe('restore: corrupt snapshots', () => {
  const cases: [string, unknown, string][] = [
    ['a number', 42, 'persisted snapshot field (root) must be an object, got 42'],
    ['null', null, 'persisted snapshot field (root) must be an object, got null'],
    [
      'no context',
      corrupt(['context'], undefined),
      'persisted snapshot field context must be an object, got undefined',
    ],
    [
      'kernels not an array',
      corrupt(['context', 'kernels'], 'k0'),
      'persisted snapshot field context.kernels must be an array of kernel states, got "k0"',
    ],
    [
      'negative attempts',
      corrupt(['context', 'attempts'], { pull: -1, create: 0 }),
      'persisted snapshot field context.attempts must be { pull, create }, got an object',
    ],
    [
      'unknown lastStatus',
      corrupt(['context', 'lastStatus'], 'PAUSED'),
      `persisted snapshot field context.lastStatus must be ` +
        `${STATUS_LIST.replaceAll(', ', ' | ')}, got "PAUSED"`,
    ],
    [
      'no value',
      corrupt(['value'], undefined),
      'persisted snapshot field value must be a state name or { state: substate value }, got ' +
        'undefined',
    ],
    [
      'a compound state without its substate',
      corrupt(['value'], 'CREATING'),
      'persisted snapshot field value must be a state object below CREATING, got "CREATING"',
    ],
  ];
  for (const [what, json, message] of cases) {
    it(`throws CorruptSnapshotError for ${what}`, () => {
      expect(() => restore(json)).toThrow(CorruptSnapshotError);
      expect(() => restore(json)).toThrow(message);
    });
  }

  it('names the field on the error', () => {
    try {
      restore(corrupt(['context', 'requestSeq'], 1.5));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CorruptSnapshotError);
      expect(error).toMatchObject({
        code: 'corrupt-snapshot',
        field: 'context.requestSeq',
        value: 1.5,
      });
    }
  });

  it('restores a snapshot from before cleanupWaits as a cleanup with no wait yet', () => {
    const d = creating();
    d.send(ev.creating('a1', 'k0', 1), ev.createFailed('a1', 1, failure('transient'), 6));
    const json = stored(d.snapshot) as { context: Record<string, unknown> };
    delete json.context.cleanupWaits;
    const restored = restore(json);
    expect(restored.context.cleanupWaits).toBe(0);
    expect(decide(restored, ev.timer(T.cleanupTimeout, 30_006))).toEqual(
      decide(d.snapshot, ev.timer(T.cleanupTimeout, 30_006)),
    );
  });

  it('throws CorruptSnapshotError for a negative cleanupWaits', () => {
    expect(() => restore(corrupt(['context', 'cleanupWaits'], -1))).toThrow(
      'persisted snapshot field context.cleanupWaits must be an integer >= 0, got -1',
    );
  });

  it('throws UnknownStateError naming a top-level state that does not exist', () => {
    const json = corrupt(['value'], 'FROZEN');
    expect(() => restore(json)).toThrow(UnknownStateError);
    expect(() => restore(json)).toThrow(
      `persisted snapshot value names state "FROZEN", which the session chart does not have; ` +
        `expected one of ${STATUS_LIST}`,
    );
  });

  it('throws UnknownStateError naming a substate that does not exist', () => {
    const json = corrupt(['value'], { CREATING: { verifying: 'sleeping' } });
    expect(() => restore(json)).toThrow(
      'persisted snapshot value names state "CREATING.verifying.sleeping", which the session ' +
        'chart does not have; expected one of waiting',
    );
    try {
      restore(json);
    } catch (error) {
      expect(error).toMatchObject({ code: 'unknown-state', state: 'CREATING.verifying.sleeping' });
    }
  });
});

describe('idempotency keys', () => {
  it('builds and parses keys for every stage', () => {
    const pull = { sessionId: 's1', agentId: 'a1', stage: 'pull', attempt: 2 } as const;
    expect(effectKey(pull)).toBe('s1/a1/pull/2');
    expect(effectKey({ ...pull, placement: 1 })).toBe('s1/a1/pull/2.r1');
    expect(effectKey({ ...pull, stage: 'destroy', discriminator: 7 })).toBe('s1/a1/destroy/2.7');
    expect(parseKey('s1/a1/inspect/3.4')).toEqual({
      sessionId: 's1',
      agentId: 'a1',
      stage: 'inspect',
      attempt: 3,
      discriminator: 4,
    });
    expect(parseKey('s1/a1/create/1.r2')).toEqual({
      sessionId: 's1',
      agentId: 'a1',
      stage: 'create',
      attempt: 1,
      placement: 2,
    });
    expect(parseKey('s1/a1/reboot/1')).toBeUndefined();
  });
});
