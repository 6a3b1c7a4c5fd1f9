/**
 * `placeBatch`: places a batch of pending sessions on a working copy of the cluster, so
 * sessions in one batch never overcommit an agent. Pure: the view is not modified; the only
 * state kept across batches is the caller's `SelectorState`.
 */
import type { PickerName, SelectorName } from '../types.js';
import type { AgentCache } from './cache.js';
import { Misses } from './misses.js';
import { createNaivePool } from './naive.js';
import { createQueue } from './pickers.js';
import { type AgentPool, penalties, type WorkAgent, workAgents } from './pool.js';
import { checkConcurrency, checkDependencies } from './predicates.js';
import { createRoundRobinPool } from './roundrobin.js';
import { createSortedPool } from './sorted.js';
import type {
  PendingSession,
  PlacementResult,
  PlacementView,
  PredicateResult,
  SelectorState,
} from './types.js';
import { OwnerBook } from './usage.js';
import { showVec, sumVec, toVec, type Vec } from './vector.js';

/**
 * Places `sessions` in `picker` order on agents chosen by `selector`, checking the predicates
 * (`PREDICATES`) for each. A session that fails a predicate stays pending and later, smaller
 * sessions may still be placed. Kernels are placed one by one; when one does not fit, the
 * session's earlier kernels are taken back. Returns one result per session, in picking order.
 * With a `cache` (one per caller, passed to every batch) the agents of the last batch are
 * reused instead of being rebuilt and sorted, and a session whose first kernel fit nowhere is
 * failed again without a search while no agent has gained free slots: the results are the
 * same, sooner.
 */
export function placeBatch(
  picker: PickerName,
  selector: SelectorName,
  sessions: readonly PendingSession[],
  view: PlacementView,
  state: SelectorState,
  cache?: AgentCache,
): PlacementResult[] {
  if (cache === undefined) {
    const pool = indexedPool(selector, workAgents(view.agents), state, false);
    return runBatch(picker, sessions, view, pool, new Misses());
  }
  const { agents, inOrder } = cache.workAgents(view.agents, selector);
  const pool = indexedPool(selector, agents, state, inOrder);
  const results = runBatch(picker, sessions, view, pool, new Misses(cache.misses));
  cache.placed(results);
  return results;
}

/** `placeBatch` with a full scan of the agents per kernel: same results, for comparison. */
export function placeBatchNaive(
  picker: PickerName,
  selector: SelectorName,
  sessions: readonly PendingSession[],
  view: PlacementView,
  state: SelectorState,
): PlacementResult[] {
  const agents = workAgents(view.agents);
  return runBatch(picker, sessions, view, createNaivePool(selector, agents, state), new Misses());
}

function indexedPool(
  selector: SelectorName,
  agents: WorkAgent[],
  state: SelectorState,
  inOrder: boolean,
) {
  if (selector === 'roundrobin') return createRoundRobinPool(agents, state, inOrder);
  const direction = selector === 'concentrated' ? 'ascending' : 'descending';
  return createSortedPool(agents, direction, inOrder);
}

function runBatch(
  picker: PickerName,
  sessions: readonly PendingSession[],
  view: PlacementView,
  pool: AgentPool,
  misses: Misses,
): PlacementResult[] {
  const book = new OwnerBook(view.ownerUsage);
  const queue = createQueue(picker, sessions, book, () => schedulableCapacity(view));
  const results: PlacementResult[] = [];
  for (let session = queue.next(); session; session = queue.next()) {
    const verdict = admit(session, view, book);
    const outcome = verdict.ok ? place(session, pool, misses) : verdict;
    if ('placement' in outcome) {
      book.add(session.owner, outcome.slots);
      queue.placed(session);
      results.push({ sessionId: session.id, placement: outcome.placement });
    } else if (!outcome.ok) {
      const { predicate, message } = outcome;
      results.push({ sessionId: session.id, predicate, message });
    }
  }
  return results;
}

function admit(session: PendingSession, view: PlacementView, book: OwnerBook): PredicateResult {
  const dependencies = checkDependencies(session, view.statusOf);
  return dependencies.ok ? checkConcurrency(session, book, view.limits) : dependencies;
}

function schedulableCapacity(view: PlacementView): Vec {
  return sumVec(view.agents.filter((agent) => agent.schedulable).map((a) => toVec(a.capacity)));
}

type Placement = { placement: Record<string, string>; slots: Vec };

/** The capacity predicate: every kernel on some agent, or none of them. */
function place(
  session: PendingSession,
  pool: AgentPool,
  misses: Misses,
): Placement | PredicateResult {
  const avoid = penalties(session.avoid);
  const mark = pool.mark();
  const placement: Record<string, string> = {};
  const taken: [WorkAgent, Vec][] = [];
  for (const kernel of session.kernels) {
    const need = toVec(kernel.slots);
    const first = taken.length === 0;
    const agent = first && misses.covers(session.id, need) ? undefined : pool.find(need, avoid);
    if (agent === undefined) {
      if (first) misses.add(session.id, need);
      undo(pool, taken, mark);
      return capacityFailure(kernel.id, need, taken, pool.size);
    }
    pool.take(agent, need);
    taken.push([agent, need]);
    placement[kernel.id] = agent.id;
  }
  return { placement, slots: taken.length === 1 ? taken[0]![1] : sumVec(taken.map(([, n]) => n)) };
}

function undo(pool: AgentPool, taken: [WorkAgent, Vec][], mark: string | null): void {
  for (let i = taken.length - 1; i >= 0; i--) pool.give(taken[i]![0], taken[i]![1]);
  pool.reset(mark);
}

function capacityFailure(
  kernelId: string,
  need: Vec,
  taken: unknown[],
  schedulable: number,
): PredicateResult {
  const after = taken.length === 0 ? '' : ` once the session's earlier kernels are placed`;
  return {
    ok: false,
    predicate: 'capacity',
    message:
      `kernel ${JSON.stringify(kernelId)} needs ${showVec(need)}; no schedulable agent has ` +
      `that free${after} (schedulable agents: ${schedulable})`,
  };
}
