/**
 * The agent pools the selectors work on during one batch: each keeps the schedulable agents
 * with what is still free, in the selector's order, and answers "which agent for this kernel".
 */
import type { AvoidList } from '../../core/context.js';
import type { AgentRow } from '../ports.js';
import { fitsVec, freeVec, type Vec } from './vector.js';

/** An agent during a batch: what is free on it, updated as kernels are placed. */
export interface WorkAgent {
  readonly id: string;
  readonly free: Vec;
}

/** The working copy of the schedulable agents for one batch, ranked by one selector. */
export interface AgentPool {
  /** Schedulable agents in the pool. */
  readonly size: number;
  /**
   * The agent the selector ranks first among those `need` fits on. Agents in `avoid` are
   * chosen only when no other agent fits, fewest failures first. Undefined when none fits.
   */
  find(need: Vec, avoid: AvoidList | undefined): WorkAgent | undefined;
  /** Places `need` on `agent` (it must fit). */
  take(agent: WorkAgent, need: Vec): void;
  /** Undoes a `take`. */
  give(agent: WorkAgent, need: Vec): void;
  /** Selector state to restore when a session's kernels are taken back. */
  mark(): string | null;
  reset(mark: string | null): void;
}

/** The schedulable agents of a view, with their free slots. */
export function workAgents(agents: readonly AgentRow[]): WorkAgent[] {
  const work: WorkAgent[] = [];
  for (const agent of agents) {
    if (agent.schedulable)
      work.push({ id: agent.id, free: freeVec(agent.capacity, agent.reserved) });
  }
  return work;
}

/** Agent ids compare by code unit, so every selector breaks ties the same way. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The avoid list if it penalizes any agent, otherwise undefined (the fast path). */
export function penalties(avoid: AvoidList): AvoidList | undefined {
  for (const id in avoid) if ((avoid[id] ?? 0) > 0) return avoid;
  return undefined;
}

/** True when `agent` carries a penalty. */
export function isAvoided(avoid: AvoidList | undefined, agent: WorkAgent): boolean {
  return avoid !== undefined && (avoid[agent.id] ?? 0) > 0;
}

/**
 * The fallback when only penalized agents fit: the one with fewest failures, then the one the
 * selector ranks first (`compare`).
 */
export function pickAvoided(
  byId: ReadonlyMap<string, WorkAgent>,
  avoid: AvoidList,
  need: Vec,
  compare: (a: WorkAgent, b: WorkAgent) => number,
): WorkAgent | undefined {
  let best: WorkAgent | undefined;
  let bestCount = 0;
  for (const [id, count] of Object.entries(avoid)) {
    const agent = byId.get(id);
    if (count <= 0 || agent === undefined || !fitsVec(need, agent.free)) continue;
    if (
      best === undefined ||
      count < bestCount ||
      (count === bestCount && compare(agent, best) < 0)
    ) {
      best = agent;
      bestCount = count;
    }
  }
  return best;
}

/** Agents by id, built on first use (only sessions with penalties need it). */
export function lazyIndexById(agents: readonly WorkAgent[]): () => ReadonlyMap<string, WorkAgent> {
  let byId: Map<string, WorkAgent> | undefined;
  return () => {
    byId ??= new Map(agents.map((agent) => [agent.id, agent]));
    return byId;
  };
}
