/**
 * The store's schema, as an ordered list of migrations. Each runs once, in order, in the
 * transaction that opens the store; `schema_version` records which ran. Never edit a migration
 * that has shipped: add the next one.
 *
 * Slots are one BIGINT column per slot (`cpu`, `mem`, `cuda_device`, `cuda_shares`) so the
 * capacity check is plain arithmetic on locked rows. Times are epoch milliseconds. Ids use the
 * "C" collation so that they sort by code unit, as JavaScript compares strings. History rows
 * are only ever read per session in `seq` order, so that index is their only one. JSON columns
 * are `json` (kept as text) rather than `jsonb`: the store never looks inside them, and storing
 * text halves the cost of writing a snapshot. The snapshot column is plain `text` from version 2:
 * the server no longer parses each snapshot written, and the store parses one it reads only when
 * the manager asks for it (usually it has that version cached). Also from version 2, the parts of
 * a snapshot that never change after submit (the context's `spec` and `policy`) are kept once,
 * in `fixed`, and left out of `snapshot`: every transition writes a third less.
 */

/** One schema step. `version` numbers are 1, 2, 3, ... without gaps. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents, sessions, history, outbox, timers',
    sql: `
CREATE TABLE agents (
  id text COLLATE "C" PRIMARY KEY,
  schedulable boolean NOT NULL,
  labels json,
  cpu_capacity bigint NOT NULL DEFAULT 0,
  mem_capacity bigint NOT NULL DEFAULT 0,
  cuda_device_capacity bigint NOT NULL DEFAULT 0,
  cuda_shares_capacity bigint NOT NULL DEFAULT 0,
  cpu_reserved bigint NOT NULL DEFAULT 0 CHECK (cpu_reserved >= 0),
  mem_reserved bigint NOT NULL DEFAULT 0 CHECK (mem_reserved >= 0),
  cuda_device_reserved bigint NOT NULL DEFAULT 0 CHECK (cuda_device_reserved >= 0),
  cuda_shares_reserved bigint NOT NULL DEFAULT 0 CHECK (cuda_shares_reserved >= 0)
);

CREATE TABLE sessions (
  id text COLLATE "C" PRIMARY KEY,
  owner text NOT NULL,
  priority double precision NOT NULL,
  status text NOT NULL,
  substate text NOT NULL,
  version integer NOT NULL,
  submitted_at double precision NOT NULL,
  updated_at double precision NOT NULL,
  held_cpu bigint NOT NULL DEFAULT 0,
  held_mem bigint NOT NULL DEFAULT 0,
  held_cuda_device bigint NOT NULL DEFAULT 0,
  held_cuda_shares bigint NOT NULL DEFAULT 0,
  holds json NOT NULL,
  snapshot json NOT NULL
);
CREATE INDEX sessions_claim ON sessions (status, submitted_at, id);

CREATE TABLE history (
  seq bigint GENERATED ALWAYS AS IDENTITY,
  session_id text COLLATE "C" NOT NULL,
  at double precision NOT NULL,
  from_status text NOT NULL,
  to_status text NOT NULL,
  substate text NOT NULL,
  reason text
);
CREATE INDEX history_session ON history (session_id, seq);

CREATE TABLE outbox (
  key text COLLATE "C" PRIMARY KEY,
  session_id text NOT NULL,
  agent_id text NOT NULL,
  effect json NOT NULL,
  due_at double precision NOT NULL,
  tries integer NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (due_at, key);

CREATE TABLE timers (
  session_id text COLLATE "C" NOT NULL,
  timer_id text COLLATE "C" NOT NULL,
  event text NOT NULL,
  due_at double precision NOT NULL,
  PRIMARY KEY (session_id, timer_id)
);
CREATE INDEX timers_due ON timers (due_at, session_id, timer_id);
`,
  },
  {
    version: 2,
    name: 'snapshots as text, their fixed part once; outbox rows name their session version',
    sql: `
ALTER TABLE sessions ALTER COLUMN snapshot TYPE text USING snapshot::text;
ALTER TABLE sessions ADD COLUMN fixed text;
UPDATE sessions SET
  fixed = (SELECT jsonb_object_agg(key, value)::text
    FROM jsonb_each(snapshot::jsonb -> 'context') WHERE key IN ('spec', 'policy')),
  snapshot = (snapshot::jsonb #- '{context,spec}' #- '{context,policy}')::text
  WHERE jsonb_typeof(snapshot::jsonb -> 'context') = 'object';
ALTER TABLE outbox ADD COLUMN session_version integer;
`,
  },
];

/** The newest schema version this code knows. */
export const LATEST_VERSION = MIGRATIONS.reduce((top, m) => Math.max(top, m.version), 0);
