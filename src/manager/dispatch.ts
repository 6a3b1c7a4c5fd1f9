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
import { bySession, inTurns, type Round, type Runtime } from './runtime.js';
import {
  applyPlanned,
  type PlannedBatch,
  planMany,
  type SendItem,
  type SendManyOutcome,
} from './send-many.js';
import { MAX_BATCHES_PER_STAGE } from './stages.js';
import { processingFailed } from './step.js';

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
export type Answer = AgentCallResult | InspectResult | { thrown: unknown };

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

/**
 * Accepted pulls and creates whose rows `dispatchAll` may keep to delete with a later write.
 * Such a row means nothing to its session; a crash before the delete only repeats a keyed call
 * once the lease runs out.
 */
export const DEFERRED_FINISH_LIMIT = 10_000;

/**
 * Dispatches every unfinished row now, whenever it was due (recovery after a restart). The
 * sessions the answers will concern are read with the claim. The rows go in batches that each
 * hold all the rows of their sessions, two batches in flight (`inTurns`): one batch's calls are
 * made and its answers decided while the other is written. A batch whose calls were all
 * accepted writes nothing of its own: its rows are deleted with the next batch that writes.
 */
export async function dispatchAll(runtime: Runtime, round: Round): Promise<void> {
  const { claimed } = await claimRows(runtime, round, Number.MAX_SAFE_INTEGER, RECOVER_LIMIT);
  if (claimed.length === 0) return;
  const sessions = await round.inTransaction(runtime, (tx) =>
    readSessions(
      tx,
      claimed.filter(needsSession).map((row) => row.sessionId),
    ),
  );
  const accepted: OutboxRow[] = [];
  const batches = bySession(claimed, runtime.batchSize, (row) => row.sessionId);
  await inTurns(runtime, round, batches.length, async (forked, index) => {
    const rows = batches[index]!;
    const answers = await callAll(runtime, forked, rows);
    // A failed pull or create is read with the write; no other batch writes these sessions.
    if (unread(rows, answers, sessions).length > 0) {
      await settle(runtime, forked, rows, answers, sessions);
      return true;
    }
    const settlement = planSettle(runtime, forked, rows, answers, sessions);
    const writes = settlement.thrown.length + settlement.sent.length;
    if (writes === 0 && accepted.length + rows.length <= DEFERRED_FINISH_LIMIT) {
      accepted.push(...settlement.accepted);
      return true;
    }
    settlement.accepted.push(...accepted.splice(0));
    await forked.inTransaction(runtime, (tx) => applySettle(runtime, forked, tx, settlement));
    return true;
  });
  if (accepted.length === 0) return;
  await round.inTransaction(runtime, async (tx) => {
    for (const row of accepted) await tx.finishOutbox(row.key);
  });
}

/** Calls the agents for `rows`, then feeds the answers back in one transaction. */
async function runRows(runtime: Runtime, round: Round, rows: OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  const answers = await callAll(runtime, round, rows);
  await settle(runtime, round, rows, answers, new Map());
}

/** Settles answers in one transaction, reading the sessions they concern that `known` lacks. */
function settle(
  runtime: Runtime,
  round: Round,
  rows: OutboxRow[],
  answers: Answer[],
  known: ReadonlyMap<string, SessionRow>,
): Promise<void> {
  return round.inTransaction(runtime, async (tx) => {
    const sessions = new Map<string, SessionRow>();
    for (const { sessionId } of rows) {
      const row = known.get(sessionId);
      if (row !== undefined) sessions.set(sessionId, row);
    }
    const read = await readSessions(tx, unread(rows, answers, known));
    for (const [id, row] of read) sessions.set(id, row);
    await applySettle(runtime, round, tx, planSettle(runtime, round, rows, answers, sessions));
  });
}

/** Sessions the answers must be sent to that `known` lacks. */
function unread(rows: OutboxRow[], answers: Answer[], known: ReadonlyMap<string, SessionRow>) {
  const ids = rows
    .filter((row, index) => needsAnswer(row, answers[index]!))
    .map((r) => r.sessionId);
  return ids.filter((id) => !known.has(id));
}

function claimRows(runtime: Runtime, round: Round, horizon: number, limit: number) {
  return round.inTransaction(runtime, (tx) => claim(runtime, round, tx, horizon, limit));
}

async function readSessions(tx: StoreTx, ids: string[]): Promise<Map<string, SessionRow>> {
  const unique = [...new Set(ids)];
  const rows = unique.length === 0 ? [] : await tx.getSessions(unique);
  return new Map(rows.map((row) => [row.id, row]));
}

/** Pulls and creates: calls a session may no longer want, whose acceptance means nothing. */
function isPullOrCreate(row: OutboxRow): boolean {
  return row.effect.type === 'pullImages' || row.effect.type === 'createKernels';
}

