/**
 * The SQL of a batch: one statement that locks what the batch needs, one that writes what it
 * decided. Both take their rows as one JSON or array parameter, so their text never changes
 * and each connection prepares them once.
 */
import type { Slots } from '../../../core/types.js';
import type { SessionRow } from '../../../manager/ports.js';
import { num, slotsFromColumns, slotVector, splitSnapshot } from './codec.js';
import type { SqlConnection } from './driver.js';
import { type BatchPlan, heldTotal, type LockedAgent } from './plan.js';
import { VERSIONS_OF } from './queries.js';

/**
 * Locks the sessions ($1) and then the agents ($2) a batch touches, each in id order, so two
 * batches lock shared rows in the same order.
 */
const LOCK_BATCH = `WITH s AS (
  SELECT id, version FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE),
a AS (
  SELECT id, schedulable, cpu_capacity, mem_capacity, cuda_device_capacity,
    cuda_shares_capacity, cpu_reserved, mem_reserved, cuda_device_reserved, cuda_shares_reserved
  FROM agents WHERE id = ANY($2::text[]) ORDER BY id FOR UPDATE)
SELECT 's' AS kind, id, version, NULL::boolean AS schedulable,
  NULL::bigint AS cpu_capacity, NULL::bigint AS mem_capacity,
  NULL::bigint AS cuda_device_capacity, NULL::bigint AS cuda_shares_capacity,
  NULL::bigint AS cpu_reserved, NULL::bigint AS mem_reserved,
  NULL::bigint AS cuda_device_reserved, NULL::bigint AS cuda_shares_reserved FROM s
UNION ALL
SELECT 'a', id, NULL, schedulable, cpu_capacity, mem_capacity, cuda_device_capacity,
  cuda_shares_capacity, cpu_reserved, mem_reserved, cuda_device_reserved, cuda_shares_reserved
FROM a`;

const SESSION_COLUMNS = `id text, owner text, priority double precision, status text,
  substate text, version integer, submitted_at double precision, updated_at double precision,
  hc bigint, hm bigint, hd bigint, hs bigint, holds json, snapshot text, fixed text,
  base integer`;

/**
 * Every row a batch writes, in one statement over seven JSON parameters, returning the ids of
 * the sessions written. A session row is written only if it is still absent (insert) or still at
 * the version the batch was decided on (update); the rows that come with a session's write
 * (history, outbox, timers; `w` names the session) are written only if its row was. So a batch
 * decided without locking its sessions first stays correct: a session another transaction
 * changed meanwhile is left out whole, and the caller reports it as a version conflict. The
 * `(... IN (SELECT id FROM ok)) IS TRUE` form keeps that filter a hashed subplan: as a join it
 * would be a nested loop over `ok` (the driver turns hash joins off), quadratic in the batch.
 *
 * Outbox rows and timers belong to sessions this transaction now holds, so no other one writes
 * the same keys: they are inserted only where absent (plain inserts, cheaper than ON CONFLICT's
 * speculative ones), and a timer set again is updated in place. All parts read the same
 * snapshot, and the plan keeps their keys disjoint (a timer is either deleted or set).
 */
const WRITE_BATCH = `WITH ins AS (
  INSERT INTO sessions (id, owner, priority, status, substate, version, submitted_at,
    updated_at, held_cpu, held_mem, held_cuda_device, held_cuda_shares, holds, snapshot, fixed)
  SELECT v.id, v.owner, v.priority, v.status, v.substate, v.version, v.submitted_at,
    v.updated_at, v.hc, v.hm, v.hd, v.hs, v.holds, v.snapshot, v.fixed
  FROM json_to_recordset($1::text::json) AS v(${SESSION_COLUMNS})
  ON CONFLICT (id) DO NOTHING RETURNING id),
upd AS (
  UPDATE sessions s SET owner = v.owner, priority = v.priority, status = v.status,
    substate = v.substate, version = v.version, submitted_at = v.submitted_at,
    updated_at = v.updated_at, held_cpu = v.hc, held_mem = v.hm, held_cuda_device = v.hd,
    held_cuda_shares = v.hs, holds = v.holds, snapshot = v.snapshot
  FROM json_to_recordset($2::text::json) AS v(${SESSION_COLUMNS})
  WHERE s.id = v.id AND s.version = v.base RETURNING s.id),
ok AS (SELECT id FROM ins UNION ALL SELECT id FROM upd),
ag AS (
  UPDATE agents a SET cpu_reserved = v.c, mem_reserved = v.m, cuda_device_reserved = v.d,
    cuda_shares_reserved = v.s
  FROM json_to_recordset($3::text::json) AS v(id text, c bigint, m bigint, d bigint, s bigint)
  WHERE a.id = v.id),
hi AS (
  INSERT INTO history (session_id, at, from_status, to_status, substate, reason)
  SELECT v.s, v.at, v.f, v.t, v.sub, v.r
  FROM json_to_recordset($4::text::json)
    AS v(w text, s text, at double precision, f text, t text, sub text, r text)
  WHERE (v.w IN (SELECT id FROM ok)) IS TRUE),
ob AS (
  INSERT INTO outbox (key, session_id, agent_id, effect, due_at, tries, session_version)
  SELECT v.k, v.s, v.a, v.e, v.due, v.tries, v.sv
  FROM json_to_recordset($5::text::json) AS v(w text, k text, s text, a text, e json,
    due double precision, tries integer, sv integer)
  WHERE (v.w IN (SELECT id FROM ok)) IS TRUE
    AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key = v.k)),
td AS (
  DELETE FROM timers t USING json_to_recordset($6::text::json) AS v(w text, s text, t text)
  WHERE t.session_id = v.s AND t.timer_id = v.t AND (v.w IN (SELECT id FROM ok)) IS TRUE),
tu AS (
  UPDATE timers t SET event = v.e, due_at = v.due
  FROM json_to_recordset($7::text::json)
    AS v(w text, s text, t text, e text, due double precision)
  WHERE t.session_id = v.s AND t.timer_id = v.t AND (v.w IN (SELECT id FROM ok)) IS TRUE),
ti AS (
  INSERT INTO timers (session_id, timer_id, event, due_at)
  SELECT v.s, v.t, v.e, v.due
  FROM json_to_recordset($7::text::json)
    AS v(w text, s text, t text, e text, due double precision)
  WHERE (v.w IN (SELECT id FROM ok)) IS TRUE AND NOT EXISTS (
    SELECT 1 FROM timers t WHERE t.session_id = v.s AND t.timer_id = v.t))
SELECT id FROM ok`;

