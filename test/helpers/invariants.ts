/**
 * Invariants of a running manager, checked against its store and a simulated fleet. Each check
 * returns a list of problems (empty when the invariant holds), so a test can assert `toEqual([])`
 * and read every problem at once.
 *
 * - Reservations: each agent's `reserved` equals the sum of the holds of live sessions on it,
 *   and a session in a final status holds nothing.
 * - Capacity: no agent has more reserved than its capacity, in any slot.
 * - Kernel ownership: every kernel that exists on a simulated agent is accounted for. It is
 *   *owned* when its session is not final and the session's current create request made it:
 *   the session binds that kernel id to that agent and the kernel's idempotency key is the key
 *   of the session's current create attempt in its current placement. It is *being destroyed*
 *   when a destroyKernels naming it (same agent, session, kernel id) was accepted by the agent
 *   after the createKernels that made it, or sits in the outbox waiting to be (re)dispatched.
 */
import type { CreateKernelsEffect, DestroyKernelsEffect } from '../../src/core/effects.js';
import { effectKey } from '../../src/core/keys.js';
import { restore } from '../../src/core/persist.js';
import { add, equals, fits, normalize, sum } from '../../src/core/slots.js';
import { FINAL_STATUSES, type Slots, type Status } from '../../src/core/types.js';
import { placeBatchNaive } from '../../src/manager/placement/batch.js';
import { isPlaced } from '../../src/manager/placement/types.js';
import type {
  AgentClient,
  AgentReport,
  AgentRow,
  OutboxRow,
  SessionRow,
  SessionStore,
} from '../../src/manager/ports.js';

/** Agents, sessions and outbox rows as one committed view of the store. */
export interface StoreView {
  agents: AgentRow[];
  sessions: SessionRow[];
  outbox: OutboxRow[];
}

