/**
 * The outbox dispatcher (DESIGN section 5, step 4): claims due agent calls, calls the agents
 * outside any transaction, and feeds each answer back to its session as an event.
 */
import type { AgentEffect } from '../core/effects.js';
import { effectKey } from '../core/keys.js';
import { answerEvents } from './answers.js';
import { contextOf } from './core-bridge.js';
import { describeError } from './logger.js';
import type {
  AgentCallResult,
  InspectResult,
  OutboxRow,
  SessionHead,
  SessionRow,
  StoreTx,
} from './ports.js';
import type { Round, Runtime } from './runtime.js';
import { type SendItem, type SendManyOutcome, sendMany } from './send-many.js';
import { MAX_BATCHES_PER_STAGE } from './stages.js';

/**
 * How long a claimed row stays hidden from other dispatchers while its call is in flight, ms.
 * If this manager dies mid-call, another one (or `recover`) calls again after it: the key makes
 * the repeat harmless.
 */
export const DISPATCH_LEASE_MS = 30_000;
/** First delay before re-trying a destroy that failed transiently, ms; doubles per try. */
export const DISPATCH_RETRY_MS = 1_000;
/** Cap on that delay, ms. */
export const DISPATCH_RETRY_MAX_MS = 60_000;

/** An agent's answer, or the exception a misbehaving client threw. */
type Answer = AgentCallResult | InspectResult | { thrown: unknown };

/** Most outbox rows `recover` takes at once: in practice, every unfinished one. */
export const RECOVER_LIMIT = 1_000_000;

/** Dispatches the rows due at the round's time, a batch at a time while batches come back full. */
export async function dispatchDue(runtime: Runtime, round: Round): Promise<void> {
  let full = true;
  for (let batch = 0; full && batch < MAX_BATCHES_PER_STAGE; batch += 1) {
    const { due, claimed } = await claimRows(runtime, round, round.now, runtime.batchSize);
    await runRows(runtime, round, claimed);
    full = due === runtime.batchSize;
  }
}

/** Dispatches every unfinished row now, whenever it was due (recovery after a restart). */
export async function dispatchAll(runtime: Runtime, round: Round): Promise<void> {
  const { claimed } = await claimRows(runtime, round, Number.MAX_SAFE_INTEGER, RECOVER_LIMIT);
  for (let start = 0; start < claimed.length; start += runtime.batchSize) {
    await runRows(runtime, round, claimed.slice(start, start + runtime.batchSize));
  }
}

/** Calls the agents for `rows`, then feeds the answers back in one transaction. */
async function runRows(runtime: Runtime, round: Round, rows: OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  const answers = await callAll(runtime, round, rows);
  await round.inTransaction(runtime, (tx) => settleAll(runtime, round, tx, rows, answers));
}

function claimRows(runtime: Runtime, round: Round, horizon: number, limit: number) {
  return round.inTransaction(runtime, (tx) => claim(runtime, round, tx, horizon, limit));
}

/** Leases due rows; drops calls their session no longer wants (a stale pull or create). */
async function claim(runtime: Runtime, round: Round, tx: StoreTx, horizon: number, limit: number) {
  const due = await tx.dueOutbox(horizon, limit);
  const stale = await staleKeys(runtime, tx, due);
  const claimed: OutboxRow[] = [];
  for (const row of due) {
    if (stale.has(row.key)) {
      runtime.logger.debug(logFields(row), 'stale agent call dropped');
      await tx.finishOutbox(row.key);
      continue;
    }
    await tx.retryOutbox(row.key, round.now + DISPATCH_LEASE_MS);
    claimed.push(row);
  }
  return { due: due.length, claimed };
}

/**
 * Keys of the pull and create calls among `due` that their session no longer wants. A call
 * written by the session's current version (and the status it was written in) is current
 * without reading the snapshot; the others are checked in full by `isStale`.
 */
async function staleKeys(runtime: Runtime, tx: StoreTx, due: OutboxRow[]): Promise<Set<string>> {
  const guarded = due.filter(
    (row) => row.effect.type === 'pullImages' || row.effect.type === 'createKernels',
  );
  if (guarded.length === 0) return new Set();
  const heads = tx.headsOf ? await tx.headsOf(uniqueSessions(guarded)) : new Map();
  const unsure = guarded.filter((row) => !writtenByCurrent(row, heads.get(row.sessionId)));
  if (unsure.length === 0) return new Set();
  const sessions = await tx.getSessions(uniqueSessions(unsure));
  const byId = new Map(sessions.map((row) => [row.id, row]));
  const stale = unsure.filter((row) => isStale(runtime, row.effect, byId.get(row.sessionId)));
  return new Set(stale.map((row) => row.key));
}

function uniqueSessions(rows: OutboxRow[]): string[] {
  return [...new Set(rows.map((row) => row.sessionId))];
}

/** The session is still at the version that wrote the call, in the state that sends it. */
function writtenByCurrent(row: OutboxRow, head: SessionHead | undefined): boolean {
  if (head === undefined || row.sessionVersion !== head.version) return false;
  if (row.effect.type === 'pullImages') return head.status === 'PREPARING';
  return head.status === 'CREATING' && head.substate === 'creating';
}

