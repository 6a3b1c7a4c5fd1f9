/**
 * Agent reports: validation against the session's bindings, translation into chart events, and
 * the inbox that applies the reports queued in the same turn together.
 */
import type { SessionContext } from '../core/context.js';
import type { SessionEvent } from '../core/events.js';
import { AgentBindingError, UnknownKernelError } from './errors.js';
import type { AgentReport } from './ports.js';

/** A report about one session (everything but `agent.lost`). */
export type SessionReport = Exclude<AgentReport, { type: 'agent.lost' }>;

/**
 * Throws `UnknownKernelError` or `AgentBindingError` when the report does not fit the session:
 * a kernel report must name a kernel of the session and come from the agent it is bound to; an
 * image report must come from an agent holding one of the session's kernels. The error is
 * marked `late` when the session has been rescheduled (the report is from an earlier placement).
 */
export function checkBinding(report: SessionReport, context: SessionContext): void {
  if (!('kernelId' in report)) {
    const boundTo = boundAgents(context);
    if (!boundTo.includes(report.agentId)) {
      throw new AgentBindingError({
        sessionId: report.sessionId,
        agentId: report.agentId,
        boundTo,
        late: context.reschedules > 0,
      });
    }
    return;
  }
  const kernel = context.kernels.find((candidate) => candidate.id === report.kernelId);
  if (!kernel) {
    const known = context.kernels.map((candidate) => candidate.id);
    throw new UnknownKernelError(report.sessionId, report.kernelId, known);
  }
  if (kernel.agentId !== report.agentId) {
    throw new AgentBindingError({
      sessionId: report.sessionId,
      agentId: report.agentId,
      kernelId: report.kernelId,
      boundTo: kernel.agentId === null ? [] : [kernel.agentId],
      late: context.reschedules > 0,
    });
  }
}

/** The distinct agents the session's kernels are placed on, in kernel order. */
export function boundAgents(context: SessionContext): string[] {
  const agents = context.kernels.map((kernel) => kernel.agentId);
  return [...new Set(agents.filter((agentId): agentId is string => agentId !== null))];
}

/** The chart event a session report stands for, at `now`. */
export function reportEvent(report: SessionReport, now: number): SessionEvent {
  const { agentId } = report;
  switch (report.type) {
    case 'image.pulling':
      return { type: 'IMAGE_PULLING', now, agentId, attempt: report.attempt };
    case 'image.pulled':
      return { type: 'IMAGE_PULLED', now, agentId, attempt: report.attempt };
    case 'kernel.creating':
      return {
        type: 'KERNEL_CREATING',
        now,
        agentId,
        kernelId: report.kernelId,
        ...attempt(report),
      };
    case 'kernel.started':
      return {
        type: 'KERNEL_STARTED',
        now,
        agentId,
        kernelId: report.kernelId,
        ...attempt(report),
      };
    case 'kernel.terminated':
      return {
        type: 'KERNEL_TERMINATED',
        now,
        agentId,
        kernelId: report.kernelId,
        outcome: report.outcome,
        // The kernel's create attempt, when the agent names it: tells an earlier attempt's
        // kernel apart from the current one (same kernel id).
        ...(report.attempt === undefined ? {} : { attempt: report.attempt }),
      };
  }
}

function attempt(report: { attempt: number }): { attempt: number } {
  return { attempt: report.attempt };
}

/** One queued report and the caller waiting on it. */
export interface InboxItem {
  report: AgentReport;
  resolve(): void;
  reject(error: unknown): void;
  /** Times this report met a write conflict and was queued again. */
  conflicts: number;
}

/**
 * Queues reports and drains them in batches: every report queued in the same turn is handed to
 * `process` together (one store transaction per run of session reports, or a few side by side
 * for a large run: see `processReports`). `idle()` resolves once nothing is queued or being
 * processed.
 */
export class ReportInbox {
  private queue: InboxItem[] = [];
  private running: Promise<void> | undefined;
  /** Items waiting out a pause before they are queued again, by their timer. */
  private readonly paused = new Map<ReturnType<typeof setTimeout>, InboxItem>();

  constructor(private readonly process: (batch: InboxItem[]) => Promise<void>) {}

  push(report: AgentReport): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.requeue({ report, resolve, reject, conflicts: 0 });
    });
  }

  /** Queues an item again (after a write conflict) or for the first time. */
  requeue(item: InboxItem): void {
    this.queue.push(item);
    this.schedule();
  }

  /** Queues an item again after `delayMs`, unless `cancelPaused` rejects it before then. */
  requeueAfter(item: InboxItem, delayMs: number): void {
    const timer = setTimeout(() => {
      this.paused.delete(timer);
      this.requeue(item);
    }, delayMs);
    this.paused.set(timer, item);
  }

  /** Rejects every item still waiting out a pause, each with `reason(item)`; returns them. */
  cancelPaused(reason: (item: InboxItem) => unknown): InboxItem[] {
    const items = [...this.paused.values()];
    for (const timer of this.paused.keys()) clearTimeout(timer);
    this.paused.clear();
    for (const item of items) item.reject(reason(item));
    return items;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private schedule(): void {
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async drain(): Promise<void> {
    // Yield once so that every report pushed in the current turn joins the first batch.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        await this.process(batch);
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }
}
