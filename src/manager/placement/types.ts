/** The inputs and outputs of placement: plain data in, plain data out, no I/O. */
import type { AvoidList } from '../../core/context.js';
import type { KernelSpec, Slots, Status } from '../../core/types.js';
import type { AgentRow } from '../ports.js';
import type { PlacementLimits } from '../types.js';

/** A session waiting to be placed, as placement sees it. */
export interface PendingSession {
  id: string;
  owner: string;
  /** Higher goes first under every picker. */
  priority: number;
  /** Epoch ms; breaks priority ties (oldest first under `fifo`, newest first under `lifo`). */
  submittedAt: number;
  kernels: KernelSpec[];
  /** Sessions that must be RUNNING or TERMINATED before this one is placed. */
  dependsOn: string[];
  /** Agents that failed this session, with how often: chosen only when nothing else fits. */
  avoid: AvoidList;
}

/** What one owner holds now, as `StoreTx.ownerUsage` reports it. */
export interface OwnerUsage {
  /** Live sessions (SCHEDULED to TERMINATING). */
  sessions: number;
  /** The sum of their reservations. */
  slots: Slots;
}

/** The cluster as placement sees it at the start of a batch. Never modified by placement. */
export interface PlacementView {
  /** Every known agent; unschedulable ones are ignored. */
  agents: AgentRow[];
  ownerUsage: Map<string, OwnerUsage>;
  /** Status of each session named in a `dependsOn` (absent: unknown session). */
  statusOf: Map<string, Status>;
  limits: PlacementLimits;
}

/**
 * What the selectors keep between batches. Only `roundrobin` uses it: `cursor` is the id of the
 * agent chosen last, and the next kernel goes to the first agent after it (in id order) that
 * fits. Start with `{ cursor: null }` and pass the same object to every batch.
 */
export interface SelectorState {
  cursor: string | null;
}

/** A fresh selector state. */
export function createSelectorState(): SelectorState {
  return { cursor: null };
}

/**
 * The placement predicates, in the order they are checked:
 * - `dependencies`: every `dependsOn` session is RUNNING or TERMINATED;
 * - `concurrency`: the owner has fewer live sessions than `limits.maxConcurrentPerOwner`
 *   (sessions placed earlier in the same batch count);
 * - `capacity`: the schedulable agents can take every kernel (placed one by one).
 */
export const PREDICATES = ['dependencies', 'concurrency', 'capacity'] as const;
export type PredicateName = (typeof PREDICATES)[number];

/** A predicate's verdict. */
export type PredicateResult =
  | { ok: true }
  | { ok: false; predicate: PredicateName; message: string };

/** A session placed: kernel id -> agent id. */
export interface Placed {
  sessionId: string;
  placement: Record<string, string>;
}

/** A session left pending, with the predicate that held it back and why. */
export interface NotPlaced {
  sessionId: string;
  predicate: PredicateName;
  message: string;
}

/** One result per session of the batch, in the order the picker took them. */
export type PlacementResult = Placed | NotPlaced;

/** True when the result is a placement. */
export function isPlaced(result: PlacementResult): result is Placed {
  return 'placement' in result;
}
