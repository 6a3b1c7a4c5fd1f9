/**
 * `apply` and `applyMany` for the SQL store. A batch costs one statement in the common cases,
 * however many writes it holds, and never more than three:
 * - optimistic: no write reserves or releases slots and no session appears twice. The batch is
 *   decided in memory assuming each session is still at the version read, and written in one
 *   statement that re-checks those versions (batch-sql.ts); a session that moved is left out
 *   and reported as a version conflict (its current version read afterwards).
 * - locked: otherwise, the sessions this transaction does not hold yet and the agents are
 *   locked first (one statement), the batch decided on what was locked (plan.ts), then written.
 * Nothing is written before every write of the batch has been decided, so a batch that throws
 * a `StoreInvariantError` keeps nothing.
 */
import type { ApplyResult, TransitionWrite } from '../../../manager/ports.js';
import { lockBatch, readVersions, writeBatch } from './batch-sql.js';
import type { SqlConnection } from './driver.js';
import { type BatchPlan, checkVersions, planBatch, touched } from './plan.js';

/**
 * How many times a locked batch is decided again when another transaction inserted one of its
 * new session ids between our read and our insert (two submits of one id at once). Bounded so a
 * caller bug cannot loop.
 */
const MAX_INSERT_RACES = 3;

/**
 * Sessions this transaction holds locked, with their version: claimed, locked for a write, or
 * written. Their versions cannot change under us until the transaction ends, so a batch over
 * them needs no lock statement.
 */
export type HeldSessions = Map<string, number>;

/** Another transaction inserted a session id this batch meant to insert: decide again. */
class InsertRace extends Error {
  constructor() {
    super(
      'a session id of this batch was inserted by another transaction at the same time, ' +
        `${MAX_INSERT_RACES} times in a row: submit each session id once`,
    );
  }
}

/** Versions of the sessions this transaction already holds; the ids it must still lock. */
function heldVersions(held: HeldSessions, ids: string[]) {
  const versions = new Map<string, number>();
  const missing: string[] = [];
  for (const id of ids) {
    const version = held.get(id);
    if (version === undefined) missing.push(id);
    else versions.set(id, version);
  }
  return { missing, versions };
}

/** True when the writes are independent: distinct sessions and outbox keys, no slots. */
function independent(writes: readonly TransitionWrite[], sessions: number, agents: number) {
  if (agents > 0 || sessions !== writes.length) return false;
  const keys = new Set<string>();
  for (const write of writes) {
    for (const { key } of write.outbox) {
      if (keys.has(key)) return false;
      keys.add(key);
    }
  }
  return true;
}

function remember(held: HeldSessions, plan: BatchPlan, written: Set<string>): void {
  for (const id of written) held.set(id, plan.sessions.get(id)?.version as number);
}

async function applyOptimistic(
  conn: SqlConnection,
  held: HeldSessions,
  writes: readonly TransitionWrite[],
  versions: Map<string, number>,
): Promise<ApplyResult[]> {
  for (const { session, expectedVersion } of writes) {
    if (!versions.has(session.id) && expectedVersion > 0) versions.set(session.id, expectedVersion);
  }
  const plan = planBatch(writes, versions, new Map());
  if (plan.sessions.size === 0) return plan.results;
  const written = await writeBatch(conn, plan);
  remember(held, plan, written);
  const moved = writes.map((w) => w.session.id).filter((id) => !written.has(id));
  const actual = moved.length === 0 ? new Map() : await readVersions(conn, moved);
  return plan.results.map((result, index) => {
    const id = writes[index]?.session.id as string;
    if (!result.ok || written.has(id)) return result;
    return { ok: false, conflict: 'version', actual: actual.get(id) };
  });
}

async function applyLocked(
  conn: SqlConnection,
  held: HeldSessions,
  writes: readonly TransitionWrite[],
  missing: string[],
  versions: Map<string, number>,
  agents: string[],
): Promise<ApplyResult[]> {
  const locked = await lockBatch(conn, missing, agents);
  for (const [id, version] of locked.versions) {
    held.set(id, version);
    versions.set(id, version);
  }
  const plan = planBatch(writes, versions, locked.agents);
  if (plan.sessions.size === 0) return plan.results;
  const written =
    plan.created.size === 0 ? await writeBatch(conn, plan) : await writeWithInserts(conn, plan);
  remember(held, plan, written);
  return plan.results;
}

/** Inserts can race with another transaction's: write under a savepoint to undo a lost race. */
async function writeWithInserts(conn: SqlConnection, plan: BatchPlan): Promise<Set<string>> {
  await conn.query('SAVEPOINT sl_insert');
  const written = await writeBatch(conn, plan);
  if (written.size === plan.sessions.size) {
    await conn.query('RELEASE SAVEPOINT sl_insert');
    return written;
  }
  await conn.query('ROLLBACK TO SAVEPOINT sl_insert');
  await conn.query('RELEASE SAVEPOINT sl_insert');
  throw new InsertRace();
}

async function applyOnce(
  conn: SqlConnection,
  held: HeldSessions,
  writes: readonly TransitionWrite[],
): Promise<ApplyResult[]> {
  const ids = touched(writes);
  const { missing, versions } = heldVersions(held, ids.sessions);
  if (missing.length > 0 && independent(writes, ids.sessions.length, ids.agents.length)) {
    return applyOptimistic(conn, held, writes, versions);
  }
  return applyLocked(conn, held, writes, missing, versions, ids.agents);
}

/**
 * Applies `writes` in order within the open transaction and returns one result per write.
 * Throws `StoreInvariantError` (keeping nothing of the batch) for a caller bug.
 */
export async function applyWrites(
  conn: SqlConnection,
  held: HeldSessions,
  writes: readonly TransitionWrite[],
): Promise<ApplyResult[]> {
  checkVersions(writes);
  if (writes.length === 0) return [];
  for (let race = 1; ; race += 1) {
    try {
      return await applyOnce(conn, held, writes);
    } catch (error) {
      if (!(error instanceof InsertRace) || race >= MAX_INSERT_RACES) throw error;
    }
  }
}
