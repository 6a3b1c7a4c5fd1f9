/**
 * The schedule stage: claims PENDING sessions, places them as one batch, and sends SCHEDULE
 * (or PLACEMENT_FAILED when the reason a session waits has changed).
 */
import type { SessionContext } from '../core/context.js';
import type { SessionEvent } from '../core/events.js';
import { HOLDING_STATUSES } from '../core/types.js';
import { contextOf } from './core-bridge.js';
import { AgentCache, placeBatch } from './placement/index.js';
import { isPlaced, type PendingSession, type PlacementResult } from './placement/types.js';
import type { ClaimCursor, SessionRow, StoreTx } from './ports.js';
import type { Round, Runtime } from './runtime.js';
import { MAX_BATCHES_PER_STAGE } from './stages.js';
import { isolated, type StepOutcome, stepMany } from './step.js';

/** A claimed PENDING session that could be read. */
interface Candidate {
  row: SessionRow;
  context: SessionContext;
}

/**
 * Places PENDING sessions a batch per transaction, oldest first. Each batch goes on after the
 * last session the one before claimed, so sessions that cannot be placed (a dependency not
 * done, an owner at its limit, no agent that fits) do not hide newer ones; the next round
 * starts from the oldest again.
 */
export async function scheduleStage(runtime: Runtime, round: Round): Promise<void> {
  if (!runtime.placement.shouldRun(round.now)) return;
  let next: ClaimCursor | undefined;
  let placed = 0;
  for (let batch = 0; batch < MAX_BATCHES_PER_STAGE; batch += 1) {
    const after = next;
    const result = await round.inTransaction(runtime, (tx) =>
      scheduleBatch(runtime, round, tx, after),
    );
    placed += result.placed;
    next = result.next;
    if (next === undefined) return;
  }
  // Stopped by the cap with sessions left to look at, while placing: carry on next round.
  if (placed > 0) runtime.placement.touch();
}

/** Places one batch; says how many it placed and where the next batch starts (if any). */
async function scheduleBatch(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  after: ClaimCursor | undefined,
): Promise<{ placed: number; next?: ClaimCursor }> {
  const rows = await tx.claimSessions(['PENDING'], runtime.batchSize, after);
  if (rows.length === 0) return { placed: 0 };
  const candidates = await readCandidates(runtime, round, rows);
  const results = placeBatch(
    runtime.picker,
    runtime.selector,
    candidates.map(pendingSession),
    await placementView(runtime, tx, candidates),
    runtime.selectorState,
    agentCacheOf(runtime),
  );
  const byId = new Map(candidates.map((candidate) => [candidate.row.id, candidate]));
  const items = results.flatMap((result) => {
    const candidate = byId.get(result.sessionId);
    const event = candidate && placementEvent(runtime, candidate, result, round.now);
    return candidate && event ? [{ row: candidate.row, event }] : [];
  });
  const outcomes = await stepMany(runtime, round, tx, items);
  // A placement the store refused (slots taken, an agent gone or no longer taking placements
  // since the agents were read) is tried again next round, on a fresh read of the agents.
  if (outcomes.some((outcome) => outcome?.kind === 'conflict' && isPlacementRefusal(outcome))) {
    runtime.placement.touch();
  }
  const placed = outcomes.filter(
    (outcome, index) => outcome?.kind === 'applied' && items[index]!.event.type === 'SCHEDULE',
  ).length;
  if (rows.length < runtime.batchSize) return { placed };
  const last = rows[rows.length - 1] as SessionRow;
  return { placed, next: { submittedAt: last.submittedAt, id: last.id } };
}

function isPlacementRefusal(outcome: Extract<StepOutcome, { kind: 'conflict' }>): boolean {
  return outcome.result.conflict !== 'version';
}

/** Each manager's agents kept between batches (see `AgentCache`). */
const agentCaches = new WeakMap<Runtime, AgentCache>();

function agentCacheOf(runtime: Runtime): AgentCache {
  let cache = agentCaches.get(runtime);
  if (cache === undefined) {
    cache = new AgentCache();
    agentCaches.set(runtime, cache);
  }
  return cache;
}

/** Restores each row's context; a row that cannot be read is logged and left out. */
async function readCandidates(runtime: Runtime, round: Round, rows: SessionRow[]) {
  const candidates: Candidate[] = [];
  for (const row of rows) {
    const context = await isolated(runtime, round, row.id, async () =>
      contextOf(runtime.snapshots.of(row)),
    );
    if (context) candidates.push({ row, context });
  }
  return candidates;
}

function pendingSession({ row, context }: Candidate): PendingSession {
  return {
    id: row.id,
    owner: row.owner,
    priority: row.priority,
    submittedAt: row.submittedAt,
    kernels: context.spec.kernels,
    dependsOn: context.spec.dependsOn,
    avoid: context.avoid,
  };
}

/**
 * What placement reads. What each owner holds (an aggregate over every live session) is read
 * only when something uses it: the `drf` picker or a per-owner limit.
 */
async function placementView(runtime: Runtime, tx: StoreTx, candidates: Candidate[]) {
  const dependencies = new Set(candidates.flatMap(({ context }) => context.spec.dependsOn));
  const owners = runtime.picker === 'drf' || runtime.limits.maxConcurrentPerOwner !== undefined;
  return {
    agents: await tx.agents(),
    ownerUsage: owners ? await tx.ownerUsage(HOLDING_STATUSES) : new Map(),
    statusOf: dependencies.size > 0 ? await tx.statusOf([...dependencies]) : new Map(),
    limits: runtime.limits,
  };
}

/** SCHEDULE, or PLACEMENT_FAILED when the recorded failure differs (else nothing to write). */
function placementEvent(
  runtime: Runtime,
  { row, context }: Candidate,
  result: PlacementResult,
  now: number,
): SessionEvent | undefined {
  if (isPlaced(result)) return { type: 'SCHEDULE', now, placement: result.placement };
  const { predicate, message } = result;
  const last = context.lastPlacementFailure;
  if (last && last.predicate === predicate && last.message === message) return undefined;
  runtime.logger.debug({ sessionId: row.id, predicate, message }, 'session not placed');
  return { type: 'PLACEMENT_FAILED', now, predicate, message };
}
