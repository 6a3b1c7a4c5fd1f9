import type { AgentReport } from '../../manager/ports.js';
import { MinHeap } from '../store/heap.js';

/** A report waiting for its delivery time. `order` breaks ties (lower first). */
export interface QueuedReport {
  dueAt: number;
  order: number;
  report: AgentReport;
  /** Checked at delivery: false drops the report (its kernel or agent is gone). */
  stillValid: (dueAt: number) => boolean;
  /** Set once the report has left the queue, delivered or withdrawn. */
  gone?: boolean;
}

const before = (a: QueuedReport, b: QueuedReport): boolean =>
  a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.order < b.order);

/** Reports in virtual time, delivered earliest first. */
export class ReportQueue {
  private readonly heap = new MinHeap<QueuedReport>(before);
  private order = 0;
  /** Withdrawn reports still in the heap. */
  private withdrawn = 0;

  get size(): number {
    return this.heap.size - this.withdrawn;
  }

  /** The next order number (enqueue order). */
  nextOrder(): number {
    this.order += 1;
    return this.order;
  }

  push(item: QueuedReport): void {
    this.heap.push(item);
  }

  /**
   * Takes a queued report out (it stays in the heap, skipped when it comes up). A report that
   * already left the queue is not affected.
   */
  withdraw(item: QueuedReport): void {
    if (item.gone === true) return;
    item.gone = true;
    this.withdrawn += 1;
  }

  nextDueAt(): number | undefined {
    this.dropWithdrawn();
    return this.heap.peek()?.dueAt;
  }

  /** Removes and returns the earliest report due at or before `now`. */
  popDue(now: number): QueuedReport | undefined {
    this.dropWithdrawn();
    const top = this.heap.peek();
    if (top === undefined || top.dueAt > now) return undefined;
    this.heap.pop();
    top.gone = true;
    return top;
  }

  private dropWithdrawn(): void {
    while (this.heap.peek()?.gone === true) {
      this.heap.pop();
      this.withdrawn -= 1;
    }
  }
}
