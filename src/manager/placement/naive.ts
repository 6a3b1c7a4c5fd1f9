/**
 * A pool that scans every agent for every kernel: the baseline the indexed pools are measured
 * against, and the reference they are tested against (both must choose the same agents).
 */
import type { AvoidList } from '../../core/context.js';
import type { SelectorName } from '../types.js';
import {
  type AgentPool,
  compareIds,
  isAvoided,
  lazyIndexById,
  pickAvoided,
  type WorkAgent,
} from './pool.js';
import { createRoundRobinPool } from './roundrobin.js';
import type { SelectorState } from './types.js';
import { addInto, fitsVec, lexCompare, subInto, type Vec } from './vector.js';

export function createNaivePool(
  selector: SelectorName,
  agents: WorkAgent[],
  state: SelectorState,
): AgentPool {
  // Round robin already walks agents one by one; its pool is its own baseline.
  if (selector === 'roundrobin') return createRoundRobinPool(agents, state);
  const sign = selector === 'concentrated' ? 1 : -1;
  const compare = (a: WorkAgent, b: WorkAgent): number =>
    sign * lexCompare(a.free, b.free) || compareIds(a.id, b.id);
  const byId = lazyIndexById(agents);

  const find = (need: Vec, avoid: AvoidList | undefined): WorkAgent | undefined => {
    let best: WorkAgent | undefined;
    for (const agent of agents) {
      if (!fitsVec(need, agent.free) || isAvoided(avoid, agent)) continue;
      if (best === undefined || compare(agent, best) < 0) best = agent;
    }
    if (best !== undefined || avoid === undefined) return best;
    return pickAvoided(byId(), avoid, need, compare);
  };

  return {
    size: agents.length,
    find,
    take: (agent, need) => subInto(agent.free as Vec, need),
    give: (agent, need) => addInto(agent.free as Vec, need),
    mark: () => null,
    reset: () => {},
  };
}
