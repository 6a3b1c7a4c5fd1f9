/**
 * A manager on a manual clock, a memory store and simulated agents, driven in virtual time, plus
 * the leak check every scenario ends with.
 */
import { expect } from 'vitest';
import type { FaultRates } from '../src/adapters/agents/faults.js';
import { type Latencies, SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { restore } from '../src/core/persist.js';
import { add } from '../src/core/slots.js';
import type { Slots, Status } from '../src/core/types.js';
import { ManualClock } from '../src/manager/clock.js';
import { type LogEntry, recordingLogger } from '../src/manager/logger.js';
import { createSessionManager } from '../src/manager/manager.js';
import type { AgentClient, AgentRow, SessionRow, SessionStore } from '../src/manager/ports.js';
import type {
  PickerName,
  PlacementLimits,
  SelectorName,
  SessionManager,
  SessionView,
  SubmitSpec,
  TickSummary,
  TransitionNotice,
} from '../src/manager/types.js';
import { defaultPolicy } from '../src/policy/defaults.js';
import { seededRandom } from '../src/policy/random.js';
import type { RetryPolicy } from '../src/policy/types.js';

export interface HarnessOptions {
  agents?: { id: string; capacity: Slots }[];
  policy?: RetryPolicy;
  limits?: PlacementLimits;
  picker?: PickerName;
  selector?: SelectorName;
  latencies?: Partial<Latencies>;
  faults?: FaultRates;
  /** Sessions per stage batch (default: the manager's). */
  batchSize?: number;
  /** The store to run on (default: a fresh `MemoryStore`). */
  store?: SessionStore;
  /** Seed of the simulated fleet's faults (default 1). */
  seed?: number;
  /** Whether the memory store copies rows (default true, as a database would). */
  copyRows?: boolean;
  /** Wraps the simulated fleet before the manager gets it (to make calls misbehave). */
  wrapAgents?: (agents: SimulatedAgents) => AgentClient;
}

export interface Harness {
  clock: ManualClock;
  /** A `MemoryStore` unless the harness was given another store. */
  store: MemoryStore;
  agents: SimulatedAgents;
  manager: SessionManager;
  logs: LogEntry[];
  notices: TransitionNotice[];
  ticks: TickSummary[];
}

/** 4 CPUs, 16 GiB, one GPU: room for a few of the sessions `spec` makes. */
export const AGENT_CAPACITY: Slots = { cpu: 4000, mem: 16384, 'cuda.device': 1 };

/** A fast policy so scenarios take few virtual seconds; jitter off for exact timings. */
export const testPolicy: RetryPolicy = {
  ...defaultPolicy,
  pull: { ...defaultPolicy.pull, initialDelayMs: 1_000, jitter: 'none', recheckMs: 60_000 },
  create: { ...defaultPolicy.create, initialDelayMs: 1_000, jitter: 'none', recheckMs: 60_000 },
};

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new ManualClock(1_000_000);
  const store = options.store ?? new MemoryStore({ copyRows: options.copyRows ?? true });
  const agents = new SimulatedAgents({
    clock,
    seed: options.seed ?? 1,
    latencies: options.latencies ?? {},
    faults: options.faults ?? {},
  });
  const logger = recordingLogger();
  const manager = createSessionManager({
    store,
    agents: options.wrapAgents ? options.wrapAgents(agents) : agents,
    clock,
    logger,
    policy: options.policy ?? testPolicy,
    // Reproducible ids and jitter (the manager's own default is Math.random).
    random: seededRandom(1),
    limits: options.limits ?? {},
    picker: options.picker ?? 'fifo',
    selector: options.selector ?? 'concentrated',
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  });
  const notices: TransitionNotice[] = [];
  manager.subscribe((notice) => notices.push(notice));
  const fleet = options.agents ?? [{ id: 'a1', capacity: AGENT_CAPACITY }];
  for (const agent of fleet) {
    agents.addAgent(agent);
    await manager.registerAgent({ ...agent, schedulable: true });
  }
  // `reserved` and `agentRows` need MemoryStore only for their synchronous form.
  const memory = store as MemoryStore;
  return { clock, store: memory, agents, manager, logs: logger.entries, notices, ticks: [] };
}

/** The statuses a session passes through on its way to RUNNING, in order. */
export const HAPPY_PATH = ['PENDING', 'SCHEDULED', 'PREPARING', 'PREPARED', 'CREATING', 'RUNNING'];

/** One kernel of 1 CPU / 1 GiB, owner alice, image `img:1`. */
export function spec(patch: Partial<SubmitSpec> = {}): SubmitSpec {
  return {
    owner: 'alice',
    image: 'img:1',
    kernels: [{ slots: { cpu: 1000, mem: 1024 } }],
    ...patch,
  };
}

/** Delivers due reports and runs one tick at the current time. */
export async function tick(h: Harness): Promise<TickSummary> {
  h.agents.deliverDue(h.clock.now());
  const summary = await h.manager.tick();
  h.ticks.push(summary);
  return summary;
}

