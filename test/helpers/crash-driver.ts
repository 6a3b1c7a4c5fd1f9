/**
 * Drives a workload through one or more manager processes on one PostgreSQL database, in
 * virtual time the test process owns, like the replay driver does in one process. A manager
 * process that dies (a planned SIGKILL, see `KillPlan`) is restarted and runs `recover()`; the
 * step it was in is repeated (a repeated submit finds the session already stored).
 */
import pg from 'pg';
import { openPostgresStore } from '../../src/adapters/store/sql/postgres.js';
import type { SqlStore } from '../../src/adapters/store/sql/store.js';
import type { AgentEffect } from '../../src/core/effects.js';
import type { AgentCallResult, AgentReport, InspectResult } from '../../src/manager/ports.js';
import type { SubmitSpec, TickSummary } from '../../src/manager/types.js';
import { seededRandom } from '../../src/policy/random.js';
import type { Workload } from '../../src/workload/types.js';
import type { CrashFleet } from './crash-fleet.js';
import { ManagerProcess, ProcessGone, WorkerFailure } from './crash-process.js';

/** When to kill: after a seeded number of agent calls, `target` times in all. */
export interface KillPlan {
  target: number;
  /** Agent calls between two kills: uniform in [min, max]. */
  gap: { min: number; max: number };
}

/** What the database held right after one kill. */
export interface KillRecord {
  /**
   * `before-answer`: killed while its agent call was unanswered; `after-answer`: a few ms
   * later.
   */
  mode: 'before-answer' | 'after-answer';
  call: AgentEffect['type'];
  /** The call's idempotency key and the virtual time of the kill. */
  key: string;
  at: number;
  outbox: number;
  creating: number;
  /** Sessions neither RUNNING nor final. */
  moving: number;
}

export interface DriveOptions {
  url: string;
  fleet: CrashFleet;
  workload: Workload;
  /** Session id -> virtual ms after its arrival at which it is terminated. */
  terminations: Map<string, number>;
  /** Manager processes running at once. */
  managers: number;
  seed: number;
  batchSize: number;
  kills?: KillPlan;
  /** Virtual ms between rounds while sessions move. Default 1000. */
  tickMs?: number;
  /** Virtual ms allowed after the start. Default 24 h. */
  horizonMs?: number;
  /** After every round, count agents reserved over capacity in the database. Default false. */
  watchCapacity?: boolean;
}

export interface DriveResult {
  stop: 'settled' | 'horizon';
  kills: KillRecord[];
  /** Manager processes started, the first ones included. */
  starts: number;
  ticks: number;
  /** Transitions each manager slot committed in its ticks. */
  transitions: number[];
  /** Rounds in which more than one manager committed transitions. */
  sharedRounds: number;
  /** Submits that found the session already stored (a submit repeated after a kill). */
  resubmitted: number;
  /** Warnings and errors logged by the managers, by message. */
  logs: Map<string, number>;
  /** Ids whose submit was answered. */
  acknowledged: Set<string>;
  /** Agent calls the managers sent, per idempotency key (answered or not). */
  sent: Map<string, number>;
  /** Most agents found over capacity after one round (with `watchCapacity`). */
  overCapacity: number;
}

const FINAL_OR_RUNNING = `('RUNNING', 'TERMINATED', 'CANCELLED', 'ERROR')`;

export class CrashDriver {
  private readonly random: () => number;
  private readonly procs: ManagerProcess[] = [];
  private readonly pool: pg.Pool;
  private store!: SqlStore;
  private nextArrival = 0;
  private ends: { at: number; id: string }[] = [];
  private calls = 0;
  private killAt = Number.POSITIVE_INFINITY;
  private killing: Promise<void> | undefined;
  private ticksSinceStart = 0;
  private readonly startedAt: number;
  private readonly result: DriveResult;

  constructor(private readonly options: DriveOptions) {
    this.random = seededRandom(options.seed);
    this.startedAt = options.fleet.clock.now();
    this.pool = new pg.Pool({ connectionString: options.url, max: 2 });
    this.result = {
      stop: 'settled',
      kills: [],
      starts: 0,
      ticks: 0,
      transitions: Array.from({ length: options.managers }, () => 0),
      sharedRounds: 0,
      resubmitted: 0,
      logs: new Map(),
      acknowledged: new Set(),
      sent: new Map(),
      overCapacity: 0,
    };
    options.fleet.agents.onReport((report) => this.route(report));
  }