/**
 * Session rows to insert or update, in id order: the statement takes their row locks in that
 * order, so two managers writing overlapping sessions wait for each other instead of deadlocking.
 */
function sessionRecords(plan: BatchPlan, created: boolean): object[] {
  const out: object[] = [];
  const ids = [...plan.sessions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of ids) {
    const row = plan.sessions.get(id) as SessionRow;
    if (plan.created.has(id) !== created) continue;
    const [hc, hm, hd, hs] = slotVector(heldTotal(row));
    const { snapshot, fixed } = splitSnapshot(row.snapshot);
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
      snapshot,
      // Written on insert only: an update leaves the column as it is.
      fixed: created ? fixed : null,
      base: plan.base.get(id) ?? null,
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

/** The seven JSON parameters of `WRITE_BATCH`, in order; an empty list writes nothing. */
function parameters(plan: BatchPlan): (string | null)[] {
  const timers = [...plan.timers.entries()];
  const parts: Record<string, object[]> = {
    ins: sessionRecords(plan, true),
    upd: sessionRecords(plan, false),
    ag: agentRecords(plan.reserved),
    hi: plan.history.map(({ w, row: h }) => ({
      w,
      s: h.sessionId,
      at: h.at,
      f: h.from,
      t: h.to,
      sub: h.substate,
      r: h.reason ?? null,
    })),
    ob: [...plan.outbox.values()].map(({ w, row: o }) => ({
      w,
      k: o.key,
      s: o.sessionId,
      a: o.agentId,
      e: o.effect,
      due: o.dueAt,
      tries: o.tries,
      sv: o.sessionVersion ?? null,
    })),
    td: timers
      .filter(([, { row }]) => row === null)
      .map(([key, { w }]) => {
        const [s, t] = key.split('\u0000');
        return { w, s, t };
      }),
    ts: timers.flatMap(([, { w, row: r }]) =>
      r ? [{ w, s: r.sessionId, t: r.timerId, e: r.event, due: r.dueAt }] : [],
    ),
  };
  return Object.values(parts).map((rows) => (rows.length === 0 ? null : JSON.stringify(rows)));
}

/** Locked rows: the version of each existing session, the slots of each existing agent. */
export interface Locked {
  versions: Map<string, number>;
  agents: Map<string, LockedAgent>;
}

/** Locks `sessions` and `agents` (ids sorted) and reads what the plan needs of them. */
export async function lockBatch(
  conn: SqlConnection,
  sessions: string[],
  agents: string[],
): Promise<Locked> {
  const locked: Locked = { versions: new Map(), agents: new Map() };
  if (sessions.length === 0 && agents.length === 0) return locked;
  const { rows } = await conn.query<Record<string, unknown>>(LOCK_BATCH, [sessions, agents]);
  for (const row of rows) {
    const id = String(row.id);
    if (row.kind === 's') locked.versions.set(id, num(row.version));
    else {
      const capacity = slotsFromColumns(row, 'capacity');
      const reserved = slotsFromColumns(row, 'reserved');
      locked.agents.set(id, { schedulable: row.schedulable === true, capacity, reserved });
    }
  }
  return locked;
}

/** Writes a decided batch; returns the ids of the sessions written (see `WRITE_BATCH`). */
export async function writeBatch(conn: SqlConnection, plan: BatchPlan): Promise<Set<string>> {
  const { rows } = await conn.query<{ id: string }>(WRITE_BATCH, parameters(plan));
  return new Set(rows.map((row) => row.id));
}

/** Current versions of `ids` (absent ids are missing), without locking. */
export async function readVersions(conn: SqlConnection, ids: string[]) {
  const { rows } = await conn.query<{ id: string; version: unknown }>(VERSIONS_OF, [ids]);
  return new Map(rows.map((row) => [row.id, num(row.version)]));
}
