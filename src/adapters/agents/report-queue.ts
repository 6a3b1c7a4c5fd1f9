import type { AgentReport } from '../../manager/ports.js';
import { MinHeap } from '../store/heap.js';

/** A report waiting for its delivery time. `order` breaks ties (lower first). */
export interface QueuedReport {
  dueAt: number;
  order: number;
  report: AgentReport;
  /** Checked at delivery: false drops the report (its kernel or agent is gone). */
  stillValid: (dueAt: number) => boolean;
}

const before = (a: QueuedReport, b: QueuedReport): boolean =>
  a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.order < b.order);

/** Reports in virtual time, delivered earliest first. */
export class ReportQueue {
  private readonly heap = new MinHeap<QueuedReport>(before);
  private order = 0;

  get size(): number {
    return this.heap.size;
  }

  /** The next order number (enqueue order). */
  nextOrder(): number {
    this.order += 1;
    return this.order;
  }

  push(item: QueuedReport): void {
    this.heap.push(item);
  }

  nextDueAt(): number | undefined {
    return this.heap.peek()?.dueAt;
  }

  /** Removes and returns the earliest report due at or before `now`. */
  popDue(now: number): QueuedReport | undefined {
    const top = this.heap.peek();
    if (top === undefined || top.dueAt > now) return undefined;
    return this.heap.pop();
  }
}
