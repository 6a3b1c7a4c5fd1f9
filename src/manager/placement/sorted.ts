/**
 * The pool behind `concentrated` and `dispersed`: agents kept sorted by free slots
 * (lexicographic in `RANK_ORDER`, ties by id), repositioned as kernels are placed. Finding an
 * agent is a binary search plus a short forward scan, not a pass over every agent.
 */
import type { AvoidList } from '../../core/context.js';
import {
  type AgentPool,
  compareIds,
  isAvoided,
  lazyIndexById,
  pickAvoided,
  type WorkAgent,
} from './pool.js';
import { addInto, fitsVec, lexCompare, subInto, type Vec } from './vector.js';

/** `ascending`: fewest free first (concentrated); `descending`: most free first (dispersed). */
export type Direction = 'ascending' | 'descending';

/**
 * Takes ownership of `agents` (sorts it in place, and keeps it sorted as kernels are placed).
 * `inOrder`: the caller knows `agents` is already in this pool's order (skips the sort).
 */
export function createSortedPool(
  agents: WorkAgent[],
  direction: Direction,
  inOrder = false,
): AgentPool {
  const ascending = direction === 'ascending';
  const compare = (a: WorkAgent, b: WorkAgent): number =>
    (ascending ? lexCompare(a.free, b.free) : lexCompare(b.free, a.free)) || compareIds(a.id, b.id);
  const list = inOrder ? agents : agents.sort(compare);
  const byId = lazyIndexById(list);

  // Index of the first agent ranked after `agent` (or of `agent` itself when `inclusive`).
  const bound = (agent: WorkAgent, inclusive: boolean): number => {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const order = compare(list[mid]!, agent);
      if (order < 0 || (!inclusive && order === 0)) low = mid + 1;
      else high = mid;
    }
    return low;
  };

  // In ascending order every agent that fits `need` sits at or after this index: an agent whose
  // free vector ranks below `need` lacks the first slot where the two differ.
  const firstCandidate = (need: Vec): number => {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (lexCompare(list[mid]!.free, need) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  };

  const find = (need: Vec, avoid: AvoidList | undefined): WorkAgent | undefined => {
    for (let i = ascending ? firstCandidate(need) : 0; i < list.length; i++) {
      const agent = list[i]!;
      // Descending: past this point every agent ranks below `need`, so none fits.
      if (!ascending && lexCompare(agent.free, need) < 0) break;
      if (fitsVec(need, agent.free) && !isAvoided(avoid, agent)) return agent;
    }
    return avoid === undefined ? undefined : pickAvoided(byId(), avoid, need, compare);
  };

  const move = (agent: WorkAgent, change: (free: Vec) => void): void => {
    const at = bound(agent, true);
    change(agent.free as Vec);
    const before = at === 0 || compare(list[at - 1]!, agent) < 0;
    const after = at === list.length - 1 || compare(agent, list[at + 1]!) < 0;
    if (before && after) return;
    list.splice(at, 1);
    list.splice(bound(agent, false), 0, agent);
  };

  return {
    size: list.length,
    find,
    take: (agent, need) => move(agent, (free) => subInto(free, need)),
    give: (agent, need) => move(agent, (free) => addInto(free, need)),
    mark: () => null,
    reset: () => {},
  };
}