/** Whether the answer to a row may mean something to its session (all but an accepted call). */
function needsSession(row: OutboxRow): boolean {
  return !isPullOrCreate(row);
}

/** Whether this answer to this row must be sent to its session. */
function needsAnswer(row: OutboxRow, answer: Answer): boolean {
  return !('thrown' in answer) && (needsSession(row) || !answer.ok);
}

/** Leases due rows; drops calls their session no longer wants (a stale pull or create). */
async function claim(runtime: Runtime, round: Round, tx: StoreTx, horizon: number, limit: number) {
  const leaseUntil = round.now + DISPATCH_LEASE_MS;
  const leased = tx.leaseOutbox !== undefined;
  const due = tx.leaseOutbox
    ? await tx.leaseOutbox(horizon, limit, leaseUntil)
    : await tx.dueOutbox(horizon, limit);
  const stale = await staleKeys(runtime, tx, due);
  const claimed: OutboxRow[] = [];
  for (const row of due) {
    if (stale.has(row.key)) {
      runtime.logger.debug(logFields(row), 'stale agent call dropped');
      await tx.finishOutbox(row.key);
      continue;
    }
    if (!leased) await tx.retryOutbox(row.key, leaseUntil);
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
  const guarded = due.filter(isPullOrCreate);
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

function callOne(runtime: Runtime, round: Round, row: OutboxRow): Promise<Answer> {
  return callAgent(runtime, round, row.effect, logFields(row));
}

/**
 * Makes one agent call, counted as dispatched; an exception the client throws is logged,
 * counted as an error and returned as `{ thrown }`. `fields` say which call, for the logs.
 */
export async function callAgent(
  runtime: Runtime,
  round: Round,
  effect: AgentEffect,
  fields: object,
): Promise<Answer> {
  round.dispatched += 1;
  runtime.logger.debug(fields, 'agent call dispatched');
  try {
    return await invoke(runtime, effect);
  } catch (error) {
    round.errors += 1;
    runtime.logger.error({ ...fields, err: describeError(error) }, 'agent call threw');
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

/** What settling a batch of answers writes, decided before its transaction. */
interface Settlement {
  /** Calls that threw: made again later. */
  thrown: OutboxRow[];
  /** Accepted pulls and creates: they mean nothing to the session (its reports will). */
  accepted: OutboxRow[];
  /** Rows whose answers went to their sessions, in `planned` item order. */
  sent: OutboxRow[];
  /** Keys of sent rows whose call must be made again. */
  retried: Set<string>;
  planned: PlannedBatch;
}

/**
 * Turns the answers into events for their sessions, decided on `sessions` (rows read in this
 * transaction or an earlier one: a write over a row that moved since is refused by its version
 * check, and its outbox row stays leased).
 */
function planSettle(
  runtime: Runtime,
  round: Round,
  rows: OutboxRow[],
  answers: Answer[],
  sessions: ReadonlyMap<string, SessionRow>,
): Settlement {
  const settlement: Omit<Settlement, 'planned'> = {
    thrown: [],
    accepted: [],
    sent: [],
    retried: new Set(),
  };
  const items: SendItem[] = [];
  for (const [index, row] of rows.entries()) {
    const answer = answers[index]!;
    if ('thrown' in answer) settlement.thrown.push(row);
    else if (!needsAnswer(row, answer)) settlement.accepted.push(row);
    else {
      settlement.sent.push(row);
      items.push({
        sessionId: row.sessionId,
        events: (_session, snapshot) => {
          const resent = row.tries > 0;
          const events = answerEvents(contextOf(snapshot), row.effect, answer, round.now, resent);
          if (events !== 'retry') return events;
          settlement.retried.add(row.key);
          return [];
        },
      });
    }
  }
  return { ...settlement, planned: planMany(runtime, round, items, sessions) };
}

/**
 * Applies a settlement: the events all together, then each row finished, or re-queued when the
 * call must be made again. A row whose events met a write conflict stays leased: the call is
 * repeated (harmlessly) when the lease expires.
 */
async function applySettle(runtime: Runtime, round: Round, tx: StoreTx, settlement: Settlement) {
  for (const row of settlement.thrown) await retryLater(runtime, round, tx, row);
  for (const row of settlement.accepted) await tx.finishOutbox(row.key);
  const outcomes = await applyPlanned(runtime, round, tx, settlement.planned);
  for (const [index, row] of settlement.sent.entries()) {
    const retry = settlement.retried.has(row.key);
    await finishRow(runtime, round, tx, row, outcomes[index]!, retry);
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
    processingFailed(runtime, round, row.sessionId, outcome.error);
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
