/**
 * Recovery time on real PostgreSQL: 100,000 sessions caught in flight by a crash, then
 * `recover()` of a fresh manager, timed until it resolves. The database is seeded directly:
 * one template session per in-flight state is driven through the chart (decide, no agents) into
 * a MemoryStore, and its rows (session, unfinished outbox rows, timers) are cloned under new ids
 * with bulk INSERTs; agents get the reservations the clones hold. The agents answer at once
 * (every call accepted, every inspected kernel running). Baseline, measured on the same data:
 * merely reading the in-flight sessions and the outbox through the store.
 */
import { performance } from 'node:perf_hooks';
import { openPostgresStore } from '../src/adapters/store/sql/postgres.js';
import { ManualClock } from '../src/manager/clock.js';
import { createSessionManager } from '../src/manager/manager.js';
import type { AgentClient, SessionStore } from '../src/manager/ports.js';
import { count } from './measure.js';
import { AGENTS, STATES, seed, T0, templates } from './recovery-seed.js';
import { createBenchDatabase, durability, PG_URL, postgresReachable } from './sql.bench.js';
import type { BenchModule, BenchReport } from './types.js';

const seconds = (ms: number) => (ms / 1000).toFixed(2);

/** The target: recover 100,000 in-flight sessions in under 3 s. */
export const TARGET_RECOVERY_MS = 3_000;
/** Sessions seeded (`RECOVERY_BENCH_SESSIONS` overrides, for a quick look). */
const SESSIONS = Number(process.env.RECOVERY_BENCH_SESSIONS ?? 100_000);
/** Agents that answer every call at once: accepted, and every inspected kernel running. */
const instantAgents: AgentClient = {
  pullImages: async () => ({ ok: true }),
  createKernels: async () => ({ ok: true }),
  destroyKernels: async () => ({ ok: true }),
  inspectKernels: async (effect) => ({
    ok: true,
    kernels: Object.fromEntries(effect.kernelIds.map((id) => [id, 'running' as const])),
  }),
  onReport: () => {},
};

const IN_FLIGHT = [
  'PENDING',
  'SCHEDULED',
  'PREPARING',
  'PREPARED',
  'CREATING',
  'TERMINATING',
] as const;

/** The baseline: reads every in-flight session and every outbox row through the store. */
async function readAll(store: SessionStore): Promise<number> {
  const started = performance.now();
  await store.transaction(async (tx) => {
    await tx.claimSessions(IN_FLIGHT, 1_000_000);
    await tx.dueOutbox(Number.MAX_SAFE_INTEGER, 1_000_000);
  });
  return performance.now() - started;
}

async function timeRecovery(url: string) {
  const store = await openPostgresStore({ connectionString: url });
  try {
    const readMs = await readAll(store);
    const clock = new ManualClock(T0 + 60_000);
    const manager = createSessionManager({
      store,
      agents: instantAgents,
      clock,
      managerId: 'bench',
    });
    const cpu = process.cpuUsage();
    const started = performance.now();
    await manager.recover();
    const recoverMs = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    const left = await store.transaction(async (tx) => ({
      outbox: (await tx.dueOutbox(Number.MAX_SAFE_INTEGER, 1_000_000)).length,
      statuses: [...(await tx.statuses()).values()],
    }));
    return { readMs, recoverMs, cpuMs: (user + system) / 1000, left };
  } finally {
    await store.close();
  }
}

export const recoveryBench: BenchModule = {
  name: 'recovery',
  async run(): Promise<BenchReport> {
    const report: BenchReport = {
      name: 'recovery',
      title: `recover() of ${count(SESSIONS)} in-flight sessions on PostgreSQL`,
      unit: 'sessions',
      baseline: 'read the in-flight sessions and the outbox (no recovery)',
      rows: [],
      notes: [],
    };
    if (!(await postgresReachable())) {
      report.notes.push(`skipped: no PostgreSQL answers at ${PG_URL} (set PG_URL)`);
      return report;
    }
    const db = await createBenchDatabase();
    try {
      await (await openPostgresStore({ connectionString: db.url })).close();
      const counts = await seed(db.url, SESSIONS, await templates());
      const { readMs, recoverMs, cpuMs, left } = await timeRecovery(db.url);
      const creating = left.statuses.filter((s) => s === 'CREATING').length;
      report.rows = [
        {
          label: report.baseline,
          opsPerSec: (SESSIONS * 1000) / readMs,
          ratio: 1,
          notes: `${seconds(readMs)} s`,
        },
        {
          label: 'recover(): re-dispatch the outbox, verify CREATING sessions',
          opsPerSec: (SESSIONS * 1000) / recoverMs,
          ratio: readMs / recoverMs,
          notes:
            `${seconds(recoverMs)} s (target < ${TARGET_RECOVERY_MS / 1000} s), ` +
            `${seconds(cpuMs)} s of manager CPU`,
        },
      ];
      const mix = STATES.map((s) => `${s.share}% ${s.name}`).join(', ');
      report.notes.push(
        `seeded: ${count(counts.sessions)} sessions (${mix}), ${count(counts.outbox)} outbox ` +
          `rows, ${count(counts.timers)} timers, ${count(counts.creating)} CREATING; ` +
          `${AGENTS} agents`,
        `after recover(): ${left.outbox} outbox rows left, ${creating} sessions still CREATING`,
        `agents answer at once; batch size 500 (the default); ${await durability()}`,
      );
      return report;
    } finally {
      await db.drop();
    }
  },
};
