/**
 * Decides a batch of writes in memory, against rows locked for this transaction: version checks,
 * releases, capacity checks, in write order, exactly as `apply` one by one would. The result is
 * one result per write and the net rows to write, which `apply.ts` sends in one statement.
 */
import { add, slotAmount, sub, sum } from '../../../core/slots.js';
import type { Slots } from '../../../core/types.js';
import type {
  ApplyResult,
  HistoryRow,
  OutboxRow,
  SessionRow,
  TimerRow,
  TransitionWrite,
} from '../../../manager/ports.js';
import { badVersion, releaseExceedsReserved, unknownAgent } from '../errors.js';

type Refusal = Exclude<ApplyResult, { ok: true }>;

/** An agent row as locked: whether it takes placements, capacity and reserved slots. */
export interface LockedAgent {
  schedulable: boolean;
  capacity: Slots;
  reserved: Slots;
}

/** A row a batch writes for one of its sessions: `w` is the id of that write's session. */
export interface Owned<T> {
  w: string;
  row: T;
}

/** What a batch writes once decided. */
export interface BatchPlan {
  results: ApplyResult[];
  /** Final row per session id touched by an accepted write. */
  sessions: Map<string, SessionRow>;
  /** Version before the batch of each existing session it updates (the SQL re-checks it). */
  base: Map<string, number>;
  /** Ids absent when the batch began (their final row is an insert). */
  created: Set<string>;
  /** Final reserved slots per agent whose reservations changed. */
  reserved: Map<string, Slots>;
  history: Owned<HistoryRow>[];
  /** New outbox rows by key (the first row of a key wins). */
  outbox: Map<string, Owned<OutboxRow>>;
  /** Net timer changes by `sessionId \0 timerId`: a row to set, or null to delete. */
  timers: Map<string, Owned<TimerRow | null>>;
}

/** Throws `StoreInvariantError` for a write whose next version is not expectedVersion + 1. */
export function checkVersions(writes: readonly TransitionWrite[]): void {
  for (const { session, expectedVersion } of writes) {
    if (session.version !== expectedVersion + 1) {
      throw badVersion(session.id, expectedVersion, session.version);
    }
  }
}

/** Session ids and agent ids a batch touches, sorted (the order locks are taken in). */
export function touched(writes: readonly TransitionWrite[]): {
  sessions: string[];
  agents: string[];
} {
  const sessions = new Set<string>();
  const agents = new Set<string>();
  for (const write of writes) {
    sessions.add(write.session.id);
    for (const { agentId } of write.release) agents.add(agentId);
    for (const { agentId } of write.reserve) agents.add(agentId);
  }
  const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return { sessions: [...sessions].sort(byCodeUnit), agents: [...agents].sort(byCodeUnit) };
}

function releaseAll(write: TransitionWrite, current: (id: string) => Slots | undefined) {
  const next = new Map<string, Slots>();
  write.release.forEach(({ agentId, slots }, index) => {
    const held = next.get(agentId) ?? current(agentId);
    if (held === undefined) throw unknownAgent(`release[${index}].agentId`, agentId);
    for (const slot of Object.keys(slots)) {
      const requested = slotAmount(slots, slot);
      const have = slotAmount(held, slot);
      if (requested > have) throw releaseExceedsReserved(index, agentId, slot, requested, have);
    }
    next.set(agentId, sub(held, slots));
  });
  return next;
}

function capacityRefusal(agentId: string, capacity: Slots, held: Slots, need: Slots) {
  for (const slot of Object.keys(need)) {
    const requested = slotAmount(need, slot);
    const free = Math.max(0, slotAmount(capacity, slot) - slotAmount(held, slot));
    if (requested > free) {
      return { ok: false, conflict: 'capacity', agentId, slot, requested, free } as const;
    }
  }
  return undefined;
}

/**
 * The reserved slots per agent after this write's releases and reservations, or the refusal.
 * Releases come first, so a write may move a reservation within one agent.
 */
function reservations(
  write: TransitionWrite,
  agents: Map<string, LockedAgent>,
  reserved: Map<string, Slots>,
): Map<string, Slots> | Refusal {
  const current = (id: string) => reserved.get(id) ?? agents.get(id)?.reserved;
  const next = releaseAll(write, current);
  for (const { agentId, slots } of write.reserve) {
    const agent = agents.get(agentId);
    if (agent === undefined) return { ok: false, conflict: 'unknown-agent', agentId };
    if (!agent.schedulable) return { ok: false, conflict: 'unschedulable', agentId };
    const held = next.get(agentId) ?? (current(agentId) as Slots);
    const refusal = capacityRefusal(agentId, agent.capacity, held, slots);
    if (refusal !== undefined) return refusal;
    next.set(agentId, add(held, slots));
  }
  return next;
}

const timerKey = (sessionId: string, timerId: string) => `${sessionId}\u0000${timerId}`;

function record(plan: BatchPlan, write: TransitionWrite): void {
  const w = write.session.id;
  plan.sessions.set(w, write.session);
  for (const row of write.history) plan.history.push({ w, row });
  for (const row of write.outbox)
    if (!plan.outbox.has(row.key)) plan.outbox.set(row.key, { w, row });
  for (const timerId of write.timersCancelled)
    plan.timers.set(timerKey(w, timerId), { w, row: null });
  for (const row of write.timersSet)
    plan.timers.set(timerKey(row.sessionId, row.timerId), { w, row });
}

/**
 * Decides every write in order. `versions` holds the locked version of each existing session;
 * `agents` the locked agents the batch names. Throws `StoreInvariantError` for a caller bug.
 */
export function planBatch(
  writes: readonly TransitionWrite[],
  versions: Map<string, number>,
  agents: Map<string, LockedAgent>,
): BatchPlan {
  const plan: BatchPlan = {
    results: [],
    sessions: new Map(),
    base: new Map(),
    created: new Set(),
    reserved: new Map(),
    history: [],
    outbox: new Map(),
    timers: new Map(),
  };
  for (const write of writes) {
    const { id } = write.session;
    const actual = versions.get(id);
    if (actual !== (write.expectedVersion === 0 ? undefined : write.expectedVersion)) {
      plan.results.push({ ok: false, conflict: 'version', actual });
      continue;
    }
    const next = reservations(write, agents, plan.reserved);
    if (!(next instanceof Map)) {
      plan.results.push(next);
      continue;
    }
    for (const [agentId, slots] of next) plan.reserved.set(agentId, slots);
    if (actual === undefined) plan.created.add(id);
    else if (!plan.base.has(id)) plan.base.set(id, actual);
    versions.set(id, write.session.version);
    record(plan, write);
    plan.results.push({ ok: true });
  }
  return plan;
}

/** Total slots a session holds over all its agents (kept in columns for `ownerUsage`). */
export function heldTotal(session: SessionRow): Slots {
  return sum(Object.values(session.holds));
}
