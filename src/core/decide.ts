/**
 * The decision core: `decide(snapshot, event) -> { next, effects, changed }` runs the session
 * chart purely (no actor, no clock, no I/O) and turns the actions it executed into effects.
 * `start(input)` makes the first snapshot of a new session and its entry effects.
 */
import type { ActorScope, AnyActorRef, SnapshotFrom } from 'xstate';
import { sessionMachine } from '../../machines/session.machine.js';
import { appendEffects, type ExecutedAction } from './actions-to-effects.js';
import { CompiledChart, type FastSnapshot } from './compiled.js';
import type { SessionContext, SessionInput } from './context.js';
import type { Effect } from './effects.js';
import { ACTOR_ERROR_PREFIX, checkEvent } from './event-check.js';
import type { SessionEvent } from './events.js';
import type { Status } from './types.js';

/** A session chart snapshot, as `decide` takes and returns it. */
export type SessionSnapshot = SnapshotFrom<typeof sessionMachine>;

/** What one event did. `changed` is false when the snapshot could not take the event. */
export interface Decision {
  next: SessionSnapshot;
  effects: Effect[];
  changed: boolean;
}

/** One reusable, inert actor scope: executed actions are collected, never run. */
const collected: ExecutedAction[] = [];
const noop = () => {};
const inertSystem = {
  _sendInspectionEvent: noop,
  _register: noop,
  _unregister: noop,
  _set: noop,
  get: () => undefined,
  getSnapshot: () => ({ _scheduledEvents: {} }),
  scheduler: { schedule: noop, cancel: noop, cancelAll: noop },
};
const scope = {
  self: { id: 'session', sessionId: '', send: noop, getSnapshot: noop } as unknown as AnyActorRef,
  defer: noop,
  id: 'session',
  sessionId: '',
  logger: noop,
  stopChild: noop,
  emit: noop,
  system: inertSystem,
  actionExecutor: (action: ExecutedAction) => {
    collected.push(action);
  },
} as unknown as ActorScope<SessionSnapshot, SessionEvent>;

function drain(sessionId: string, now: number): Effect[] {
  const effects: Effect[] = [];
  for (const action of collected) appendEffects(effects, action, sessionId, now);
  collected.length = 0;
  return effects;
}

/** The first snapshot of a new session and the effects of entering it. */
export function start(input: SessionInput): { next: SessionSnapshot; effects: Effect[] } {
  collected.length = 0;
  const next = sessionMachine.getInitialSnapshot(scope, input);
  return { next, effects: drain(input.spec.id, input.now) };
}

/**
 * Decides what `event` does to `snapshot`. Throws `UnknownEventError` / `InvalidEventError`
 * for events that are not well-formed session events. Final snapshots absorb every event.
 */
export function decide(snapshot: SessionSnapshot, event: SessionEvent): Decision {
  checkEvent(event);
  if (snapshot.status !== 'active' || event.type.startsWith(ACTOR_ERROR_PREFIX)) {
    return { next: snapshot, effects: [], changed: false };
  }
  const effects: Effect[] = [];
  const next = compiled().step(snapshot as unknown as FastSnapshot, event, effects);
  const decided = next as unknown as SessionSnapshot;
  return { next: decided, effects, changed: decided !== snapshot || effects.length > 0 };
}

/**
 * `decide` through XState's own `machine.transition` (with one reusable inert actor scope)
 * instead of the compiled fast path: the reference the fast path is tested against.
 */
export function decideWithXState(snapshot: SessionSnapshot, event: SessionEvent): Decision {
  checkEvent(event);
  if (snapshot.status !== 'active' || event.type.startsWith(ACTOR_ERROR_PREFIX)) {
    return { next: snapshot, effects: [], changed: false };
  }
  collected.length = 0;
  const next = sessionMachine.transition(snapshot, event, scope);
  const effects = drain(snapshot.context.sessionId, event.now);
  return { next, effects, changed: next !== snapshot || effects.length > 0 };
}

let fastPath: CompiledChart | undefined;

/** The compiled chart, built on first use (plans are then cached per state and event). */
function compiled(): CompiledChart {
  if (!fastPath) {
    const sample = sessionMachine.resolveState({ value: 'PENDING', context: {} as never });
    fastPath = new CompiledChart(sessionMachine, sample as unknown as FastSnapshot);
  }
  return fastPath;
}

/**
 * The snapshot of the leaf state `value` names with `context`, as `machine.resolveState` gives
 * it (`restore` checks the value names a leaf first).
 */
export function resolveLeaf(value: unknown, context: SessionContext): SessionSnapshot {
  return compiled().resolve(value, context as never) as unknown as SessionSnapshot;
}

/** The session's status: the top-level state. */
export function statusOf(snapshot: SessionSnapshot): Status {
  const value = snapshot.value as string | Record<string, unknown>;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as Status;
}

/** The state path below the status (`pulling.waiting`), `''` at a leaf status. */
export function substateOf(snapshot: SessionSnapshot): string {
  const parts: string[] = [];
  let value: unknown = snapshot.value;
  if (typeof value === 'string') return '';
  value = Object.values(value as Record<string, unknown>)[0];
  while (typeof value === 'object' && value !== null) {
    const [key, inner] = Object.entries(value)[0] as [string, unknown];
    parts.push(key);
    value = inner;
  }
  if (typeof value === 'string') parts.push(value);
  return parts.join('.');
}

export function contextOf(snapshot: SessionSnapshot): SessionContext {
  return snapshot.context;
}