/** Reads everything the checks need in one transaction (a consistent view). */
export async function readStore(store: SessionStore): Promise<StoreView> {
  return store.transaction(async (tx) => {
    const agents = await tx.agents();
    const sessions = await tx.getSessions([...(await tx.statuses()).keys()]);
    const outbox = await tx.dueOutbox(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    return { agents, sessions, outbox };
  });
}

function isFinal(status: Status): boolean {
  return (FINAL_STATUSES as readonly Status[]).includes(status);
}

/** Each agent's reserved slots equal the sum of what live sessions hold on it. */
export function reservationsMatchHolds(view: StoreView): string[] {
  const problems: string[] = [];
  const held = new Map<string, Slots>();
  for (const session of view.sessions) {
    const agents = Object.keys(session.holds);
    if (isFinal(session.status) && agents.length > 0) {
      problems.push(`${session.id} is ${session.status} but holds slots on ${agents.join(', ')}`);
    }
    for (const [agentId, slots] of Object.entries(session.holds)) {
      held.set(agentId, add(held.get(agentId) ?? {}, slots));
    }
  }
  for (const agent of view.agents) {
    const expected = held.get(agent.id) ?? {};
    if (!equals(agent.reserved, expected)) {
      const [got, want] = [JSON.stringify(agent.reserved), JSON.stringify(normalize(expected))];
      problems.push(`agent ${agent.id} has ${got} reserved but its sessions hold ${want}`);
    }
    held.delete(agent.id);
  }
  for (const agentId of held.keys())
    problems.push(`sessions hold slots on unknown agent ${agentId}`);
  return problems;
}

/** No agent has more reserved than its capacity. */
export function noAgentOverCapacity(view: StoreView): string[] {
  return view.agents
    .filter((agent) => !fits(agent.reserved, agent.capacity))
    .map(
      (agent) =>
        `agent ${agent.id} has ${JSON.stringify(agent.reserved)} reserved over capacity ` +
        `${JSON.stringify(agent.capacity)}`,
    );
}

/** A kernel instance that exists on an agent (what `SimulatedAgents.liveKernels` lists). */
export interface AgentKernel {
  agentId: string;
  sessionId: string;
  kernelId: string;
  attempt: number;
  key: string;
}

/**
 * An `AgentClient` wrapper that remembers, in call order, which create request made each kernel
 * and which accepted destroy requests named it: what "being destroyed" is judged from.
 */
export class CallRecorder {
  private seq = 0;
  private readonly createdAt = new Map<string, number>();
  private readonly destroyedAt = new Map<string, number>();

  /** Wraps `agents` so every call is recorded before it is passed on. */
  wrap(agents: AgentClient): AgentClient {
    return {
      pullImages: (effect) => agents.pullImages(effect),
      createKernels: (effect) => {
        this.created(effect);
        return agents.createKernels(effect);
      },
      inspectKernels: (effect) => agents.inspectKernels(effect),
      destroyKernels: async (effect) => {
        const result = await agents.destroyKernels(effect);
        // a refused destroy destroys nothing: only the outbox row (if kept) still counts
        if (result.ok) this.destroyed(effect);
        return result;
      },
      onReport: (listener: (report: AgentReport) => void) => agents.onReport(listener),
    };
  }

  private created(effect: CreateKernelsEffect): void {
    if (!this.createdAt.has(effect.key)) this.createdAt.set(effect.key, ++this.seq);
  }

  private destroyed(effect: DestroyKernelsEffect): void {
    const seq = ++this.seq;
    for (const kernelId of effect.kernelIds) {
      this.destroyedAt.set(instanceOf(effect.agentId, effect.sessionId, kernelId), seq);
    }
  }

  /** A destroy naming this kernel was dispatched after the create that made it. */
  destroyAsked(kernel: AgentKernel): boolean {
    const destroyed = this.destroyedAt.get(
      instanceOf(kernel.agentId, kernel.sessionId, kernel.kernelId),
    );
    return destroyed !== undefined && destroyed > (this.createdAt.get(kernel.key) ?? 0);
  }
}

function instanceOf(agentId: string, sessionId: string, kernelId: string): string {
  return `${agentId}/${sessionId}/${kernelId}`;
}

function destroyQueued(view: StoreView, kernel: AgentKernel): boolean {
  return view.outbox.some(
    ({ effect }) =>
      effect.type === 'destroyKernels' &&
      effect.agentId === kernel.agentId &&
      effect.sessionId === kernel.sessionId &&
      effect.kernelIds.includes(kernel.kernelId),
  );
}

/** The session's current create request made this kernel (see the file comment). */
function ownedByCurrentAttempt(session: SessionRow | undefined, kernel: AgentKernel): boolean {
  if (session === undefined || isFinal(session.status)) return false;
  const { context } = restore(session.snapshot);
  const bound = context.kernels.some(
    (k) => k.id === kernel.kernelId && k.agentId === kernel.agentId,
  );
  const key = effectKey({
    sessionId: context.sessionId,
    agentId: kernel.agentId,
    stage: 'create',
    attempt: context.attempts.create,
    placement: context.reschedules,
  });
  return bound && kernel.key === key;
}

/** Every kernel on an agent is owned by its session's current attempt or being destroyed. */
export function kernelsAccountedFor(
  view: StoreView,
  kernels: readonly AgentKernel[],
  recorder: CallRecorder,
): string[] {
  const sessions = new Map(view.sessions.map((session) => [session.id, session]));
  return kernels
    .filter((kernel) => !ownedByCurrentAttempt(sessions.get(kernel.sessionId), kernel))
    .filter((kernel) => !recorder.destroyAsked(kernel) && !destroyQueued(view, kernel))
    .map((kernel) => {
      const session = sessions.get(kernel.sessionId);
      const where = session ? `${session.status}/${session.substate}` : 'unknown session';
      return (
        `kernel ${kernel.sessionId}/${kernel.kernelId} (${kernel.key}) on ${kernel.agentId} ` +
        `is neither owned nor being destroyed (session ${where})`
      );
    });
}

/** Sum of the slots of every hold of every session (for totals in messages and tests). */
export function totalHeld(view: StoreView): Slots {
  return sum(view.sessions.flatMap((session) => Object.values(session.holds)));
}

/**
 * Whether a PENDING session of `view` could be placed now: its dependencies met and some
 * schedulable agent with room (placed alone, by the naive scan, with its avoid list; no
 * per-owner limits).
 */
export function placeableNow(view: StoreView): (session: SessionRow) => boolean {
  const statusOf = new Map(view.sessions.map((row) => [row.id, row.status]));
  const placement = { agents: view.agents, ownerUsage: new Map(), statusOf, limits: {} };
  return (session) => {
    const { spec, avoid } = restore(session.snapshot).context;
    const pending = { ...session, kernels: spec.kernels, dependsOn: spec.dependsOn, avoid };
    const [result] = placeBatchNaive('fifo', 'concentrated', [pending], placement, {
      cursor: null,
    });
    return result !== undefined && isPlaced(result);
  };
}

/**
 * PENDING sessions that could be placed now (`placeableNow`). Once nothing is due, a PENDING
 * session is only waiting for capacity or a dependency, so this list should be empty: a session
 * in it was left behind by the schedule stage.
 */
export function placeablePending(view: StoreView): string[] {
  const placeable = placeableNow(view);
  return view.sessions
    .filter((session) => session.status === 'PENDING' && placeable(session))
    .map((session) => `${session.id} PENDING/${session.substate} fits an agent`);
}
