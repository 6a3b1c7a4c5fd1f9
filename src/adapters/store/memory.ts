import { add } from '../../core/slots.js';
import type { Slots, Status } from '../../core/types.js';
import type {
  AgentRow,
  ApplyResult,
  ClaimCursor,
  DueWork,
  HistoryRow,
  OutboxRow,
  SessionHead,
  SessionRow,
  SessionStore,
  StoreTx,
  TimerRow,
  TransitionWrite,
} from '../../manager/ports.js';
import { copyJson } from './copy.js';
import { transactionClosed, unknownAgent } from './errors.js';
import { applyWrite, type RowCopy } from './memory-apply.js';
import { MemoryState, type OwnerUsage } from './memory-state.js';

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /**
   * Copy rows on the way in and out (default true), so a caller mutating a row it wrote or
   * read cannot change the store, as with a database. `false` shares the objects: faster, for
   * benchmarks whose callers never mutate rows.
   */
  copyRows?: boolean;
}

/** Counts of what the store holds, for tests and reports. */
export interface MemoryStoreStats {
  sessions: number;
  agents: AgentRow[];
  outbox: number;
  timers: number;
  historyRows: number;
}

/**
 * The embedded `SessionStore`: everything in memory, one transaction at a time (an async
 * mutex), rolled back from an undo journal when the work throws. Indexes keep the hot reads
 * cheap: sessions per status in submit order, timers and outbox rows in due-time heaps, and
 * per-status owner totals. Calling `transaction` from inside a transaction's work deadlocks.
 */
export class MemoryStore implements SessionStore {
  private readonly state = new MemoryState();
  private readonly copy: RowCopy;
  private tail: Promise<void> = Promise.resolve();

  constructor(options: MemoryStoreOptions = {}) {
    this.copy = options.copyRows === false ? (value) => value : copyJson;
  }

  async transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    const unlock = await this.lock();
    const tx = new MemoryTx(this.state, this.copy);
    try {
      const value = await work(tx);
      this.state.journal.clear();
      return value;
    } catch (error) {
      this.state.journal.rollbackTo(0);
      throw error;
    } finally {
      tx.end();
      unlock();
    }
  }

  /** Nothing to release; kept for the interface. */
  async close(): Promise<void> {}

  /** What the store holds now, read outside any transaction (tests, leak reports). */
  stats(): MemoryStoreStats {
    let historyRows = 0;
    for (const rows of this.state.history.values()) historyRows += rows.length;
    return {
      sessions: this.state.sessions.size,
      agents: [...this.state.agents.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
      outbox: this.state.outbox.size,
      timers: this.state.timers.size,
      historyRows,
    };
  }

  private lock(): Promise<() => void> {
    let unlock: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      unlock = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => held);
    return previous.then(() => unlock);
  }
}

/** One transaction over the memory state; unusable once it ended. */
class MemoryTx implements StoreTx {
  private open = true;

  constructor(
    private readonly state: MemoryState,
    private readonly copy: RowCopy,
  ) {}

  end(): void {
    this.open = false;
  }

  async putAgent(agent: Omit<AgentRow, 'reserved'>): Promise<void> {
    this.check('putAgent');
    const reserved = this.state.agents.get(agent.id)?.reserved ?? {};
    this.state.putAgent({ ...this.copy(agent), reserved });
  }

  async setSchedulable(agentId: string, schedulable: boolean): Promise<void> {
    this.check('setSchedulable');
    const agent = this.state.agents.get(agentId);
    if (agent === undefined) throw unknownAgent('setSchedulable', agentId);
    this.state.putAgent({ ...agent, schedulable });
  }

