import { add, slotAmount, sub } from '../../core/slots.js';
import type { Slots } from '../../core/types.js';
import type { AgentRow, ApplyResult, TransitionWrite } from '../../manager/ports.js';
import { badVersion, releaseExceedsReserved, unknownAgent } from './errors.js';
import { type MemoryState, timerKey } from './memory-state.js';

/** How rows cross the store boundary: copied (value semantics, the default) or shared. */
export type RowCopy = <T>(value: T) => T;

type Refusal = Exclude<ApplyResult, { ok: true }>;

/** Checks and writes one transition; refuses (keeping nothing) or throws on a caller bug. */
export function applyWrite(state: MemoryState, write: TransitionWrite, copy: RowCopy): ApplyResult {
  const { session, expectedVersion } = write;
  if (session.version !== expectedVersion + 1) {
    throw badVersion(session.id, expectedVersion, session.version);
  }
  const actual = state.sessions.get(session.id)?.row.version;
  if (actual !== (expectedVersion === 0 ? undefined : expectedVersion)) {
    return { ok: false, conflict: 'version', actual };
  }
  const reserved = new Map<string, Slots>();
  releaseAll(state, write, reserved);
  const refusal = reserveAll(state, write, reserved);
  if (refusal !== undefined) return refusal;

  writeAll(state, write, reserved, copy);
  return { ok: true };
}

function agentOf(state: MemoryState, reserved: Map<string, Slots>, agentId: string) {
  const agent = state.agents.get(agentId);
  return agent && { agent, current: reserved.get(agentId) ?? agent.reserved };
}

function releaseAll(state: MemoryState, write: TransitionWrite, reserved: Map<string, Slots>) {
  write.release.forEach(({ agentId, slots }, index) => {
    const found = agentOf(state, reserved, agentId);
    if (found === undefined) throw unknownAgent(`release[${index}].agentId`, agentId);
    for (const slot of Object.keys(slots)) {
      const requested = slotAmount(slots, slot);
      const held = slotAmount(found.current, slot);
      if (requested > held) throw releaseExceedsReserved(index, agentId, slot, requested, held);
    }
    reserved.set(agentId, sub(found.current, slots));
  });
}

function reserveAll(
  state: MemoryState,
  write: TransitionWrite,
  reserved: Map<string, Slots>,
): Refusal | undefined {
  for (const { agentId, slots } of write.reserve) {
    const found = agentOf(state, reserved, agentId);
    if (found === undefined) return { ok: false, conflict: 'unknown-agent', agentId };
    if (!found.agent.schedulable) return { ok: false, conflict: 'unschedulable', agentId };
    const refusal = capacityRefusal(found.agent, found.current, slots);
    if (refusal !== undefined) return refusal;
    reserved.set(agentId, add(found.current, slots));
  }
  return undefined;
}

function capacityRefusal(agent: AgentRow, current: Slots, need: Slots): Refusal | undefined {
  for (const slot of Object.keys(need)) {
    const requested = slotAmount(need, slot);
    const free = Math.max(0, slotAmount(agent.capacity, slot) - slotAmount(current, slot));
    if (requested > free) {
      return { ok: false, conflict: 'capacity', agentId: agent.id, slot, requested, free };
    }
  }
  return undefined;
}

function writeAll(
  state: MemoryState,
  write: TransitionWrite,
  reserved: Map<string, Slots>,
  copy: RowCopy,
): void {
  const sessionId = write.session.id;
  state.putSession(copy(write.session));
  for (const [agentId, slots] of reserved) {
    const agent = state.agents.get(agentId) as AgentRow;
    state.putAgent({ ...agent, reserved: slots });
  }
  for (const row of write.history) state.appendHistory(copy(row));
  for (const row of write.outbox) {
    if (state.outbox.get(row.key) === undefined) state.putOutbox(row.key, copy(row));
  }
  for (const timerId of write.timersCancelled) {
    const key = timerKey(sessionId, timerId);
    if (state.timers.get(key) !== undefined) state.putTimer(key, undefined);
  }
  for (const row of write.timersSet)
    state.putTimer(timerKey(row.sessionId, row.timerId), copy(row));
}
