import { add, equals, sub, sum } from '../../core/slots.js';
import type { Slots, Status } from '../../core/types.js';
import type { AgentRow, HistoryRow, OutboxRow, SessionRow, TimerRow } from '../../manager/ports.js';
import { DueQueue } from './due-queue.js';
import { type IndexEntry, StatusIndex } from './status-index.js';

/** Undo steps of the running transaction, newest last. */
export class Journal {
  private steps: (() => void)[] = [];

  record(undo: () => void): void {
    this.steps.push(undo);
  }

  mark(): number {
    return this.steps.length;
  }

  /** Runs the undo steps recorded after `mark`, newest first. */
  rollbackTo(mark: number): void {
    while (this.steps.length > mark) (this.steps.pop() as () => void)();
  }

  clear(): void {
    this.steps = [];
  }
}

/** Per owner: how many sessions and the sum of their holds. */
export type OwnerUsage = Map<string, { sessions: number; slots: Slots }>;

interface SessionRecord {
  row: SessionRow;
  gen: number;
}

/** The key of a timer row in its queue (orders like the pair (sessionId, timerId)). */
export const timerKey = (sessionId: string, timerId: string): string =>
  `${sessionId}\u0000${timerId}`;

const holdTotal = (row: SessionRow): Slots => sum(Object.values(row.holds));

/** True when both rows count the same in the usage totals (status, owner, holds). */
function sameUsage(a: SessionRow, b: SessionRow): boolean {
  if (a.status !== b.status || a.owner !== b.owner) return false;
  if (a.holds === b.holds) return true;
  const agents = Object.keys(a.holds);
  if (agents.length !== Object.keys(b.holds).length) return false;
  return agents.every((agentId) => {
    const other = b.holds[agentId];
    return other !== undefined && equals(a.holds[agentId] as Slots, other);
  });
}

/**
 * The memory store's tables and indexes. Every write records its undo in the journal, so a
 * transaction (or one `apply`) can be rolled back exactly.
 */
export class MemoryState {
  readonly journal = new Journal();
  readonly agents = new Map<string, AgentRow>();
  readonly sessions = new Map<string, SessionRecord>();
  readonly history = new Map<string, HistoryRow[]>();
  readonly outbox = new DueQueue<OutboxRow>();
  readonly timers = new DueQueue<TimerRow>();
  readonly byStatus = new StatusIndex((entry) => this.sessions.get(entry.id)?.gen === entry.gen);
  /** Sessions and held slots per status, then per owner. */
  readonly usage = new Map<Status, OwnerUsage>();
  private gen = 0;

  putAgent(row: AgentRow): void {
    const previous = this.agents.get(row.id);
    this.agents.set(row.id, row);
    this.journal.record(() => {
      if (previous === undefined) this.agents.delete(row.id);
      else this.agents.set(row.id, previous);
    });
  }

  putSession(row: SessionRow): void {
    const previous = this.sessions.get(row.id)?.row;
    this.writeSession(row.id, row, false);
    this.journal.record(() => this.writeSession(row.id, previous, true));
  }

  appendHistory(row: HistoryRow): void {
    const rows = this.history.get(row.sessionId) ?? [];
    rows.push(row);
    this.history.set(row.sessionId, rows);
    this.journal.record(() => {
      rows.pop();
      if (rows.length === 0) this.history.delete(row.sessionId);
    });
  }

  putOutbox(key: string, row: OutboxRow | undefined): void {
    const previous = this.outbox.set(key, row);
    this.journal.record(() => this.outbox.set(key, previous));
  }

  putTimer(key: string, row: TimerRow | undefined): void {
    const previous = this.timers.set(key, row);
    this.journal.record(() => this.timers.set(key, previous));
  }

  /** Replaces the session row, keeping the status index and the usage totals in step. */
  private writeSession(id: string, row: SessionRow | undefined, reindex: boolean): void {
    const previous = this.sessions.get(id);
    if (row === undefined) {
      if (previous === undefined) return;
      this.countUsage(previous.row, -1);
      this.sessions.delete(id);
      this.byStatus.invalidate(previous.row.status);
      return;
    }
    if (previous === undefined || !sameUsage(previous.row, row)) {
      if (previous !== undefined) this.countUsage(previous.row, -1);
      this.countUsage(row, 1);
    }
    if (previous !== undefined && previous.row.status === row.status && !reindex) {
      this.sessions.set(id, { row, gen: previous.gen });
      return;
    }
    this.gen += 1;
    this.sessions.set(id, { row, gen: this.gen });
    if (previous !== undefined) this.byStatus.invalidate(previous.row.status);
    const entry: IndexEntry = { submittedAt: row.submittedAt, id, gen: this.gen };
    this.byStatus.add(row.status, entry);
  }

  private countUsage(row: SessionRow, sign: 1 | -1): void {
    let owners = this.usage.get(row.status);
    if (owners === undefined) {
      owners = new Map();
      this.usage.set(row.status, owners);
    }
    const current = owners.get(row.owner) ?? { sessions: 0, slots: {} };
    const held = holdTotal(row);
    const next = {
      sessions: current.sessions + sign,
      slots: sign === 1 ? add(current.slots, held) : sub(current.slots, held),
    };
    if (next.sessions === 0) owners.delete(row.owner);
    else owners.set(row.owner, next);
  }
}
