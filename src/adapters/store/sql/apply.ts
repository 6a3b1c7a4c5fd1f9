/**
 * `apply` and `applyMany` for the SQL store. A batch costs at most two statements, however many
 * writes it holds: one locks the rows it needs (skipped when this transaction already holds
 * them), one writes everything decided in memory (plan.ts). Nothing is written before every
 * write of the batch has been decided, so a batch that throws keeps nothing.
 */
import type { ApplyResult, TransitionWrite } from '../../../manager/ports.js';
import { lockBatch, writeBatch } from './batch-sql.js';
import type { SqlConnection } from './driver.js';
import { checkVersions, planBatch, touched } from './plan.js';

/**
 * How many times a batch is decided again when another transaction inserted one of its new
 * session ids between our read and our insert (two submits of one id at once). Bounded so a
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

async function applyOnce(
  conn: SqlConnection,
  held: HeldSessions,
  writes: readonly TransitionWrite[],
): Promise<ApplyResult[]> {
  const ids = touched(writes);
  const { missing, versions } = heldVersions(held, ids.sessions);
  const locked = await lockBatch(conn, missing, ids.agents);
  for (const [id, version] of locked.versions) {
    held.set(id, version);
    versions.set(id, version);
  }
  const plan = planBatch(writes, versions, locked.agents);
  if (plan.sessions.size === 0) return plan.results;
  if (plan.created.size === 0) await writeBatch(conn, plan);
  else await writeWithInserts(conn, plan);
  for (const [id, row] of plan.sessions) held.set(id, row.version);
  return plan.results;
}

/** Inserts can race with another transaction's: write under a savepoint to undo a lost race. */
async function writeWithInserts(conn: SqlConnection, plan: Parameters<typeof writeBatch>[1]) {
  await conn.query('SAVEPOINT sl_insert');
  const inserted = await writeBatch(conn, plan);
  if (inserted === plan.created.size) {
    await conn.query('RELEASE SAVEPOINT sl_insert');
    return;
  }
  await conn.query('ROLLBACK TO SAVEPOINT sl_insert');
  await conn.query('RELEASE SAVEPOINT sl_insert');
  throw new InsertRace();
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
