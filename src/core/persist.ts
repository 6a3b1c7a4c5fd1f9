/**
 * Persisting and restoring session snapshots. `persist` gives plain JSON (what the store
 * keeps); `restore` checks it and rebuilds a snapshot without creating an actor. A restored
 * snapshot decides exactly like the one that was persisted.
 */
import type { AnyStateNode, StateValue } from 'xstate';
import { sessionMachine } from '../../machines/session.machine.js';
import type { SessionContext } from './context.js';
import { resolveLeaf, type SessionSnapshot } from './decide.js';
import { CorruptSnapshotError, UnknownStateError } from './errors.js';
import { STATUSES } from './types.js';

/** A persisted snapshot: plain JSON. */
export interface PersistedSession {
  status: 'active' | 'done';
  value: StateValue;
  context: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * The snapshot as plain JSON: what `machine.getPersistedSnapshot` gives, field for field. The
 * chart spawns no actors, so its context holds no actor references to replace: the context is
 * kept as it is (snapshots are immutable) instead of walked and copied, which XState does to
 * find references. A snapshot with children (none of this chart's) goes through XState.
 */
export function persist(snapshot: SessionSnapshot): PersistedSession {
  const { status, output, error, value, historyValue, context, children } = snapshot;
  for (const _child in children) {
    return sessionMachine.getPersistedSnapshot(snapshot) as unknown as PersistedSession;
  }
  return {
    // The chart never ends in error or stopped (a property test checks it).
    status: status as PersistedSession['status'],
    output,
    error,
    value,
    historyValue: historyOf(historyValue),
    context: context as unknown as Record<string, unknown>,
    children: {},
  };
}

/** History states the snapshot remembers, by id (the chart has none; XState's own form). */
function historyOf(historyValue: unknown): Record<string, { id: string }[]> {
  const result: Record<string, { id: string }[]> = {};
  if (!isRecord(historyValue)) return result;
  for (const [key, nodes] of Object.entries(historyValue)) {
    if (Array.isArray(nodes)) result[key] = nodes.map((node: { id: string }) => ({ id: node.id }));
  }
  return result;
}

/**
 * Rebuilds a snapshot from `persist` output. Throws `CorruptSnapshotError` naming the field
 * when the JSON is malformed, `UnknownStateError` naming the state when the value names a
 * state this chart does not have.
 */
export function restore(json: unknown): SessionSnapshot {
  if (!isRecord(json)) throw new CorruptSnapshotError('(root)', json, 'an object');
  const context = withDefaults(json.context);
  checkContext(context);
  checkValue(sessionMachine.root, json.value, 'value');
  return resolveLeaf(json.value, context as SessionContext);
}

/** Context fields added after the first release, with the value older snapshots mean. */
const LATER_FIELDS = { cleanupWaits: 0 };

function withDefaults(context: unknown): unknown {
  if (!isRecord(context)) return context;
  const missing = Object.entries(LATER_FIELDS).filter(([name]) => !(name in context));
  return missing.length === 0 ? context : { ...Object.fromEntries(missing), ...context };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Each state value must walk down existing states to a leaf. */
function checkValue(node: AnyStateNode, value: unknown, field: string): void {
  const names = Object.keys(node.states);
  if (typeof value === 'string') {
    const child = node.states[value];
    if (!child) throw new UnknownStateError(pathOf(node, value), names);
    if (Object.keys(child.states).length > 0 && child.type !== 'final') {
      throw new CorruptSnapshotError(field, value, `a state object below ${value}`);
    }
    return;
  }
  if (!isRecord(value) || Object.keys(value).length !== 1) {
    throw new CorruptSnapshotError(field, value, 'a state name or { state: substate value }');
  }
  const [name, inner] = Object.entries(value)[0] as [string, unknown];
  const child = node.states[name];
  if (!child) throw new UnknownStateError(pathOf(node, name), names);
  checkValue(child, inner, `${field}.${name}`);
}

function pathOf(node: AnyStateNode, name: string): string {
  return [...node.path, name].join('.');
}

const FIELD_CHECKS: [string, (v: unknown) => boolean, string][] = [
  ['sessionId', (v) => typeof v === 'string' && v !== '', 'a non-empty string'],
  ['spec', isRecord, 'an object'],
  ['policy', isRecord, 'an object'],
  ['kernels', (v) => Array.isArray(v) && v.every(isKernel), 'an array of kernel states'],
  ['holds', isRecord, 'an object of agent id -> slots'],
  ['attempts', (v) => isRecord(v) && isCount(v.pull) && isCount(v.create), '{ pull, create }'],
  ['reschedules', isCount, 'an integer >= 0'],
  ['avoid', isRecord, 'an object of agent id -> count'],
  ['history', Array.isArray, 'an array'],
  ['backoffMs', isCount, 'an integer >= 0'],
  ['rng', isCount, 'a 32-bit unsigned integer'],
  ['statusSince', Number.isFinite, 'a finite number'],
  ['lastStatus', (v) => (STATUSES as readonly unknown[]).includes(v), STATUSES.join(' | ')],
  ['attemptStartedAt', Number.isFinite, 'a finite number'],
  ['inspected', Array.isArray, 'an array of agent ids'],
  ['requestSeq', isCount, 'an integer >= 0'],
  ['cleanupWaits', isCount, 'an integer >= 0'],
];

function isCount(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0;
}

function isKernel(value: unknown): boolean {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    isRecord(value.slots) &&
    (value.agentId === null || typeof value.agentId === 'string') &&
    typeof value.status === 'string' &&
    isCount(value.attempt)
  );
}

function checkContext(context: unknown): void {
  if (!isRecord(context)) throw new CorruptSnapshotError('context', context, 'an object');
  for (const [name, test, allowed] of FIELD_CHECKS) {
    if (!test(context[name])) {
      throw new CorruptSnapshotError(`context.${name}`, context[name], allowed);
    }
  }
}
