/**
 * Seeding for the recovery benchmark: one template session per in-flight state, driven through
 * the chart (decide, no agents) into a MemoryStore, then cloned under new ids into PostgreSQL
 * with bulk INSERTs (sessions, unfinished outbox rows, timers), and agents holding what the
 * clones reserve.
 */
import pg from 'pg';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { splitSnapshot } from '../src/adapters/store/sql/codec.js';
import type { SessionEvent } from '../src/core/events.js';
import { decideEvent, rowColumns, startSession } from '../src/manager/core-bridge.js';
import type { TransitionWrite } from '../src/manager/ports.js';
import { normalizeSubmit } from '../src/manager/spec.js';
import { planWrite } from '../src/manager/transition.js';
import { defaultPolicy } from '../src/policy/defaults.js';

/** Virtual time of the seeded sessions' transitions. */
export const T0 = Date.UTC(2023, 5, 1);
/** Agents the clones are spread over. */
export const AGENTS = 1_000;

const TEMPLATE_ID = 'tpl-000000';
const TEMPLATE_AGENT = 'tpl-a0000';
const AGENT_CAPACITY = { cpu: 1_000_000_000, mem: 1_000_000_000 };

/** In-flight states and their share of the sessions; `keepOutbox`: its last calls unanswered. */
export const STATES: { name: string; share: number; events: string[]; keepOutbox: boolean }[] = [
  { name: 'PENDING', share: 15, events: [], keepOutbox: false },
  { name: 'SCHEDULED', share: 10, events: ['SCHEDULE'], keepOutbox: false },
  {
    name: 'PREPARING, pull in flight',
    share: 20,
    events: ['SCHEDULE', 'PREPARE'],
    keepOutbox: true,
  },
  { name: 'PREPARED', share: 10, events: ['SCHEDULE', 'PREPARE', 'PULLED'], keepOutbox: false },
  {
    name: 'CREATING, create in flight',
    share: 20,
    events: ['SCHEDULE', 'PREPARE', 'PULLED', 'START'],
    keepOutbox: true,
  },
  {
    name: 'CREATING, create accepted',
    share: 15,
    events: ['SCHEDULE', 'PREPARE', 'PULLED', 'START', 'CREATING'],
    keepOutbox: false,
  },
  {
    name: 'TERMINATING, destroy in flight',
    share: 10,
    events: ['SCHEDULE', 'PREPARE', 'PULLED', 'START', 'STARTED', 'TERMINATE'],
    keepOutbox: true,
  },
];

function event(name: string, now: number): SessionEvent {
  const agentId = TEMPLATE_AGENT;
  switch (name) {
    case 'SCHEDULE':
      return { type: 'SCHEDULE', now, placement: { k0: agentId } };
    case 'PULLED':
      return { type: 'IMAGE_PULLED', now, agentId, attempt: 1 };
    case 'CREATING':
      return { type: 'KERNEL_CREATING', now, agentId, kernelId: 'k0', attempt: 1 };
    case 'STARTED':
      return { type: 'KERNEL_STARTED', now, agentId, kernelId: 'k0', attempt: 1 };
    default:
      return { type: name, now } as SessionEvent;
  }
}

/** The writes taking the template session to `events`; only the last keeps its outbox rows. */
function templateWrites(events: string[], keepOutbox: boolean): TransitionWrite[] {
  const input = {
    id: TEMPLATE_ID,
    owner: 'u1',
    image: 'python:3.12',
    kernels: [{ slots: { cpu: 1000, mem: 1024 } }],
  };
  const { spec } = normalizeSubmit(input, { now: T0, newId: () => TEMPLATE_ID });
  let { next: snapshot, effects } = startSession({ spec, policy: defaultPolicy, seed: 1, now: T0 });
  const writes = [planWrite(rowColumns(snapshot, T0), 0, effects).write];
  events.forEach((name, index) => {
    const now = T0 + index + 1;
    ({ next: snapshot, effects } = decideEvent(snapshot, event(name, now)));
    writes.push(planWrite(rowColumns(snapshot, now), writes.length, effects).write);
  });
  for (const write of writes.slice(0, keepOutbox ? -1 : undefined)) write.outbox = [];
  return writes;
}

/** One template per state: its session row, outbox rows and timers, as the store keeps them. */
export async function templates() {
  const out = [];
  for (const state of STATES) {
    const store = new MemoryStore();
    await store.transaction((tx) =>
      tx.putAgent({ id: TEMPLATE_AGENT, capacity: AGENT_CAPACITY, schedulable: true }),
    );
    await store.transaction(async (tx) => {
      for (const write of templateWrites(state.events, state.keepOutbox)) await tx.apply(write);
    });
    const rows = await store.transaction(async (tx) => ({
      session: (await tx.getSessions([TEMPLATE_ID]))[0]!,
      outbox: await tx.dueOutbox(Number.MAX_SAFE_INTEGER, 100),
      timers: await tx.dueTimers(Number.MAX_SAFE_INTEGER, 100),
    }));
    out.push({ ...state, ...rows });
  }
  return out;
}

