/** Applies one event to one session inside a store transaction (DESIGN section 5, steps 1-3). */
import type { SessionEvent } from '../core/events.js';
import { decideEvent, rowColumns, type Snapshot } from './core-bridge.js';
import { describeError } from './logger.js';
import type { ApplyResult, SessionRow, StoreTx, TransitionWrite } from './ports.js';
import type { Round, Runtime } from './runtime.js';
import { type PlannedWrite, planWrite } from './transition.js';

/** What happened to the event. `conflict`: the row moved or capacity ran out; try next round. */
export type StepOutcome =
  | { kind: 'applied'; row: SessionRow; snapshot: Snapshot }
  | { kind: 'ignored' }
  | { kind: 'conflict'; result: Exclude<ApplyResult, { ok: true }> };

/**
 * Restores the row's snapshot, decides, and applies the resulting write. Throws only when the
 * row cannot be processed at all (a corrupt snapshot, a store failure).
 */
export async function step(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  row: SessionRow,
  event: SessionEvent,
): Promise<StepOutcome> {
  const decision = decideEvent(runtime.snapshots.of(row), event);
  if (!decision.changed && decision.effects.length === 0) {
    runtime.logger.debug({ sessionId: row.id, event: event.type }, 'event ignored');
    return { kind: 'ignored' };
  }
  const columns = rowColumns(decision.next, round.now);
  const { write, notices } = planWrite(columns, row.version, decision.effects);
  const result = await tx.apply(write);
  return settleWrite(runtime, round, { write, notices }, decision.next, result, event);
}

/**
 * Runs `work` for one session; an exception is logged and counted, never rethrown, so one bad
 * session cannot stall the others in its batch.
 */
export async function isolated<T>(
  runtime: Runtime,
  round: Round,
  sessionId: string,
  work: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    processingFailed(runtime, round, sessionId, error);
    return undefined;
  }
}

/** Counts and logs a session that could not be processed; the rest of its batch goes on. */
export function processingFailed(
  runtime: Runtime,
  round: Round,
  sessionId: string,
  error: unknown,
): void {
  round.errors += 1;
  runtime.logger.error({ sessionId, err: describeError(error) }, 'session processing failed');
}

/** Loads one session row by id inside `tx` (undefined when absent). */
export async function loadRow(tx: StoreTx, sessionId: string): Promise<SessionRow | undefined> {
  const [row] = await tx.getSessions([sessionId]);
  return row;
}

/** One session and the event to send it, for `stepMany`. */
export interface StepItem {
  row: SessionRow;
  event: SessionEvent;
}

/**
 * `step` for many sessions (each at most once) with the writes applied together through
 * `tx.applyMany` when the store has it. A session whose decision throws is logged and skipped;
 * its outcome is `undefined`.
 */
export async function stepMany(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  items: readonly StepItem[],
): Promise<(StepOutcome | undefined)[]> {
  const outcomes: (StepOutcome | undefined)[] = new Array(items.length);
  const planned: { index: number; plan: PlannedWrite; snapshot: Snapshot; event: SessionEvent }[] =
    [];
  for (const [index, { row, event }] of items.entries()) {
    const plan = await isolated(runtime, round, row.id, async () =>
      planStep(runtime, round, row, event),
    );
    if (plan === 'ignored') {
      runtime.logger.debug({ sessionId: row.id, event: event.type }, 'event ignored');
      outcomes[index] = { kind: 'ignored' };
    } else if (plan) planned.push({ index, ...plan, event });
  }
  const results = await applyAll(
    tx,
    planned.map(({ plan }) => plan.write),
  );
  for (const [position, { index, plan, snapshot, event }] of planned.entries()) {
    outcomes[index] = settleWrite(runtime, round, plan, snapshot, results[position]!, event);
  }
  return outcomes;
}

function planStep(runtime: Runtime, round: Round, row: SessionRow, event: SessionEvent) {
  const decision = decideEvent(runtime.snapshots.of(row), event);
  if (!decision.changed && decision.effects.length === 0) return 'ignored' as const;
  const columns = rowColumns(decision.next, round.now);
  return { plan: planWrite(columns, row.version, decision.effects), snapshot: decision.next };
}

export async function applyAll(tx: StoreTx, writes: TransitionWrite[]): Promise<ApplyResult[]> {
  if (writes.length === 0) return [];
  if (tx.applyMany) return tx.applyMany(writes);
  const results: ApplyResult[] = [];
  for (const write of writes) results.push(await tx.apply(write));
  return results;
}

export function settleWrite(
  runtime: Runtime,
  round: Round,
  { write, notices }: PlannedWrite,
  snapshot: Snapshot,
  result: ApplyResult,
  event: SessionEvent,
): StepOutcome {
  if (!result.ok) {
    const fields = { sessionId: write.session.id, ...result };
    runtime.logger.debug(fields, 'write refused');
    return { kind: 'conflict', result };
  }
  round.transitions += 1;
  runtime.writes.wrote();
  round.pending.push(...notices);
  runtime.snapshots.put(write.session.id, write.session.version, snapshot);
  if (runtime.inspect) {
    round.observed.push({ sessionId: write.session.id, event, snapshot, at: round.now });
  }
  return { kind: 'applied', row: write.session, snapshot };
}