  /** Registers the agents, runs the workload to the end, stops the managers. */
  async run(): Promise<DriveResult> {
    this.store = await openPostgresStore({ connectionString: this.options.url });
    try {
      for (let slot = 0; slot < this.options.managers; slot += 1) await this.start(slot, false);
      await this.registerAgents();
      this.armNextKill();
      await this.loop();
      return this.result;
    } finally {
      await Promise.all(this.procs.map((proc) => this.collectLogs(proc).stop()));
      await this.store.close();
      await this.pool.end();
    }
  }

  private get clock() {
    return this.options.fleet.clock;
  }

  private async registerAgents(): Promise<void> {
    for (const agent of this.options.workload.agents) {
      this.options.fleet.agents.addAgent(agent);
      await this.procs[0]!.request(this.clock.now(), { kind: 'register', agent });
    }
  }

  private async loop(): Promise<void> {
    const tickMs = this.options.tickMs ?? 1000;
    const cutoff = this.clock.now() + (this.options.horizonMs ?? 86_400_000);
    for (;;) {
      const now = this.clock.now();
      await this.guard(() => this.submitDue(now));
      await this.guard(() => this.terminateDue(now));
      this.options.fleet.agents.deliverDue(now);
      const rounds = await this.guard(() => this.tickAll(now));
      const busy = rounds.some((r) => r.transitions + r.dispatched + r.timersFired > 0);
      if (this.options.watchCapacity) await this.checkCapacity();
      const next = await this.nextTime(now, busy ? now + tickMs : undefined);
      if (next === undefined) return;
      if (next > cutoff) {
        this.result.stop = 'horizon';
        return;
      }
      this.clock.set(next);
    }
  }

  private async tickAll(now: number): Promise<TickSummary[]> {
    const rounds = await Promise.all(this.procs.map((proc) => proc.tick(now)));
    rounds.forEach((round, slot) => {
      this.result.transitions[slot]! += round.transitions;
    });
    this.result.ticks += 1;
    if (rounds.filter((round) => round.transitions > 0).length > 1) this.result.sharedRounds += 1;
    this.ticksSinceStart += 1;
    return rounds;
  }

