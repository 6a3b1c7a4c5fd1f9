/**
 * The pool behind `roundrobin`: agents in id order, and a cursor (the agent chosen last) that
 * the caller keeps between batches. Each kernel goes to the first agent after the cursor,
 * wrapping around, that fits it.
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
import type { SelectorState } from './types.js';
import { addInto, fitsVec, subInto, type Vec } from './vector.js';

/**
 * Takes ownership of `agents` (sorts it in place); keeps its cursor in `state`. `inOrder`: the
 * caller knows `agents` is already in id order (skips the sort).
 */
export function createRoundRobinPool(
  agents: WorkAgent[],
  state: SelectorState,
  inOrder = false,
): AgentPool {
  const list = inOrder ? agents : agents.sort((a, b) => compareIds(a.id, b.id));
  const byId = lazyIndexById(list);

  // Index of the first agent whose id sorts after `id`.
  const after = (id: string): number => {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (list[mid]!.id <= id) low = mid + 1;
      else high = mid;
    }
    return low;
  };

  // Where the walk starts: just after the cursor, wrapping to the first agent.
  const start = (): number => {
    const from = state.cursor === null ? 0 : after(state.cursor);
    return from === list.length ? 0 : from;
  };

  const find = (need: Vec, avoid: AvoidList | undefined): WorkAgent | undefined => {
    const n = list.length;
    const from = start();
    for (let k = 0; k < n; k++) {
      const agent = list[(from + k) % n]!;
      if (fitsVec(need, agent.free) && !isAvoided(avoid, agent)) return agent;
    }
    if (avoid === undefined) return undefined;
    const distance = (agent: WorkAgent) => (after(agent.id) - 1 - from + n) % n;
    return pickAvoided(byId(), avoid, need, (a, b) => distance(a) - distance(b));
  };

  return {
    size: list.length,
    find,
    take: (agent, need) => {
      subInto(agent.free as Vec, need);
      state.cursor = agent.id;
    },
    give: (agent, need) => addInto(agent.free as Vec, need),
    mark: () => state.cursor,
    reset: (mark) => {
      state.cursor = mark;
    },
  };
}
