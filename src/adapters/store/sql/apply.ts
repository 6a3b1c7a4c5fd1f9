/**
 * `apply` and `applyMany` for the SQL store. A batch costs a fixed number of round trips, however
 * many writes it holds: lock the sessions, lock the agents, decide in memory (plan.ts), then
 * write everything in one statement. The batch runs inside a savepoint, so a batch that throws
 * keeps nothing and leaves the transaction usable.
 */
import type { Slots } from '../../../core/types.js';
import type { ApplyResult, TransitionWrite } from '../../../manager/ports.js';
import { num, slotsFromColumns, slotVector } from './codec.js';
import type { SqlConnection } from './driver.js';
import {
  type BatchPlan,
  checkVersions,
  heldTotal,
  type LockedAgent,
  planBatch,
  touched,
} from './plan.js';

/**
 * How many times a batch is decided again when another transaction inserted one of its new
 * session ids between our read and our insert (two submits of one id at once). Bounded so a
 * caller bug cannot loop.
 */
const MAX_INSERT_RACES = 3;

const LOCK_SESSIONS =
  'SELECT id, version FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE';

const LOCK_AGENTS = `SELECT id, cpu_capacity, mem_capacity, cuda_device_capacity,
  cuda_shares_capacity, cpu_reserved, mem_reserved, cuda_device_reserved, cuda_shares_reserved
  FROM agents WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;

const SESSION_COLUMNS = `id text, owner text, priority double precision, status text,
  substate text, version integer, submitted_at double precision, updated_at double precision,
  hc bigint, hm bigint, hd bigint, hs bigint, holds jsonb, snapshot jsonb`;

/** Every row a batch writes, in one statement over one JSON parameter. */
const WRITE_BATCH = `WITH p AS (SELECT $1::text::jsonb AS j),
ins AS (
  INSERT INTO sessions (id, owner, priority, status, substate, version, submitted_at,
    updated_at, held_cpu, held_mem, held_cuda_device, held_cuda_shares, holds, snapshot)
  SELECT v.id, v.owner, v.priority, v.status, v.substate, v.version, v.submitted_at,
    v.updated_at, v.hc, v.hm, v.hd, v.hs, v.holds, v.snapshot
  FROM p, jsonb_to_recordset(p.j->'ins') AS v(${SESSION_COLUMNS})
  ON CONFLICT (id) DO NOTHING RETURNING 1),
upd AS (
  UPDATE sessions s SET owner = v.owner, priority = v.priority, status = v.status,
    substate = v.substate, version = v.version, submitted_at = v.submitted_at,
    updated_at = v.updated_at, held_cpu = v.hc, held_mem = v.hm, held_cuda_device = v.hd,
    held_cuda_shares = v.hs, holds = v.holds, snapshot = v.snapshot
  FROM p, jsonb_to_recordset(p.j->'upd') AS v(${SESSION_COLUMNS})
  WHERE s.id = v.id),
ag AS (
  UPDATE agents a SET cpu_reserved = v.c, mem_reserved = v.m, cuda_device_reserved = v.d,
    cuda_shares_reserved = v.s
  FROM p, jsonb_to_recordset(p.j->'ag') AS v(id text, c bigint, m bigint, d bigint, s bigint)
  WHERE a.id = v.id),
hi AS (
  INSERT INTO history (session_id, at, from_status, to_status, substate, reason)
  SELECT v.s, v.at, v.f, v.t, v.sub, v.r
  FROM p, jsonb_to_recordset(p.j->'hi')
    AS v(s text, at double precision, f text, t text, sub text, r text)),
ob AS (
  INSERT INTO outbox (key, session_id, agent_id, effect, due_at, tries)
  SELECT v.k, v.s, v.a, v.e, v.due, v.tries
  FROM p, jsonb_to_recordset(p.j->'ob')
    AS v(k text, s text, a text, e jsonb, due double precision, tries integer)
  ON CONFLICT (key) DO NOTHING),
td AS (
  DELETE FROM timers t USING p, jsonb_to_recordset(p.j->'td') AS v(s text, t text)
  WHERE t.session_id = v.s AND t.timer_id = v.t),
ts AS (
  INSERT INTO timers (session_id, timer_id, event, due_at)
  SELECT v.s, v.t, v.e, v.due
  FROM p, jsonb_to_recordset(p.j->'ts') AS v(s text, t text, e text, due double precision)
  ON CONFLICT (session_id, timer_id) DO UPDATE SET event = excluded.event, due_at = excluded.due_at)