  async agents(): Promise<AgentRow[]> {
    this.check('agents');
    const rows = [...this.state.agents.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    return rows.map((row) => this.copy(row));
  }

  async getSessions(ids: string[]): Promise<SessionRow[]> {
    this.check('getSessions');
    const rows: SessionRow[] = [];
    for (const id of ids) {
      const row = this.state.sessions.get(id)?.row;
      if (row !== undefined) rows.push(this.copy(row));
    }
    return rows;
  }

  async claimSessions(
    statuses: readonly Status[],
    limit: number,
    after?: ClaimCursor,
  ): Promise<SessionRow[]> {
    this.check('claimSessions');
    const entries = statuses.flatMap((status) => this.state.byStatus.scan(status, limit, after));
    entries.sort((a, b) => a.submittedAt - b.submittedAt || (a.id < b.id ? -1 : 1));
    return entries.slice(0, limit).map((entry) => {
      return this.copy(this.state.sessions.get(entry.id)?.row as SessionRow);
    });
  }

  async sessionsOnAgent(agentId: string, statuses: readonly Status[]): Promise<string[]> {
    this.check('sessionsOnAgent');
    const ids: string[] = [];
    for (const status of new Set(statuses)) {
      for (const { id } of this.state.byStatus.scan(status, Number.POSITIVE_INFINITY)) {
        const row = this.state.sessions.get(id)?.row;
        if (row !== undefined && Object.hasOwn(row.holds, agentId)) ids.push(id);
      }
    }
    return ids.sort((a, b) => (a < b ? -1 : 1));
  }

  async ownerUsage(statuses: readonly Status[]): Promise<OwnerUsage> {
    this.check('ownerUsage');
    const totals: OwnerUsage = new Map();
    for (const status of new Set(statuses)) {
      for (const [owner, usage] of this.state.usage.get(status) ?? []) {
        const seen = totals.get(owner) ?? { sessions: 0, slots: {} as Slots };
        totals.set(owner, {
          sessions: seen.sessions + usage.sessions,
          slots: add(seen.slots, usage.slots),
        });
      }
    }
    return totals;
  }

  async headsOf(ids: string[]): Promise<Map<string, SessionHead>> {
    this.check('headsOf');
    const found = new Map<string, SessionHead>();
    for (const id of ids) {
      const row = this.state.sessions.get(id)?.row;
      if (row !== undefined) {
        found.set(id, { version: row.version, status: row.status, substate: row.substate });
      }
    }
    return found;
  }

  async statusOf(ids: string[]): Promise<Map<string, Status>> {
    this.check('statusOf');
    const found = new Map<string, Status>();
    for (const id of ids) {
      const row = this.state.sessions.get(id)?.row;
      if (row !== undefined) found.set(id, row.status);
    }
    return found;
  }

  async apply(write: TransitionWrite): Promise<ApplyResult> {
    this.check('apply');
    const mark = this.state.journal.mark();
    try {
      return applyWrite(this.state, write, this.copy);
    } catch (error) {
      this.state.journal.rollbackTo(mark);
      throw error;
    }
  }

  async applyMany(writes: readonly TransitionWrite[]): Promise<ApplyResult[]> {
    this.check('applyMany');
    const mark = this.state.journal.mark();
    try {
      return writes.map((write) => applyWrite(this.state, write, this.copy));
    } catch (error) {
      this.state.journal.rollbackTo(mark);
      throw error;
    }
  }

  async dueTimers(now: number, limit: number): Promise<TimerRow[]> {
    this.check('dueTimers');
    return this.state.timers.due(now, limit).map((row) => ({ ...row }));
  }

  async dueOutbox(now: number, limit: number): Promise<OutboxRow[]> {
    this.check('dueOutbox');
    return this.state.outbox.due(now, limit).map((row) => this.copy(row));
  }

  async leaseOutbox(now: number, limit: number, leaseUntil: number): Promise<OutboxRow[]> {
    this.check('leaseOutbox');
    const due = this.state.outbox.due(now, limit);
    for (const row of due) {
      this.state.putOutbox(row.key, { ...row, dueAt: leaseUntil, tries: row.tries + 1 });
    }
    return due.map((row) => this.copy(row));
  }

  async finishOutbox(key: string): Promise<void> {
    this.check('finishOutbox');
    if (this.state.outbox.get(key) !== undefined) this.state.putOutbox(key, undefined);
  }

  async retryOutbox(key: string, dueAt: number): Promise<void> {
    this.check('retryOutbox');
    const row = this.state.outbox.get(key);
    if (row !== undefined) this.state.putOutbox(key, { ...row, dueAt, tries: row.tries + 1 });
  }

  async nextDue(): Promise<{ timer?: number; outbox?: number }> {
    this.check('nextDue');
    const due: { timer?: number; outbox?: number } = {};
    const timer = this.state.timers.earliest();
    const outbox = this.state.outbox.earliest();
    if (timer !== undefined) due.timer = timer;
    if (outbox !== undefined) due.outbox = outbox;
    return due;
  }

  async workDue(now: number, statuses: readonly Status[]): Promise<DueWork> {
    this.check('workDue');
    const due = (at: number | undefined) => at !== undefined && at <= now;
    return {
      timers: due(this.state.timers.earliest()),
      outbox: due(this.state.outbox.earliest()),
      statuses: statuses.filter((status) => this.state.byStatus.scan(status, 1).length > 0),
    };
  }

  async history(sessionId: string): Promise<HistoryRow[]> {
    this.check('history');
    return (this.state.history.get(sessionId) ?? []).map((row) => ({ ...row }));
  }

  async statuses(): Promise<Map<string, Status>> {
    this.check('statuses');
    const all = new Map<string, Status>();
    for (const [id, { row }] of this.state.sessions) all.set(id, row.status);
    return all;
  }

  private check(method: string): void {
    if (!this.open) throw transactionClosed(method);
  }
}