  /** Runs `step`; if a manager died meanwhile, restarts the dead ones and runs it again. */
  private async guard<T>(step: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await step();
      } catch (error) {
        if (!(error instanceof ProcessGone)) throw error;
        await this.restartDead();
      }
    }
  }

  private async restartDead(): Promise<void> {
    await this.killing;
    for (const [slot, proc] of this.procs.entries()) {
      if (proc.isAlive) continue;
      this.collectLogs(proc);
      await this.guard(() => this.start(slot, true));
    }
  }

  /** Starts the manager of `slot`: opens the store and, after a crash, recovers. */
  private async start(slot: number, recover: boolean): Promise<void> {
    this.result.starts += 1;
    const managerId = `m${slot}-${this.result.starts}`;
    const proc = new ManagerProcess(managerId, (effect, from) => this.onCall(effect, from));
    this.procs[slot] = proc;
    this.ticksSinceStart = 0;
    const { url, batchSize, seed } = this.options;
    const now = this.clock.now();
    await proc.request(now, { kind: 'open', url, managerId, seed: seed + slot, batchSize });
    if (recover) await proc.request(now, { kind: 'recover' });
  }

  private async submitDue(now: number): Promise<void> {
    const { sessions } = this.options.workload;
    for (; this.nextArrival < sessions.length; this.nextArrival += 1) {
      const session = sessions[this.nextArrival]!;
      if (this.arrivalTime(this.nextArrival) > now) break;
      const proc = this.procs[this.nextArrival % this.procs.length]!;
      const id = await this.submitOne(proc, now, session.spec);
      this.result.acknowledged.add(id);
      const after = this.options.terminations.get(id);
      if (after !== undefined) this.addEnd(now + after, id);
    }
  }

  private async submitOne(proc: ManagerProcess, now: number, spec: SubmitSpec): Promise<string> {
    try {
      return String(await proc.request(now, { kind: 'submit', spec }));
    } catch (error) {
      if (!(error instanceof WorkerFailure) || error.code !== 'duplicate-session') throw error;
      this.result.resubmitted += 1;
      return spec.id!;
    }
  }

  private arrivalTime(index: number): number {
    return this.startedAt + this.options.workload.sessions[index]!.arrivalMs;
  }

  private addEnd(at: number, id: string): void {
    this.ends.push({ at, id });
    this.ends.sort((a, b) => a.at - b.at);
  }

  private async terminateDue(now: number): Promise<void> {
    while (this.ends.length > 0 && this.ends[0]!.at <= now) {
      const end = this.ends.shift()!;
      const proc = this.procs[Math.floor(this.random() * this.procs.length)]!;
      try {
        await proc.request(now, { kind: 'terminate', id: end.id });
      } catch (error) {
        if (error instanceof ProcessGone) this.ends.unshift(end);
        // A session that kept changing under another manager: try again next round.
        if (!(error instanceof WorkerFailure) || error.code !== undefined) throw error;
        this.addEnd(now + 1, end.id);
      }
    }
  }

  private async nextTime(now: number, tickAt: number | undefined): Promise<number | undefined> {
    const due = await this.store.transaction((tx) => tx.nextDue());
    const { sessions } = this.options.workload;
    const candidates = [
      this.nextArrival < sessions.length ? this.arrivalTime(this.nextArrival) : undefined,
      this.ends[0]?.at,
      this.options.fleet.agents.nextDueAt(),
      due.timer,
      due.outbox,
      tickAt,
    ].filter((at): at is number => at !== undefined);
    if (candidates.length === 0) return undefined;
    return Math.max(Math.min(...candidates), now + 1);
  }

  /** Reports go to a live manager, chosen at random when there are several. */
  private route(report: AgentReport): void {
    const alive = this.procs.filter((proc) => proc.isAlive);
    if (alive.length === 0) return;
    const proc = alive[Math.floor(this.random() * alive.length)]!;
    proc.report(this.clock.now(), report);
  }

  private async onCall(
    effect: AgentEffect,
    from: ManagerProcess,
  ): Promise<AgentCallResult | InspectResult | 'no-answer'> {
    this.calls += 1;
    this.result.sent.set(effect.key, (this.result.sent.get(effect.key) ?? 0) + 1);
    const armed = this.calls >= this.killAt && this.ticksSinceStart > 0 && !this.killing;
    if (!armed) return this.options.fleet.call(effect);
    this.killAt = Number.POSITIVE_INFINITY;
    if (this.random() < 0.5) {
      this.killing = this.kill(from, 'before-answer', effect);
      return 'no-answer';
    }
    const result = await this.options.fleet.call(effect);
    const delayMs = Math.floor(this.random() * 30);
    this.killing = new Promise((done) => setTimeout(done, delayMs)).then(() =>
      this.kill(from, 'after-answer', effect),
    );
    return result;
  }

  private armNextKill(): void {
    const plan = this.options.kills;
    if (!plan || this.result.kills.length >= plan.target) {
      this.killAt = Number.POSITIVE_INFINITY;
      return;
    }
    const { min, max } = plan.gap;
    this.killAt = this.calls + min + Math.floor(this.random() * (max - min + 1));
  }

  private async kill(proc: ManagerProcess, mode: KillRecord['mode'], effect: AgentEffect) {
    await proc.kill();
    const { rows } = await this.pool.query(
      `SELECT (SELECT count(*) FROM outbox)::int AS outbox,
        (SELECT count(*) FROM sessions WHERE status = 'CREATING')::int AS creating,
        (SELECT count(*) FROM sessions WHERE status NOT IN ${FINAL_OR_RUNNING})::int AS moving`,
    );
    const { outbox, creating, moving } = rows[0] as Pick<
      KillRecord,
      'outbox' | 'creating' | 'moving'
    >;
    const at = this.clock.now();
    this.result.kills.push({
      mode,
      call: effect.type,
      key: effect.key,
      at,
      outbox,
      creating,
      moving,
    });
    this.killing = undefined;
    this.armNextKill();
  }

  private async checkCapacity(): Promise<void> {
    const { rows } = await this.pool.query(`SELECT count(*)::int AS n FROM agents
      WHERE cpu_reserved > cpu_capacity OR mem_reserved > mem_capacity
        OR cuda_device_reserved > cuda_device_capacity
        OR cuda_shares_reserved > cuda_shares_capacity`);
    this.result.overCapacity = Math.max(this.result.overCapacity, (rows[0] as { n: number }).n);
  }

  private collectLogs(proc: ManagerProcess): ManagerProcess {
    for (const [message, count] of proc.logs) {
      this.result.logs.set(message, (this.result.logs.get(message) ?? 0) + count);
    }
    proc.logs.clear();
    return proc;
  }
}