export type Template = Awaited<ReturnType<typeof templates>>[number];

/** JSON text of `value` with the template's session and agent ids replaced. */
function clone(text: string, id: string, agent: string): string {
  return text.replaceAll(TEMPLATE_ID, id).replaceAll(TEMPLATE_AGENT, agent);
}

function sessionRecord(t: Template, id: string, agent: string) {
  const s = t.session;
  const held = s.holds[TEMPLATE_AGENT];
  return {
    id,
    owner: s.owner,
    priority: s.priority,
    status: s.status,
    substate: s.substate,
    version: s.version,
    submitted_at: s.submittedAt,
    updated_at: s.updatedAt,
    hc: held?.cpu ?? 0,
    hm: held?.mem ?? 0,
    holds: JSON.parse(clone(JSON.stringify(s.holds), id, agent)),
    // As the store writes a snapshot: its fixed part in a column of its own.
    ...splitSnapshot(JSON.parse(clone(JSON.stringify(s.snapshot), id, agent))),
  };
}

const INSERT_SESSIONS = `INSERT INTO sessions (id, owner, priority, status, substate, version,
  submitted_at, updated_at, held_cpu, held_mem, holds, snapshot, fixed)
  SELECT id, owner, priority, status, substate, version, submitted_at, updated_at, hc, hm,
    holds, snapshot, fixed FROM json_to_recordset($1::text::json) AS v(id text, owner text,
    priority double precision, status text, substate text, version integer,
    submitted_at double precision, updated_at double precision, hc bigint, hm bigint,
    holds json, snapshot text, fixed text)`;
const INSERT_OUTBOX = `INSERT INTO outbox (key, session_id, agent_id, effect, due_at, tries,
    session_version)
  SELECT k, s, a, e, due, 0, sv FROM json_to_recordset($1::text::json)
    AS v(k text, s text, a text, e json, due double precision, sv integer)`;
const INSERT_TIMERS = `INSERT INTO timers (session_id, timer_id, event, due_at)
  SELECT s, t, e, due FROM json_to_recordset($1::text::json)
    AS v(s text, t text, e text, due double precision)`;

/** Clones the templates into `count` sessions on `AGENTS` agents; returns the counts seeded. */
export async function seed(url: string, count: number, all: Template[]) {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const slots = all.flatMap((t) => Array.from({ length: t.share }, () => t));
  const reserved = new Map<string, number>();
  const counts = { sessions: 0, outbox: 0, timers: 0, creating: 0 };
  try {
    for (let from = 0; from < count; from += 5_000) {
      const sessions = [];
      const outbox = [];
      const timers = [];
      for (let index = from; index < Math.min(count, from + 5_000); index += 1) {
        const t = slots[index % slots.length]!;
        const id = `s-${String(index).padStart(8, '0')}`;
        const agent = `a-${String(index % AGENTS).padStart(4, '0')}`;
        sessions.push(sessionRecord(t, id, agent));
        reserved.set(
          agent,
          (reserved.get(agent) ?? 0) + (t.session.holds[TEMPLATE_AGENT]?.cpu ?? 0),
        );
        for (const o of t.outbox)
          outbox.push({
            k: clone(o.key, id, agent),
            s: id,
            a: agent,
            e: JSON.parse(clone(JSON.stringify(o.effect), id, agent)),
            due: o.dueAt,
            sv: o.sessionVersion ?? null,
          });
        for (const r of t.timers) timers.push({ s: id, t: r.timerId, e: r.event, due: r.dueAt });
        if (t.session.status === 'CREATING') counts.creating += 1;
      }
      await pool.query(INSERT_SESSIONS, [JSON.stringify(sessions)]);
      if (outbox.length > 0) await pool.query(INSERT_OUTBOX, [JSON.stringify(outbox)]);
      if (timers.length > 0) await pool.query(INSERT_TIMERS, [JSON.stringify(timers)]);
      counts.sessions += sessions.length;
      counts.outbox += outbox.length;
      counts.timers += timers.length;
    }
    for (let index = 0; index < AGENTS; index += 1) {
      const id = `a-${String(index).padStart(4, '0')}`;
      const cpu = reserved.get(id) ?? 0;
      await pool.query(
        `INSERT INTO agents (id, schedulable, cpu_capacity, mem_capacity, cpu_reserved,
          mem_reserved)
        VALUES ($1, true, $2, $3, $4, $5)`,
        [id, AGENT_CAPACITY.cpu, AGENT_CAPACITY.mem, cpu, (cpu / 1000) * 1024],
      );
    }
    await pool.query('VACUUM ANALYZE');
  } finally {
    await pool.end();
  }
  return counts;
}
