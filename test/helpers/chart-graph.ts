/**
 * Graph helpers over the session chart for @xstate/graph traversals: the declared transitions
 * of every state node (with a stable name each), which declared transitions one step took, the
 * payloaded events a snapshot can take, and a state key small enough for a finite traversal.
 */
import {
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
  __unsafe_getAllOwnEventDescriptors as eventDescriptors,
  getMicrosteps,
} from 'xstate';
import type { SessionContext } from '../../src/core/context.js';
import type { SessionEvent } from '../../src/core/events.js';
import type { Failure } from '../../src/core/types.js';

/** Every state node below the root, depth first. */
export function allStateNodes(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states).flatMap((child) => [child, ...allStateNodes(child)]);
}

function guardName(transition: AnyTransitionDefinition): string {
  const guard = transition.guard as unknown;
  if (guard === undefined) return '';
  if (typeof guard === 'string') return ` [${guard}]`;
  if (typeof guard === 'function') return ` [${guard.name || 'inline'}]`;
  return ` [${(guard as { type?: string }).type ?? 'guard'}]`;
}

/** A readable, unique name: `source --event [guard]--> targets #index`. */
export function transitionName(transition: AnyTransitionDefinition): string {
  const source = transition.source;
  const list =
    transition.eventType === ''
      ? (source.always ?? [])
      : (source.transitions.get(transition.eventType) ?? []);
  const targets = transition.target?.map((t: AnyStateNode) => t.id).join(',') ?? '(self)';
  const event = transition.eventType === '' ? 'always' : transition.eventType;
  return (
    `${source.id} --${event}${guardName(transition)}--> ${targets} ` +
    `#${list.indexOf(transition)}`
  );
}

/** Every declared transition of every state node (`on`, `after`, `onDone`, `always`). */
export function declaredTransitions(machine: AnyStateMachine): string[] {
  const nodes = [machine.root, ...allStateNodes(machine.root)];
  return nodes.flatMap((node) => {
    const own = [...node.transitions.values()].flat();
    return [...own, ...(node.always ?? [])].map(transitionName);
  });
}

function activeIds(snapshot: AnyMachineSnapshot): Set<string> {
  return new Set(snapshot._nodes.map((node: AnyStateNode) => node.id));
}

/** Internal transitions (eventless, done-state) of `prev` that explain reaching `next`. */
function internalStep(
  prev: AnyMachineSnapshot,
  next: AnyMachineSnapshot,
): AnyTransitionDefinition[] {
  const after = activeIds(next);
  const candidates = prev._nodes.flatMap((node: AnyStateNode) => [
    ...(node.always ?? []),
    ...[...node.transitions.entries()]
      .filter(([type]) => type.startsWith('xstate.done.state.'))
      .flatMap(([, list]) => list),
  ]);
  const fits = candidates.filter((t: AnyTransitionDefinition) =>
    (t.target ?? []).every((target: AnyStateNode) => after.has(target.id)),
  );
  return fits.slice(0, 1);
}

/** What one event did: the declared transitions taken and every state node it passed. */
export interface StepTrace {
  transitions: AnyTransitionDefinition[];
  /** Ids of the state nodes active after any microstep (transient states included). */
  nodes: string[];
}

/** The declared transitions `event` makes `snapshot` take, eventless follow-ups included. */
export function traceStep(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: { type: string },
): StepTrace {
  const direct = machine.getTransitionData(snapshot, event as never);
  const steps = getMicrosteps(machine, snapshot, event as never).map(([next]) => next);
  const internal = steps.slice(1).flatMap((next, i) => internalStep(steps[i]!, next));
  const nodes = steps.flatMap((next) => [...activeIds(next)]);
  return { transitions: [...direct, ...internal], nodes };
}

/** One failure of each class, and a transient one carrying `retryAfterMs`. */
export const FAILURES: Failure[] = [
  { class: 'transient', code: 'connection-refused', message: 'refused' },
  { class: 'transient', code: 'agent-busy', message: 'busy', retryAfterMs: 5_000 },
  { class: 'ambiguous', code: 'rpc-timeout', message: 'timed out' },
  { class: 'agent', code: 'agent-lost', message: 'agent lost' },
  { class: 'permanent', code: 'image-not-found', message: 'no such image' },
];

/** An error event from a child actor the chart does not have. */
const STRAY_ERROR = { type: 'xstate.error.actor.stray', error: 'stray' };
/** Far enough past submit for any overall deadline of the graph's policies (30 days). */
const DEADLINE_PAST = 30 * 86_400_000;

const INSPECTIONS = ['running', 'creating', 'absent', 'mixed'] as const;

function agentsOf(context: SessionContext): string[] {
  return [...new Set(context.kernels.map((k) => k.agentId).filter((id) => id !== null))];
}