SELECT (SELECT count(*) FROM ins)::int AS inserted`;

/** Another transaction inserted a session id this batch meant to insert: decide again. */
class InsertRace extends Error {
  constructor() {
    super(
      'a session id of this batch was inserted by another transaction at the same time, ' +
        `${MAX_INSERT_RACES} times in a row: submit each session id once`,
    );
  }
}

async function lockSessions(conn: SqlConnection, ids: string[]): Promise<Map<string, number>> {
  const { rows } = await conn.query<{ id: string; version: unknown }>(LOCK_SESSIONS, [ids]);
  return new Map(rows.map((row) => [row.id, num(row.version)]));
}

async function lockAgents(conn: SqlConnection, ids: string[]): Promise<Map<string, LockedAgent>> {
  if (ids.length === 0) return new Map();
  const { rows } = await conn.query<Record<string, unknown>>(LOCK_AGENTS, [ids]);
  return new Map(
    rows.map((row) => [
      String(row.id),
      { capacity: slotsFromColumns(row, 'capacity'), reserved: slotsFromColumns(row, 'reserved') },
    ]),
  );
}

function sessionRecords(plan: BatchPlan, created: boolean): object[] {
  const out: object[] = [];
  for (const [id, row] of plan.sessions) {
    if (plan.created.has(id) !== created) continue;
    const [hc, hm, hd, hs] = slotVector(heldTotal(row));
    out.push({
      id,
      owner: row.owner,
      priority: row.priority,
      status: row.status,
      substate: row.substate,
      version: row.version,
      submitted_at: row.submittedAt,
      updated_at: row.updatedAt,
      hc,
      hm,
      hd,
      hs,
      holds: row.holds,
      snapshot: row.snapshot,
    });
  }
  return out;
}

function agentRecords(reserved: Map<string, Slots>): object[] {
  return [...reserved].map(([id, slots]) => {
    const [c, m, d, s] = slotVector(slots);
    return { id, c, m, d, s };
  });
}

/** The JSON parameter of `WRITE_BATCH`; empty lists are left out (they write nothing). */
function payload(plan: BatchPlan): string {
  const timers = [...plan.timers.entries()];
  const parts: Record<string, object[]> = {
    ins: sessionRecords(plan, true),
    upd: sessionRecords(plan, false),
    ag: agentRecords(plan.reserved),
    hi: plan.history.map((h) => ({
      s: h.sessionId,
      at: h.at,
      f: h.from,
      t: h.to,
      sub: h.substate,
      r: h.reason ?? null,
    })),
    ob: [...plan.outbox.values()].map((o) => ({
      k: o.key,
      s: o.sessionId,
      a: o.agentId,
      e: o.effect,
      due: o.dueAt,
      tries: o.tries,
    })),
    td: timers
      .filter(([, row]) => row === null)
      .map(([key]) => {
        const [s, t] = key.split('\u0000');
        return { s, t };
      }),
    ts: timers.flatMap(([, r]) =>
      r ? [{ s: r.sessionId, t: r.timerId, e: r.event, due: r.dueAt }] : [],
    ),
  };
  for (const key of Object.keys(parts)) if (parts[key]?.length === 0) delete parts[key];
  return JSON.stringify(parts);
}

async function applyOnce(conn: SqlConnection, writes: readonly TransitionWrite[]) {
  const ids = touched(writes);
  const versions = await lockSessions(conn, ids.sessions);
  const agents = await lockAgents(conn, ids.agents);
  const plan = planBatch(writes, versions, agents);
  if (plan.sessions.size === 0) return plan.results;
  const { rows } = await conn.query<{ inserted: number }>(WRITE_BATCH, [payload(plan)]);
  if (rows[0]?.inserted !== plan.created.size) throw new InsertRace();
  return plan.results;
}

async function rollbackTo(conn: SqlConnection): Promise<void> {
  try {
    await conn.query('ROLLBACK TO SAVEPOINT sl_apply');
    await conn.query('RELEASE SAVEPOINT sl_apply');
  } catch {
    // The connection is gone or the transaction is aborted: the caller's error says why.
  }
}

/**
 * Applies `writes` in order within the open transaction and returns one result per write.
 * Throws `StoreInvariantError` (keeping nothing of the batch) for a caller bug.
 */
export async function applyWrites(
  conn: SqlConnection,
  writes: readonly TransitionWrite[],
): Promise<ApplyResult[]> {
  checkVersions(writes);
  if (writes.length === 0) return [];
  for (let race = 0; ; race += 1) {
    await conn.query('SAVEPOINT sl_apply');
    try {
      const results = await applyOnce(conn, writes);
      await conn.query('RELEASE SAVEPOINT sl_apply');
      return results;
    } catch (error) {
      await rollbackTo(conn);
      if (!(error instanceof InsertRace) || race + 1 >= MAX_INSERT_RACES) throw error;
    }
  }
}
