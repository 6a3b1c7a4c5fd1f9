/**
 * Events for many sessions in one store transaction, in a few statements: the rows are read
 * with one query, the events are decided in memory (each session's in batch order, each on the
 * snapshot the one before led to), and every write goes through `tx.applyMany` at once. A
 * refused write refuses the later writes of its session too (their versions no longer match).
 */
import type { SessionEvent } from '../core/events.js';
import { decideEvent, rowColumns, type Snapshot } from './core-bridge.js';
import type { SessionRow, StoreTx } from './ports.js';
import type { Round, Runtime } from './runtime.js';
import { applyAll, settleWrite } from './step.js';
import { type PlannedWrite, planWrite } from './transition.js';

/** One batch entry: a session and what to send it. */
export interface SendItem {
  sessionId: string;
  /**
   * The events to send, computed from the session as the earlier entries of the batch left it.
   * If it throws, this entry alone fails (its outcome carries the error) and sends nothing.
   */
  events(row: SessionRow, snapshot: Snapshot): readonly SessionEvent[];
  /**
   * The timer row whose firing the first event stands for: it is deleted with that event's
   * write, which is made even if the chart ignores the event, so a stale timer cannot fire
   * again.
   */
  firedTimer?: string;
}

/** What happened to one entry: `conflict` when any of its writes was refused. */
export type SendManyOutcome =
  | { kind: 'missing' }
  | { kind: 'ignored' }
  | { kind: 'applied' }
  | { kind: 'conflict' }
  | { kind: 'error'; error: unknown };

/** A session as the batch has left it so far. */
interface Head {
  row: SessionRow;
  snapshot: Snapshot;
}

interface Planned {
  item: number;
  plan: PlannedWrite;
  snapshot: Snapshot;
  event: SessionEvent;
}

/** Decides and applies `items` in order; one outcome per item. */
export async function sendMany(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  items: readonly SendItem[],
): Promise<SendManyOutcome[]> {
  const ids = [...new Set(items.map((item) => item.sessionId))];
  const read = ids.length === 0 ? [] : await tx.getSessions(ids);
  const rows = new Map(read.map((row) => [row.id, row]));
  return applyPlanned(runtime, round, tx, planMany(runtime, round, items, rows));
}

/** A batch decided but not yet written. */
export interface PlannedBatch {
  outcomes: SendManyOutcome[];
  planned: Planned[];
}

/**
 * Decides `items` in order against `rows`, without the store: the rows may come from an earlier
 * transaction, since a write over a row that has moved since is refused by its version check.
 */
export function planMany(
  runtime: Runtime,
  round: Round,
  items: readonly SendItem[],
  rows: ReadonlyMap<string, SessionRow>,
): PlannedBatch {
  const heads = new Map<string, Head>();
  const outcomes: SendManyOutcome[] = new Array(items.length);
  const planned: Planned[] = [];
  for (const [index, item] of items.entries()) {
    const row = rows.get(item.sessionId);
    if (row === undefined) {
      outcomes[index] = { kind: 'missing' };
      continue;
    }
    try {
      const head = heads.get(row.id) ?? { row, snapshot: runtime.snapshots.of(row) };
      const plans = planItem(runtime, round, index, head, item);
      planned.push(...plans);
      heads.set(row.id, head);
      outcomes[index] = { kind: 'ignored' };
    } catch (error) {
      outcomes[index] = { kind: 'error', error };
    }
  }
  return { outcomes, planned };
}

/** Writes a planned batch in `tx`; one outcome per item. */
export async function applyPlanned(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  { outcomes, planned }: PlannedBatch,
): Promise<SendManyOutcome[]> {
  const results = await applyAll(
    tx,
    planned.map(({ plan }) => plan.write),
  );
  for (const [position, { item, plan, snapshot, event }] of planned.entries()) {
    const outcome = settleWrite(runtime, round, plan, snapshot, results[position]!, event);
    if (outcome.kind === 'conflict') outcomes[item] = { kind: 'conflict' };
    else if (outcomes[item]?.kind !== 'conflict') outcomes[item] = { kind: 'applied' };
  }
  return outcomes;
}

/** Plans the writes of one item and moves `head` past them (left as it was if this throws). */
function planItem(runtime: Runtime, round: Round, index: number, head: Head, item: SendItem) {
  const plans: Planned[] = [];
  let { row, snapshot } = head;
  for (const [position, event] of item.events(row, snapshot).entries()) {
    const decision = decideEvent(snapshot, event);
    const fired = position === 0 ? item.firedTimer : undefined;
    if (!decision.changed && decision.effects.length === 0 && fired === undefined) {
      runtime.logger.debug({ sessionId: row.id, event: event.type }, 'event ignored');
      continue;
    }
    const columns = rowColumns(decision.next, round.now);
    const plan = planWrite(columns, row.version, decision.effects, fired);
    plans.push({ item: index, plan, snapshot: decision.next, event });
    row = plan.write.session;
    snapshot = decision.next;
  }
  head.row = row;
  head.snapshot = snapshot;
  return plans;
}