/**
 * A pull or create is only worth sending while the session still waits on that very attempt
 * (the key names attempt and placement): creating kernels for a session that was cancelled or
 * rescheduled meanwhile would leave them orphaned. A create also waits for `CREATING.creating`:
 * sent while the session verifies, cleans up or backs off (a row re-dispatched by `recover` or
 * after a lease), it could create a kernel an inspection has just reported absent.
 * Inspect and destroy calls always go out.
 */
function isStale(runtime: Runtime, effect: AgentEffect, session: SessionRow | undefined) {
  if (effect.type === 'inspectKernels' || effect.type === 'destroyKernels') return false;
  if (!session) return true;
  try {
    const context = contextOf(runtime.snapshots.of(session));
    const stage = effect.type === 'pullImages' ? 'pull' : 'create';
    const { agentId } = effect;
    const attempt = context.attempts[stage];
    const current = effectKey({
      sessionId: session.id,
      agentId,
      stage,
      attempt,
      placement: context.reschedules,
    });
    if (effect.key !== current) return true;
    if (stage === 'pull') return session.status !== 'PREPARING';
    return session.status !== 'CREATING' || session.substate !== 'creating';
  } catch {
    // An unreadable session is left to the stage that reports it; the call is not made.
    return true;
  }
}

/** Calls the agents: one session's calls in order, different sessions concurrently. */
async function callAll(runtime: Runtime, round: Round, rows: OutboxRow[]): Promise<Answer[]> {
  const answers: Answer[] = new Array(rows.length);
  const bySession = new Map<string, number[]>();
  for (const [index, row] of rows.entries()) {
    const list = bySession.get(row.sessionId) ?? [];
    list.push(index);
    bySession.set(row.sessionId, list);
  }
  const chains = [...bySession.values()].map(async (indexes) => {
    for (const index of indexes) answers[index] = await callOne(runtime, round, rows[index]!);
  });
  await Promise.all(chains);
  return answers;
}

async function callOne(runtime: Runtime, round: Round, row: OutboxRow): Promise<Answer> {
  round.dispatched += 1;
  runtime.logger.debug(logFields(row), 'agent call dispatched');
  try {
    return await invoke(runtime, row.effect);
  } catch (error) {
    round.errors += 1;
    runtime.logger.error({ ...logFields(row), err: describeError(error) }, 'agent call threw');
    return { thrown: error };
  }
}

function invoke(runtime: Runtime, effect: AgentEffect): Promise<AgentCallResult | InspectResult> {
  switch (effect.type) {
    case 'pullImages':
      return runtime.agents.pullImages(effect);
    case 'createKernels':
      return runtime.agents.createKernels(effect);
    case 'inspectKernels':
      return runtime.agents.inspectKernels(effect);
    case 'destroyKernels':
      return runtime.agents.destroyKernels(effect);
  }
}

/**
 * Turns the answers into events for their sessions, all applied together, and finishes each
 * row, or re-queues it when the call must be made again. A row whose events met a write
 * conflict stays leased: the call is repeated (harmlessly) when the lease expires.
 */
async function settleAll(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  rows: OutboxRow[],
  answers: Answer[],
): Promise<void> {
  const sent: OutboxRow[] = [];
  const retried = new Set<string>();
  const items: SendItem[] = [];
  for (const [index, row] of rows.entries()) {
    const answer = answers[index]!;
    if ('thrown' in answer) {
      await retryLater(runtime, round, tx, row);
      continue;
    }
    if (answer.ok && (row.effect.type === 'pullImages' || row.effect.type === 'createKernels')) {
      // An accepted pull or create means nothing to the session (its reports will): done.
      await tx.finishOutbox(row.key);
      continue;
    }
    sent.push(row);
    items.push({
      sessionId: row.sessionId,
      events: (_session, snapshot) => {
        const events = answerEvents(contextOf(snapshot), row.effect, answer, round.now);
        if (events !== 'retry') return events;
        retried.add(row.key);
        return [];
      },
    });
  }
  const outcomes = await sendMany(runtime, round, tx, items);
  for (const [index, row] of sent.entries()) {
    await finishRow(runtime, round, tx, row, outcomes[index]!, retried.has(row.key));
  }
}

async function finishRow(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  row: OutboxRow,
  outcome: SendManyOutcome,
  retry: boolean,
): Promise<void> {
  if (outcome.kind === 'error') {
    round.errors += 1;
    const fields = { sessionId: row.sessionId, err: describeError(outcome.error) };
    runtime.logger.error(fields, 'session processing failed');
  } else if (retry) {
    await retryLater(runtime, round, tx, row);
  } else if (outcome.kind !== 'conflict') {
    await tx.finishOutbox(row.key);
  }
}

async function retryLater(runtime: Runtime, round: Round, tx: StoreTx, row: OutboxRow) {
  const delay = Math.min(DISPATCH_RETRY_MAX_MS, DISPATCH_RETRY_MS * 2 ** Math.min(row.tries, 16));
  runtime.logger.debug({ ...logFields(row), delayMs: delay }, 'agent call retried later');
  await tx.retryOutbox(row.key, round.now + delay);
}

function logFields(row: OutboxRow) {
  return {
    sessionId: row.sessionId,
    agentId: row.agentId,
    attempt: row.effect.attempt,
    call: row.effect.type,
    key: row.key,
  };
}
