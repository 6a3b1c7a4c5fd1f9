/**
 * The manager's view of the decision core: restore a stored snapshot, decide, and read the
 * columns a session row keeps. One place, so the rest of the manager does not depend on how
 * snapshots are represented.
 */
import { inspectParams } from '../../machines/session.effects.js';
import type { SessionContext, SessionInput } from '../core/context.js';
import { decide, type SessionSnapshot, start, statusOf, substateOf } from '../core/decide.js';
import type { AgentEffect, Effect } from '../core/effects.js';
import type { SessionEvent } from '../core/events.js';
import { persist, restore } from '../core/persist.js';
import type { Status } from '../core/types.js';
import type { NextRow } from './transition.js';

/** A restored chart snapshot (opaque to the manager apart from its context). */
export type Snapshot = SessionSnapshot;

/** What one event did to a snapshot. */
export interface Decision {
  next: Snapshot;
  effects: Effect[];
  changed: boolean;
}

/** Restores a stored snapshot; throws when the stored value is not a valid snapshot. */
export function restoreSnapshot(stored: unknown): Snapshot {
  return restore(stored);
}

export function decideEvent(snapshot: Snapshot, event: SessionEvent): Decision {
  return decide(snapshot, event);
}

export function startSession(input: SessionInput): { next: Snapshot; effects: Effect[] } {
  return start(input);
}

export function contextOf(snapshot: Snapshot): SessionContext {
  return snapshot.context;
}

/** The `inspectKernels` calls that would verify the current create attempt, one per agent. */
export function inspectionsOf(
  snapshot: Snapshot,
): Extract<AgentEffect, { type: 'inspectKernels' }>[] {
  return inspectParams(contextOf(snapshot)).effects;
}

export function statusOfSnapshot(snapshot: Snapshot): Status {
  return statusOf(snapshot);
}

/** The row columns for a snapshot, as of `now`. */
export function rowColumns(snapshot: Snapshot, now: number): NextRow {
  const context = contextOf(snapshot);
  return {
    id: context.sessionId,
    owner: context.spec.owner,
    priority: context.spec.priority,
    status: statusOf(snapshot),
    substate: substateOf(snapshot),
    submittedAt: context.spec.submittedAt,
    updatedAt: now,
    holds: { ...context.holds },
    snapshot: persist(snapshot),
  };
}

/** Snapshots kept by `SnapshotCache` (one per session; the least recently used go first). */
export const SNAPSHOT_CACHE_SIZE = 50_000;

/**
 * Restored snapshots by session id and row version, so a session is restored once per version
 * instead of at every event and every stage. Snapshots are immutable, and a row's version names
 * exactly one snapshot, so a hit is always the stored state. Cleared when a transaction rolls
 * back (it may hold versions that were never committed).
 */
export class SnapshotCache {
  private readonly entries = new Map<string, { version: number; snapshot: Snapshot }>();

  constructor(private readonly capacity = SNAPSHOT_CACHE_SIZE) {}

  /** The snapshot of a stored row; throws, as `restoreSnapshot`, when it cannot be read. */
  of(row: { id: string; version: number; snapshot: unknown }): Snapshot {
    const hit = this.entries.get(row.id);
    if (hit && hit.version === row.version) return hit.snapshot;
    const snapshot = restoreSnapshot(row.snapshot);
    this.put(row.id, row.version, snapshot);
    return snapshot;
  }

  put(id: string, version: number, snapshot: Snapshot): void {
    this.entries.delete(id);
    this.entries.set(id, { version, snapshot });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
