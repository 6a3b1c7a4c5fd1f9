/**
 * The placement predicates that do not need an agent: dependencies and per-owner concurrency.
 * The capacity predicate is the selection itself (see `batch.ts`).
 */
import type { Status } from '../../core/types.js';
import type { PlacementLimits } from '../types.js';
import type { PendingSession, PredicateResult } from './types.js';
import type { OwnerBook } from './usage.js';

const OK: PredicateResult = { ok: true };

/** Statuses of a dependency that let a dependent session be placed. */
const READY: readonly Status[] = ['RUNNING', 'TERMINATED'];
/** Statuses of a dependency that will never become ready. */
const DEAD: readonly Status[] = ['CANCELLED', 'ERROR'];

/** Every `dependsOn` session is RUNNING or TERMINATED. */
export function checkDependencies(
  session: PendingSession,
  statusOf: ReadonlyMap<string, Status>,
): PredicateResult {
  for (const id of session.dependsOn) {
    const status = statusOf.get(id);
    if (status !== undefined && READY.includes(status)) continue;
    return { ok: false, predicate: 'dependencies', message: dependencyMessage(id, status) };
  }
  return OK;
}

function dependencyMessage(id: string, status: Status | undefined): string {
  const name = `depends on session ${JSON.stringify(id)}`;
  if (status === undefined) return `${name}, which does not exist`;
  if (DEAD.includes(status)) return `${name}, which ended ${status} and will never run`;
  return `${name}, which is ${status}; waits until it is RUNNING or TERMINATED`;
}

/** The owner has fewer live sessions than the limit (sessions placed in this batch count). */
export function checkConcurrency(
  session: PendingSession,
  book: OwnerBook,
  limits: PlacementLimits,
): PredicateResult {
  const limit = limits.maxConcurrentPerOwner;
  if (limit === undefined) return OK;
  const live = book.sessions(session.owner);
  if (live < limit) return OK;
  return {
    ok: false,
    predicate: 'concurrency',
    message:
      `owner ${JSON.stringify(session.owner)} has ${live} live sessions and the limit is ` +
      `${limit} (maxConcurrentPerOwner); waits until one ends`,
  };
}
