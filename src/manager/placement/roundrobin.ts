/**
 * The pool behind `roundrobin`: agents in id order, and a cursor (the agent chosen last) that
 * the caller keeps between batches. Each kernel goes to the first agent after the cursor,
 * wrapping around, that fits it.
 */
import type { AvoidList } from '../../core/context.js';
import {
  type AgentPool,
  compareIds,
  indexById,
  isAvoided,
  pickAvoided,
  type WorkAgent,
} from './pool.js';
import type { SelectorState } from './types.js';
import { addInto, fitsVec, subInto, type Vec } from './vector.js';

export function createRoundRobinPool(agents: WorkAgent[], state: SelectorState): AgentPool {
  const list = [...agents].sort((a, b) => compareIds(a.id, b.id));
  const byId = indexById(list);
  const position = new Map(list.map((agent, i) => [agent.id, i]));

  // Index of the first agent whose id sorts after the cursor (0 when none does).
  const start = (): number => {
    const cursor = state.cursor;
    if (cursor === null) return 0;
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (list[mid]!.id <= cursor) low = mid + 1;
      else high = mid;
    }
    return low === list.length ? 0 : low;
  };

  const find = (need: Vec, avoid: AvoidList | undefined): WorkAgent | undefined => {
    const n = list.length;
    const from = start();
    for (let k = 0; k < n; k++) {
      const agent = list[(from + k) % n]!;
      if (fitsVec(need, agent.free) && !isAvoided(avoid, agent)) return agent;
    }
    if (avoid === undefined) return undefined;
    const distance = (agent: WorkAgent) => (position.get(agent.id)! - from + n) % n;
    return pickAvoided(byId, avoid, need, (a, b) => distance(a) - distance(b));
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
