/** The SQL text of the store's reads and small writes (the batch write is in apply.ts). */

const SESSION_FIELDS = `id, owner, priority, status, substate, version, submitted_at,
  updated_at, holds, snapshot, fixed`;

const AGENT_FIELDS = `id, schedulable, labels, cpu_capacity, mem_capacity, cuda_device_capacity,
  cuda_shares_capacity, cpu_reserved, mem_reserved, cuda_device_reserved, cuda_shares_reserved`;

export const PUT_AGENT = `INSERT INTO agents (id, schedulable, labels, cpu_capacity, mem_capacity,
  cuda_device_capacity, cuda_shares_capacity)
  VALUES ($1, $2, $3::text::json, $4, $5, $6, $7)
  ON CONFLICT (id) DO UPDATE SET schedulable = excluded.schedulable, labels = excluded.labels,
    cpu_capacity = excluded.cpu_capacity, mem_capacity = excluded.mem_capacity,
    cuda_device_capacity = excluded.cuda_device_capacity,
    cuda_shares_capacity = excluded.cuda_shares_capacity`;

export const SET_SCHEDULABLE = 'UPDATE agents SET schedulable = $2 WHERE id = $1';

export const AGENTS = `SELECT ${AGENT_FIELDS} FROM agents ORDER BY id`;

export const GET_SESSIONS = `SELECT ${SESSION_FIELDS} FROM sessions WHERE id = ANY($1::text[])`;

/**
 * One status: the (status, submitted_at, id) index yields rows in order from the cursor
 * ($3, $4; -Infinity and '' for the start) and stops at $2.
 */
export const CLAIM_ONE_STATUS = `SELECT ${SESSION_FIELDS} FROM sessions WHERE status = $1
  AND (submitted_at, id) > ($3::double precision, $4::text)
  ORDER BY submitted_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`;

export const CLAIM_STATUSES = `SELECT ${SESSION_FIELDS} FROM sessions
  WHERE status = ANY($1::text[]) AND (submitted_at, id) > ($3::double precision, $4::text)
  ORDER BY submitted_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`;

/** A plain read (no lock, nothing skipped); the (status, ...) index narrows it to `$2`. */
export const SESSIONS_ON_AGENT = `SELECT id FROM sessions
  WHERE status = ANY($2::text[]) AND holds::jsonb ? $1 ORDER BY id`;

export const OWNER_USAGE = `SELECT owner, count(*)::int AS sessions,
  sum(held_cpu)::float8 AS cpu_held, sum(held_mem)::float8 AS mem_held,
  sum(held_cuda_device)::float8 AS cuda_device_held,
  sum(held_cuda_shares)::float8 AS cuda_shares_held
  FROM sessions WHERE status = ANY($1::text[]) GROUP BY owner`;

export const STATUS_OF = 'SELECT id, status FROM sessions WHERE id = ANY($1::text[])';

export const VERSIONS_OF = 'SELECT id, version FROM sessions WHERE id = ANY($1::text[])';

export const HEADS_OF = `SELECT id, version, status, substate FROM sessions
  WHERE id = ANY($1::text[])`;

/** Locks the timer and its session, so no other manager works on that session meanwhile. */
export const DUE_TIMERS = `SELECT t.session_id, t.timer_id, t.event, t.due_at,
  s.version AS session_version
  FROM timers t JOIN sessions s ON s.id = t.session_id
  WHERE t.due_at <= $1 ORDER BY t.due_at, t.session_id, t.timer_id LIMIT $2
  FOR UPDATE SKIP LOCKED`;

export const DUE_OUTBOX = `SELECT key, session_id, agent_id, effect, due_at, tries,
  session_version FROM outbox
  WHERE due_at <= $1 ORDER BY due_at, key LIMIT $2 FOR UPDATE SKIP LOCKED`;

/**
 * `DUE_OUTBOX` and a retry of every row it finds, in one statement: the rows as they were,
 * earliest first, left due at $3 with one more try.
 */
export const LEASE_OUTBOX = `WITH due AS (
  SELECT key, due_at, tries FROM outbox
  WHERE due_at <= $1 ORDER BY due_at, key LIMIT $2 FOR UPDATE SKIP LOCKED),
leased AS (
  UPDATE outbox o SET due_at = $3, tries = o.tries + 1 FROM due WHERE o.key = due.key
  RETURNING o.key, o.session_id, o.agent_id, o.effect, due.due_at, due.tries, o.session_version)
SELECT * FROM leased ORDER BY due_at, key`;

export const NEXT_DUE = `SELECT (SELECT min(due_at) FROM timers) AS timer,
  (SELECT min(due_at) FROM outbox) AS outbox`;

/** Each part stops at the first row its index yields (`timers_due`, `outbox_due`, the claim). */
export const WORK_DUE = `SELECT EXISTS (SELECT 1 FROM timers WHERE due_at <= $1) AS timers,
  EXISTS (SELECT 1 FROM outbox WHERE due_at <= $1) AS outbox,
  ARRAY(SELECT s FROM unnest($2::text[]) AS s
    WHERE EXISTS (SELECT 1 FROM sessions WHERE status = s)) AS statuses`;

export const HISTORY = `SELECT session_id, at, from_status, to_status, substate, reason
  FROM history WHERE session_id = $1 ORDER BY seq`;

export const STATUSES = 'SELECT id, status FROM sessions';
