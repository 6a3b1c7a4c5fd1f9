import type { AgentReport } from '../../manager/ports.js';
import type { FaultRates } from './faults.js';
import { type QueuedReport, ReportQueue } from './report-queue.js';
import type { ScriptBook } from './script-book.js';

type Listener = (report: AgentReport) => unknown;

/** Counts of the report faults that were injected. */
export interface ReportFaultCounts {
  lost: number;
  duplicated: number;
  reordered: number;
  /** Dropped or delayed by a scripted fault. */
  scripted: number;
  /** Not delivered because the kernel or agent was gone by the report's due time. */
  stale: number;
}

const streamOf = (report: AgentReport): string =>
  'sessionId' in report ? `${report.agentId}/${report.sessionId}` : report.agentId;

/**
 * Queues agent reports in virtual time and applies report faults when they are queued:
 * scripted drops and delays, then seeded loss, duplication and reordering. A reordered report
 * overtakes the previous report still queued on the same agent and session: that one is held
 * back and arrives just after it. A report never arrives before its own due time, so it never
 * announces what has not happened yet (a `kernel.started` overtaking its `kernel.creating`
 * still arrives once the kernel runs).
 */
export class Reporter {
  private readonly queue = new ReportQueue();
  private readonly listeners: Listener[] = [];
  /** The last report queued on each agent and session, while it is still queued. */
  private readonly lastInStream = new Map<string, QueuedReport>();
  readonly counts: ReportFaultCounts = {
    lost: 0,
    duplicated: 0,
    reordered: 0,
    scripted: 0,
    stale: 0,
  };

  constructor(
    private readonly rates: FaultRates,
    private readonly scripts: ScriptBook,
    private readonly random: () => number,
    private readonly duplicateGapMs: number,
  ) {}

  get pending(): number {
    return this.queue.size;
  }

  listen(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** Queues a report exactly as given (no faults): used for `agent.lost`. */
  sendReliably(report: AgentReport, dueAt: number): void {
    this.queue.push({ dueAt, order: this.queue.nextOrder(), report, stillValid: () => true });
  }

  /** Queues a report due at `dueAt`, subject to scripted and seeded faults. */
  send(report: AgentReport, dueAt: number, stillValid: (at: number) => boolean): void {
    const [lost, duplicated, reordered] = [this.random(), this.random(), this.random()];
    const scripted = this.scripts.takeReportFault(report);
    if (scripted !== undefined) this.counts.scripted += 1;
    if (scripted?.drop === true) return;
    const due = dueAt + (scripted?.drop === false ? scripted.delayMs : 0);
    if (lost < (this.rates.lostReports ?? 0)) {
      this.counts.lost += 1;
      return;
    }
    const item: QueuedReport = { dueAt: due, order: this.queue.nextOrder(), report, stillValid };
    this.queue.push(item);
    const stream = streamOf(report);
    const previous = this.lastInStream.get(stream);
    this.lastInStream.set(stream, item);
    if (
      reordered < (this.rates.reorderedReports ?? 0) &&
      previous !== undefined &&
      previous.dueAt <= due
    ) {
      this.counts.reordered += 1;
      this.queue.withdraw(previous);
      const held = { ...previous, dueAt: due, order: item.order + 0.5, gone: false };
      this.queue.push(held);
      this.lastInStream.set(stream, held);
    }
    if (duplicated < (this.rates.duplicatedReports ?? 0)) {
      this.counts.duplicated += 1;
      const copy = { ...report };
      const at = due + this.duplicateGapMs;
      this.queue.push({ dueAt: at, order: this.queue.nextOrder(), report: copy, stillValid });
    }
  }

  nextDueAt(): number | undefined {
    return this.queue.nextDueAt();
  }

  /** Delivers every report due at or before `now`; returns how many were delivered. */
  deliverDue(now: number): number {
    let delivered = 0;
    for (let item = this.take(now); item; item = this.take(now)) {
      if (!this.valid(item.stillValid, item.dueAt)) continue;
      for (const listener of this.listeners) listener(item.report);
      delivered += 1;
    }
    return delivered;
  }

  /** As `deliverDue`, awaiting what each listener returns before the next report. */
  async deliverDueAsync(now: number): Promise<number> {
    let delivered = 0;
    for (let item = this.take(now); item; item = this.take(now)) {
      if (!this.valid(item.stillValid, item.dueAt)) continue;
      for (const listener of this.listeners) await listener(item.report);
      delivered += 1;
    }
    return delivered;
  }

  /** The next report due, if any; its stream forgets it once it was the stream's last. */
  private take(now: number): QueuedReport | undefined {
    const item = this.queue.popDue(now);
    if (item === undefined) return undefined;
    const stream = streamOf(item.report);
    if (this.lastInStream.get(stream) === item) this.lastInStream.delete(stream);
    return item;
  }

  private valid(stillValid: (at: number) => boolean, dueAt: number): boolean {
    if (stillValid(dueAt)) return true;
    this.counts.stale += 1;
    return false;
  }
}
