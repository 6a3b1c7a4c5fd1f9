/**
 * The working agents kept from one batch to the next, so that a batch does not allocate and
 * sort a pool of every agent when only a few of them changed.
 */
import type { AgentRow } from '../ports.js';
import { SessionMisses } from './misses.js';
import type { WorkAgent } from './pool.js';
import type { PlacementResult } from './types.js';
import { grows, sameVec, type Vec, writeFree } from './vector.js';

/** The agents a batch starts from, and whether they are already in the pool's order. */
export interface CachedAgents {
  agents: WorkAgent[];
  /** True when `agents` is in the order the same selector's pool left it last batch. */
  inOrder: boolean;
}

/**
 * Reuses the `WorkAgent`s of the last batch, in the order the last batch's pool left them.
 * An agent is read again only when its row is another object than last batch's (stores write
 * new rows, never change a row they returned) or the last batch placed a kernel on it; its
 * free slots are then rewritten in place. When no agent's free slots changed, the list is
 * still in the pool's order and need not be sorted; otherwise the pool sorts a nearly sorted
 * list. A row added, removed, reordered or made (un)schedulable rebuilds everything. The
 * pools order agents by a total order (free slots then id, or id alone), so a reused list is
 * the list a fresh pool would build, and placement chooses the same agents.
 *
 * It also keeps `misses`: sessions whose first kernel fit on no agent. Free slots only shrink
 * within a batch; the memory is cleared whenever a batch starts with some agent having more
 * free in some slot than the last batch left it, or with other agents. Until then such a
 * session fails again, with the same message, without a search.
 */
export class AgentCache {
  /** Sessions whose first kernel fit nowhere, while no agent gained free slots. */
  readonly misses = new SessionMisses();
  private rows: readonly AgentRow[] = [];
  /** Parallel to `rows`: the working agent of each schedulable row. */
  private byRow: (WorkAgent | undefined)[] = [];
  private indexOf = new Map<string, number>();
  /** The schedulable agents, in the order the last batch's pool left them. */
  private list: WorkAgent[] = [];
  /** The selector whose order `list` is in. */
  private order: string | undefined;
  /** Rows (by index) the last batch placed kernels on. */
  private touched: number[] = [];
  /** A batch took the agents and has not reported its placements (it may have thrown). */
  private open = false;
  private readonly scratch: Vec = [];

  /** The schedulable agents of `rows` with their free slots as the rows say now. */
  workAgents(rows: readonly AgentRow[], order: string): CachedAgents {
    const changed = this.canReuse(rows) ? this.refresh(rows) : this.rebuild(rows);
    const inOrder = !changed && order === this.order;
    this.order = order;
    this.rows = rows;
    this.touched = [];
    this.open = true;
    return { agents: this.list, inOrder };
  }

  /** After a batch: the agents it placed kernels on (their free slots were taken). */
  placed(results: readonly PlacementResult[]): void {
    for (const result of results) {
      if (!('placement' in result)) continue;
      for (const agentId of Object.values(result.placement)) {
        const index = this.indexOf.get(agentId);
        if (index !== undefined) this.touched.push(index);
      }
    }
    this.open = false;
  }

  private canReuse(rows: readonly AgentRow[]): boolean {
    return !this.open && rows.length === this.rows.length && this.rows.length > 0;
  }

  /** Re-reads the rows that may differ; true when some free slots changed. Rebuilds if needed. */
  private refresh(rows: readonly AgentRow[]): boolean {
    let changed = false;
    for (let i = 0; i < rows.length; i++) {
      if (rows[i] === this.rows[i]) continue;
      const verdict = this.reread(i, rows[i]!);
      if (verdict === 'rebuild') return this.rebuild(rows);
      changed = changed || verdict === 'changed';
    }
    for (const i of this.touched) {
      if (rows[i] !== this.rows[i]) continue; // read above
      // Read first: `changed ||= ...` would skip the read once something changed.
      const verdict = this.reread(i, rows[i]!);
      changed = changed || verdict === 'changed';
    }
    return changed;
  }

  private reread(i: number, row: AgentRow): 'same' | 'changed' | 'rebuild' {
    const before = this.rows[i]!;
    if (row.id !== before.id || row.schedulable !== before.schedulable) return 'rebuild';
    const agent = this.byRow[i];
    if (agent === undefined) return 'same';
    const free = writeFree(this.scratch, row.capacity, row.reserved);
    if (sameVec(free, agent.free)) return 'same';
    if (grows(free, agent.free)) this.misses.forget();
    writeFree(agent.free as Vec, row.capacity, row.reserved);
    return 'changed';
  }

  /** Working agents for every schedulable row, in row order. Always "changed". */
  private rebuild(rows: readonly AgentRow[]): true {
    this.misses.forget();
    this.byRow = [];
    this.list = [];
    this.indexOf = new Map();
    rows.forEach((row, i) => {
      this.indexOf.set(row.id, i);
      if (!row.schedulable) {
        this.byRow.push(undefined);
        return;
      }
      const agent: WorkAgent = { id: row.id, free: writeFree([], row.capacity, row.reserved) };
      this.byRow.push(agent);
      this.list.push(agent);
    });
    return true;
  }
}
