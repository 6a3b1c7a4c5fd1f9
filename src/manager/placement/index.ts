/** Placement: pickers, predicates and selectors, Backend.AI style. Pure functions over data. */
export { placeBatch, placeBatchNaive } from './batch.js';
export { AgentCache } from './cache.js';
export { dominantShare, fifoOrder, lifoOrder } from './pickers.js';
export { checkConcurrency, checkDependencies } from './predicates.js';
export {
  createSelectorState,
  isPlaced,
  type NotPlaced,
  type OwnerUsage,
  type PendingSession,
  type Placed,
  type PlacementResult,
  type PlacementView,
  PREDICATES,
  type PredicateName,
  type PredicateResult,
  type SelectorState,
} from './types.js';
export { OwnerBook } from './usage.js';