function placements(context: SessionContext): Record<string, string>[] {
  const together = Object.fromEntries(context.kernels.map((k) => [k.id, 'a0']));
  const spread = Object.fromEntries(context.kernels.map((k, i) => [k.id, `a${i % 2}`]));
  return context.kernels.length > 1 ? [together, spread] : [together];
}

function inspected(context: SessionContext, agentId: string, kind: (typeof INSPECTIONS)[number]) {
  const mine = context.kernels.filter((k) => k.agentId === agentId);
  const found = (index: number) => (kind !== 'mixed' ? kind : index === 0 ? 'running' : 'absent');
  return Object.fromEntries(mine.map((k, index) => [k.id, found(index)]));
}

/** Payloaded variants of one event type in the situation `context` describes. */
function variants(
  type: string,
  context: SessionContext,
  now: number,
  failures: readonly Failure[],
): unknown[] {
  const agents = agentsOf(context);
  const pull = context.attempts.pull;
  const create = context.attempts.create;
  const perAgent = <T>(make: (agentId: string) => T[]) => agents.flatMap(make);
  const perKernel = <T>(make: (kernelId: string, agentId: string) => T[]) =>
    context.kernels.filter((k) => k.agentId !== null).flatMap((k) => make(k.id, k.agentId!));
  switch (type) {
    case 'SCHEDULE':
      return placements(context).map((placement) => ({ type, now, placement }));
    case 'PLACEMENT_FAILED':
      return [{ type, now, predicate: 'capacity', message: 'no agent fits' }];
    case 'IMAGE_PULLING':
    case 'IMAGE_PULLED':
      return perAgent((agentId) => [{ type, now, agentId, attempt: pull }]);
    case 'PULL_FAILED':
      return perAgent((agentId) =>
        failures.map((failure) => ({ type, now, agentId, attempt: pull, failure })),
      );
    case 'CREATE_FAILED':
    case 'INSPECT_FAILED':
      return perAgent((agentId) =>
        failures.map((failure) => ({ type, now, agentId, attempt: create, failure })),
      );
    case 'KERNEL_CREATING':
    case 'KERNEL_STARTED':
      return perKernel((kernelId, agentId) => [{ type, now, agentId, kernelId, attempt: create }]);
    case 'KERNELS_INSPECTED':
      return perAgent((agentId) =>
        INSPECTIONS.map((kind) => ({
          type,
          now,
          agentId,
          attempt: create,
          kernels: inspected(context, agentId, kind),
        })),
      );
    case 'KERNEL_TERMINATED':
      return perKernel((kernelId, agentId) =>
        (['TERMINATED', 'CANCELLED'] as const).map((outcome) => ({
          type,
          now,
          agentId,
          kernelId,
          outcome,
        })),
      );
    case 'AGENT_LOST':
      return perAgent((agentId) => [{ type, now, agentId }]);
    default:
      if (type.endsWith('*')) return [{ type: `${type.slice(0, -1)}stray`, error: 'stray' }];
      // the overall deadline only fires once it has passed
      return [{ type, now: type.startsWith('xstate.after.deadline') ? now + DEADLINE_PAST : now }];
  }
}

/** Every payloaded event the snapshot's active states declare a transition for. */
export function eventsFor(
  snapshot: AnyMachineSnapshot,
  now: number,
  failures: readonly Failure[] = FAILURES,
): SessionEvent[] {
  const context = snapshot.context as SessionContext;
  const types = eventDescriptors(snapshot);
  const events = types.flatMap((type) => variants(type, context, now, failures));
  // a handler that does nothing is not an "own event" of XState's, so add the stray error
  return [...events, STRAY_ERROR] as SessionEvent[];
}

/** Context fields that guards never need to tell two states apart. */
const VOLATILE = new Set([
  'spec',
  'policy',
  'sessionId',
  'history',
  'rng',
  'backoffMs',
  'statusSince',
  'lastStatus',
  'lastPlacementFailure',
  'attemptStartedAt',
  'requestSeq',
]);

/** State value plus the guard-relevant context (volatile fields out, lastFailure by class). */
export function stateKey(snapshot: AnyMachineSnapshot): string {
  // a final state takes no transition: its reason is all that tells two apart
  if (snapshot.status === 'done') {
    return JSON.stringify({ value: snapshot.value, reason: snapshot.context.reason });
  }
  const context = snapshot.context as Record<string, unknown>;
  const kept = Object.entries(context).filter(([key]) => !VOLATILE.has(key));
  const slim = kept.map(([key, value]) =>
    key === 'lastFailure' ? [key, (value as Failure | null)?.class ?? null] : [key, value],
  );
  return JSON.stringify({ value: snapshot.value, status: snapshot.status, context: slim });
}
