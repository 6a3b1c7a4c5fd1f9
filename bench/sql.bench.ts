/**
 * Durable throughput on real PostgreSQL: sessions per second driven from PENDING to RUNNING by
 * one manager, every transition committed (synchronous_commit as the server has it), agents
 * simulated with zero latency and no faults. The sessions are stored PENDING first (in bulk,
 * not timed); the clock starts at the first tick and stops when the last one is RUNNING.
 * Baselines measured in the same run: the same through `MemoryStore`, and PostgreSQL with a
 * batch size of 1 (a commit per session per stage, no batching).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { openPostgresStore } from '../src/adapters/store/sql/postgres.js';
import type { Slots } from '../src/core/types.js';
import { ManualClock } from '../src/manager/clock.js';
import { rowColumns, startSession } from '../src/manager/core-bridge.js';
import { createSessionManager } from '../src/manager/manager.js';
import type { SessionStore, TransitionWrite } from '../src/manager/ports.js';
import { normalizeSubmit } from '../src/manager/spec.js';
import { planWrite } from '../src/manager/transition.js';
import { defaultPolicy } from '../src/policy/defaults.js';
import { seededRandom } from '../src/policy/random.js';
import { count } from './measure.js';
import type { BenchModule, BenchReport, BenchRow } from './types.js';

/** The server the benchmarks use (`PG_URL`, as the tests). */
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The target: 5,000 sessions/s (Nomad's C1M placed 3,750 containers/s). */
export const TARGET_SESSIONS_PER_SEC = 5_000;

const START = Date.UTC(2023, 5, 1);
const AGENTS = 200;
const AGENT_CAPACITY: Slots = { cpu: 1_000_000, mem: 4_000_000 };
const SESSION_SLOTS: Slots = { cpu: 1_000, mem: 1_024 };
const ZERO_LATENCY = {
  pulling: 0,
  pull: 0,
  pulled: 0,
  creating: 0,
  create: 0,
  destroy: 0,
  duplicate: 0,
};

/** A throwaway database on the `PG_URL` server. */
export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a random name; `drop()` removes it. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `sl_bench_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Whether the server answers; benchmarks that need it are skipped otherwise. */
export async function postgresReachable(): Promise<boolean> {
  try {
    await admin('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/** The server's durability settings, for the notes. */
export async function durability(): Promise<string> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const settings = ['server_version', 'fsync', 'synchronous_commit', 'wal_sync_method'];
    const values = [];
    for (const name of settings) {
      const { rows } = await client.query(`SHOW ${name}`);
      values.push(`${name}=${rows[0][name]}`);
    }
    return values.join(', ');
  } finally {
    await client.end();
  }
}

/** Stores `count` PENDING sessions in bulk, as `submit` would one by one. */
export async function seedPending(store: SessionStore, count: number, now: number): Promise<void> {
  const random = seededRandom(7);
  for (let from = 0; from < count; from += 1_000) {
    const writes: TransitionWrite[] = [];
    for (let index = from; index < Math.min(count, from + 1_000); index += 1) {
      const input = {
        id: `s-${String(index).padStart(7, '0')}`,
        owner: `u${index % 16}`,
        image: 'python:3.12',
        kernels: [{ slots: SESSION_SLOTS }],
      };
      const { spec } = normalizeSubmit(input, { now, newId: () => input.id });
      const seed = Math.floor(random() * 2 ** 32);
      const started = startSession({ spec, policy: defaultPolicy, seed, now });
      writes.push(planWrite(rowColumns(started.next, now), 0, started.effects).write);
    }
    await store.transaction(async (tx) => {
      if (tx.applyMany) await tx.applyMany(writes);
      else for (const write of writes) await tx.apply(write);
    });
  }
}

/** One run: `count` sessions to RUNNING through a manager on `store`; sessions per second. */
export async function driveToRunning(
  store: SessionStore,
  count: number,
  batchSize: number,
): Promise<{ perSecond: number; ms: number; cpuMs: number; ticks: number }> {
  const clock = new ManualClock(START);
  const agents = new SimulatedAgents({ clock, seed: 1, latencies: ZERO_LATENCY });
  const manager = createSessionManager({ store, agents, clock, batchSize, managerId: 'bench' });
  for (let index = 0; index < AGENTS; index += 1) {
    const id = `a-${String(index).padStart(4, '0')}`;
    agents.addAgent({ id, capacity: AGENT_CAPACITY });
    await manager.registerAgent({ id, capacity: AGENT_CAPACITY, schedulable: true });
  }
  await seedPending(store, count, clock.now());
  let running = 0;
  manager.subscribe((notice) => {
    if (notice.to === 'RUNNING') running += 1;
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  let ticks = 0;
  while (running < count) {
    agents.deliverDue(clock.now());
    await manager.tick();
    ticks += 1;
    clock.advance(1);
    if (ticks > 100_000) throw new Error(`only ${running} of ${count} sessions reached RUNNING`);
  }
  const ms = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  await manager.stop();
  return { perSecond: (count * 1000) / ms, ms, cpuMs: (user + system) / 1000, ticks };
}

interface Scenario {
  label: string;
  count: number;
  batchSize: number;
  open: () => Promise<{ store: SessionStore; done: () => Promise<void> }>;
}

function postgres(label: string, count: number, batchSize: number): Scenario {
  return {
    label,
    count,
    batchSize,
    open: async () => {
      const db = await createBenchDatabase();
      const store = await openPostgresStore({ connectionString: db.url });
      const done = async () => {
        await store.close();
        await db.drop();
      };
      return { store, done };
    },
  };
}

/** Sessions per measured run (`SQL_BENCH_SESSIONS` overrides, for a quick look). */
const SESSIONS = Number(process.env.SQL_BENCH_SESSIONS ?? 20_000);

const SCENARIOS: Scenario[] = [
  postgres('PostgreSQL, batch 1 (a commit per session per stage)', Math.min(SESSIONS, 1_000), 1),
  postgres('PostgreSQL, batch 500 (the default)', SESSIONS, 500),
  {
    label: 'MemoryStore, batch 500 (no I/O)',
    count: SESSIONS,
    batchSize: 500,
    open: async () => {
      const store = new MemoryStore();
      return { store, done: () => store.close() };
    },
  },
  {
    // The manager and the chart alone: the store neither copies rows in nor out.
    label: 'MemoryStore without row copies, batch 500 (the manager alone)',
    count: SESSIONS,
    batchSize: 500,
    open: async () => {
      const store = new MemoryStore({ copyRows: false });
      return { store, done: () => store.close() };
    },
  },
];

async function runScenario(scenario: Scenario) {
  const { store, done } = await scenario.open();
  try {
    return await driveToRunning(store, scenario.count, scenario.batchSize);
  } finally {
    await done();
  }
}

export const sqlBench: BenchModule = {
  name: 'sql',
  async run(): Promise<BenchReport> {
    const report: BenchReport = {
      name: 'sql',
      title: 'Sessions driven PENDING -> RUNNING, durably on PostgreSQL',
      unit: 'sessions',
      baseline: SCENARIOS[0]!.label,
      rows: [],
      notes: [],
    };
    if (!(await postgresReachable())) {
      report.notes.push(`skipped: no PostgreSQL answers at ${PG_URL} (set PG_URL)`);
      return report;
    }
    const figures = [];
    for (const scenario of SCENARIOS) figures.push({ scenario, ...(await runScenario(scenario)) });
    const base = figures[0]!.perSecond;
    report.rows = figures.map(
      ({ scenario, perSecond, ms, cpuMs, ticks }): BenchRow => ({
        label: scenario.label,
        opsPerSec: perSecond,
        ratio: perSecond / base,
        notes:
          `${count(scenario.count)} sessions in ${(ms / 1000).toFixed(2)} s ` +
          `(${(cpuMs / 1000).toFixed(2)} s of manager CPU), ${ticks} ticks`,
      }),
    );
    report.notes.push(
      `target: ${count(TARGET_SESSIONS_PER_SEC)} sessions/s on PostgreSQL ` +
        '(every transition committed)',
      `${AGENTS} agents, one 1-CPU kernel per session, zero agent latency, no faults; ` +
        (await durability()),
      'one run per row (a fresh database each); ' +
        'wall-clock time from the first tick to the last RUNNING',
    );
    return report;
  },
};
