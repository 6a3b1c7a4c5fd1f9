/** Pure measurements over the end state of a replay: outcomes, attempts, latency, leaks. */
import { slotAmount, slotKeys, sum } from '../core/slots.js';
import { FINAL_STATUSES, type Slots, STAGES, type Stage, type Status } from '../core/types.js';
import type { AgentRow, SessionRow } from '../manager/ports.js';
import type { SessionView } from '../manager/types.js';
import type { Latency, OrphanKernel, OutcomeCount, ReservationLeak, RunResult } from './result.js';

/** A kernel as an agent fleet reports it: where it is and which create attempt made it. */
export interface LiveKernel {
  agentId: string;
  sessionId: string;
  kernelId: string;
  attempt: number;
}

const FINAL: readonly Status[] = FINAL_STATUSES;

/** Statuses in which a session may own kernels on agents. */
const OWNING: readonly Status[] = ['CREATING', 'RUNNING', 'TERMINATING'];

/** Nearest-rank percentile of ascending `sorted` (non-empty). */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** p50/p95/p99/max of the durations; null for none. */
export function latencyOf(durations: readonly number[]): Latency | null {
  if (durations.length === 0) return null;
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (p: number) => percentile(sorted, p);
  return { p50: at(50), p95: at(95), p99: at(99), max: sorted[sorted.length - 1]! };
}

/** What `outcomesOf` reads of a session. */
export type OutcomeView = Pick<SessionView, 'status' | 'reason'> &
  Partial<Pick<SessionView, 'lastPlacementFailure'>>;

/**
 * Sessions per status and reason, most frequent first (ties by status, then reason). A session
 * still PENDING counts under the predicate that last kept it from being placed (`capacity`,
 * `concurrency`, `dependencies`), when there was one.
 */
export function outcomesOf(views: readonly OutcomeView[]) {
  const counts = new Map<string, OutcomeCount>();
  for (const view of views) {
    const reason = outcomeReason(view);
    const key = `${view.status}\u0000${reason ?? ''}`;
    const entry = counts.get(key) ?? { status: view.status, reason, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()].sort(
    (a, b) =>
      b.count - a.count ||
      a.status.localeCompare(b.status) ||
      (a.reason ?? '').localeCompare(b.reason ?? ''),
  );
}

function outcomeReason(view: OutcomeView): string | null {
  if (view.reason !== null || view.status !== 'PENDING') return view.reason;
  return view.lastPlacementFailure?.predicate ?? null;
}

/**
 * Attempts a session made per stage, across reschedules: the `started` records of its attempt
 * history, or the current counters when the history has none.
 */
export function attemptsMade(view: Pick<SessionView, 'attempts' | 'attemptHistory'>) {
  const made = {} as Record<Stage, number>;
  for (const stage of STAGES) {
    const started = view.attemptHistory.filter(
      (record) => record.stage === stage && record.outcome === 'started',
    ).length;
    made[stage] = started > 0 ? started : view.attempts[stage];
  }
  return made;
}

/** Per stage: attempts made -> number of sessions that made that many. */
export function attemptDistribution(
  views: readonly Pick<SessionView, 'attempts' | 'attemptHistory'>[],
) {
  const distribution = Object.fromEntries(
    STAGES.map((stage) => [stage, {}]),
  ) as RunResult['attempts'];
  for (const view of views) {
    const made = attemptsMade(view);
    for (const stage of STAGES) {
      const bucket = distribution[stage];
      bucket[made[stage]] = (bucket[made[stage]] ?? 0) + 1;
    }
  }
  return distribution;
}

/**
 * Agents whose reserved slots differ from the sum of what live sessions hold on them, and
 * final sessions that still hold anything. Either is a leak.
 */
export function findLeaks(agents: readonly AgentRow[], sessions: readonly SessionRow[]) {
  const { held, heldByFinal } = holdsByAgent(sessions);
  const leaks: ReservationLeak[] = [];
  for (const agent of agents) {
    const difference = slotDifference(agent.reserved, sum(held.get(agent.id) ?? []));
    const finals = heldByFinal.get(agent.id) ?? [];
    if (Object.keys(difference).length > 0 || finals.length > 0) {
      leaks.push({ agentId: agent.id, difference, heldByFinal: finals });
    }
  }
  return leaks;
}

/** Per agent: the holds of live sessions, and the ids of final sessions still holding slots. */
function holdsByAgent(sessions: readonly SessionRow[]) {
  const held = new Map<string, Slots[]>();
  const heldByFinal = new Map<string, string[]>();
  for (const session of sessions) {
    const final = FINAL.includes(session.status);
    for (const [agentId, slots] of Object.entries(session.holds)) {
      if (final) listAt(heldByFinal, agentId).push(session.id);
      else listAt(held, agentId).push(slots);
    }
  }
  return { held, heldByFinal };
}

function listAt<T>(map: Map<string, T[]>, key: string): T[] {
  const list = map.get(key) ?? [];
  map.set(key, list);
  return list;
}

function slotDifference(reserved: AgentRow['reserved'], held: AgentRow['reserved']) {
  const difference: Record<string, number> = {};
  for (const key of slotKeys(reserved, held)) {
    const delta = slotAmount(reserved, key) - slotAmount(held, key);
    if (delta !== 0) difference[key] = delta;
  }
  return difference;
}

/**
 * Kernels on agents that no live attempt owns: the session is unknown, or not in a status that
 * owns kernels (CREATING, RUNNING, TERMINATING), or the kernel is bound elsewhere or belongs to
 * another attempt.
 */
export function findOrphans(
  kernels: readonly LiveKernel[],
  views: ReadonlyMap<string, Pick<SessionView, 'status' | 'kernels'>>,
): OrphanKernel[] {
  const orphans: OrphanKernel[] = [];
  for (const kernel of kernels) {
    const why = orphanReason(kernel, views.get(kernel.sessionId));
    if (why) orphans.push({ ...pickIds(kernel), why });
  }
  return orphans;
}

function orphanReason(
  kernel: LiveKernel,
  view: Pick<SessionView, 'status' | 'kernels'> | undefined,
): string | undefined {
  if (!view) return 'unknown session';
  if (!OWNING.includes(view.status)) return `session is ${view.status}`;
  const bound = view.kernels.find((k) => k.id === kernel.kernelId);
  if (!bound || bound.agentId !== kernel.agentId) return 'kernel is bound to another agent';
  if (bound.attempt !== kernel.attempt) {
    return `attempt ${kernel.attempt} is not the current attempt ${bound.attempt}`;
  }
  return undefined;
}

function pickIds({ agentId, sessionId, kernelId }: LiveKernel) {
  return { agentId, sessionId, kernelId };
}