/** The earliest time anything is due: a timer, an outbox row or an agent report. */
export async function nextDue(h: Harness): Promise<number | undefined> {
  const due = await h.store.transaction((tx) => tx.nextDue());
  const times = [due.timer, due.outbox, h.agents.nextDueAt()].filter(
    (time): time is number => time !== undefined,
  );
  return times.length === 0 ? undefined : Math.min(...times);
}

/**
 * Ticks in virtual time until `done` holds (checked after each tick), or nothing is left to do
 * and `done` is absent. Ticks again at the same time while a tick changed something; otherwise
 * moves the clock to the next due time. Fails after `maxTicks`.
 */
export async function runUntil(
  h: Harness,
  done?: () => Promise<boolean>,
  maxTicks = 500,
): Promise<void> {
  for (let count = 0; count < maxTicks; count += 1) {
    const summary = await tick(h);
    if (done && (await done())) return;
    if (summary.transitions > 0 || summary.dispatched > 0) continue;
    const next = await nextDue(h);
    if (next === undefined) {
      if (done) throw new Error('nothing left to do and the condition never held');
      return;
    }
    if (next > h.clock.now()) h.clock.set(next);
  }
  throw new Error(`still running after ${maxTicks} ticks`);
}

/** Runs until the session is in `status`. */
export function runUntilStatus(h: Harness, id: string, status: Status, maxTicks = 500) {
  return runUntil(h, async () => (await view(h, id)).status === status, maxTicks);
}

/** Runs until the session has been in `status` (it may have moved on within the same tick). */
export function runUntilReached(h: Harness, id: string, status: Status, maxTicks = 500) {
  return runUntil(
    h,
    async () => (await view(h, id)).history.some((row) => row.to === status),
    maxTicks,
  );
}

export async function view(h: Harness, id: string): Promise<SessionView> {
  const found = await h.manager.get(id);
  if (!found) throw new Error(`no session ${id}`);
  return found;
}

export function reserved(h: Harness, agentId: string): Slots {
  const agent = h.store.stats().agents.find((candidate) => candidate.id === agentId);
  if (!agent) throw new Error(`no agent ${agentId}`);
  return agent.reserved;
}

/** The agent rows, read through a transaction (works on every store). */
export function agentRows(h: Harness): Promise<AgentRow[]> {
  return h.store.transaction((tx) => tx.agents());
}

/** `reserved`, through a transaction (works on every store). */
export async function reservedOn(h: Harness, agentId: string): Promise<Slots> {
  const agent = (await agentRows(h)).find((candidate) => candidate.id === agentId);
  if (!agent) throw new Error(`no agent ${agentId}`);
  return agent.reserved;
}

async function allRows(h: Harness): Promise<SessionRow[]> {
  return h.store.transaction(async (tx) => tx.getSessions([...(await tx.statuses()).keys()]));
}

const KERNEL_HOLDING: readonly Status[] = ['RUNNING', 'CREATING', 'TERMINATING'];

/**
 * The leak check: every agent's reserved slots equal the sum of what live sessions hold on it,
 * and every live kernel belongs to the current attempt of a session that may have kernels.
 */
export async function expectNoLeaks(h: Harness): Promise<void> {
  const rows = await allRows(h);
  const held = new Map<string, Slots>();
  for (const row of rows) {
    for (const [agentId, slots] of Object.entries(row.holds)) {
      held.set(agentId, add(held.get(agentId) ?? {}, slots));
    }
  }
  for (const agent of await agentRows(h)) {
    expect(agent.reserved, `reserved on ${agent.id}`).toEqual(held.get(agent.id) ?? {});
  }
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const kernel of h.agents.liveKernels()) {
    const row = byId.get(kernel.sessionId);
    const label = `live kernel ${kernel.kernelId} of ${kernel.sessionId} on ${kernel.agentId}`;
    expect(row && KERNEL_HOLDING.includes(row.status), `${label}: session ${row?.status}`).toBe(
      true,
    );
    const owned = restore(row?.snapshot).context.kernels.find(
      (candidate) => candidate.id === kernel.kernelId,
    );
    expect({ agentId: owned?.agentId, attempt: owned?.attempt }, label).toEqual({
      agentId: kernel.agentId,
      attempt: kernel.attempt,
    });
  }
}

/** A session that may own kernels is always owned: a timer or an outbox row exists for it. */
export async function expectCreatingOwned(h: Harness): Promise<void> {
  const { timers, outbox, creating } = await h.store.transaction(async (tx) => ({
    timers: await tx.dueTimers(Number.MAX_SAFE_INTEGER, 1_000_000),
    outbox: await tx.dueOutbox(Number.MAX_SAFE_INTEGER, 1_000_000),
    creating: await tx.claimSessions(['CREATING'], 1_000_000),
  }));
  for (const row of creating) {
    const owned =
      timers.some((timer) => timer.sessionId === row.id) ||
      outbox.some((entry) => entry.sessionId === row.id);
    expect(owned, `${row.id} in CREATING.${row.substate} has no timer and no outbox row`).toBe(
      true,
    );
  }
}

/** The statuses a session went through, from its history rows (substate changes collapsed). */
export function statusPath(session: SessionView): Status[] {
  const path: Status[] = [];
  for (const row of session.history) if (path.at(-1) !== row.to) path.push(row.to);
  return path;
}
