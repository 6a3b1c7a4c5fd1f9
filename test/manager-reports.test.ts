import { describe, expect, it } from 'vitest';
import type { SessionContext } from '../src/core/context.js';
import { AgentBindingError, UnknownKernelError } from '../src/manager/errors.js';
import type { AgentReport } from '../src/manager/ports.js';
import {
  boundAgents,
  checkBinding,
  type InboxItem,
  ReportInbox,
  reportEvent,
  type SessionReport,
} from '../src/manager/reports.js';

/** Only the fields `checkBinding` reads. */
function contextWith(kernels: { id: string; agentId: string | null }[]): SessionContext {
  return {
    kernels: kernels.map((kernel) => ({ ...kernel, slots: {}, status: 'SCHEDULED', attempt: 0 })),
  } as unknown as SessionContext;
}

const placed = contextWith([
  { id: 'k0', agentId: 'a1' },
  { id: 'k1', agentId: 'a2' },
  { id: 'k2', agentId: 'a1' },
]);

describe('checkBinding', () => {
  it('accepts kernel reports from the agent the kernel is bound to', () => {
    const report: AgentReport = {
      type: 'kernel.started',
      agentId: 'a2',
      sessionId: 's1',
      kernelId: 'k1',
      attempt: 1,
    };
    expect(() => checkBinding(report, placed)).not.toThrow();
  });

  it('rejects a kernel the session does not have, listing the ones it has', () => {
    const report: AgentReport = {
      type: 'kernel.creating',
      agentId: 'a1',
      sessionId: 's1',
      kernelId: 'k9',
      attempt: 1,
    };
    expect(() => checkBinding(report, placed)).toThrow(UnknownKernelError);
    expect(() => checkBinding(report, placed)).toThrow(
      'session "s1" has no kernel "k9" (its kernels: k0, k1, k2); check the kernel id the agent ' +
        'reported',
    );
  });

  it('rejects a kernel report from another agent', () => {
    const report: AgentReport = {
      type: 'kernel.terminated',
      agentId: 'a2',
      sessionId: 's1',
      kernelId: 'k0',
      outcome: 'TERMINATED',
    };
    expect(() => checkBinding(report, placed)).toThrow(AgentBindingError);
    expect(() => checkBinding(report, placed)).toThrow(
      'agent "a2" reported on kernel "k0" of session "s1", which is bound to a1; ' +
        'reports are accepted only from the agent a kernel is bound to',
    );
  });

  it('accepts image reports from any agent holding a kernel and rejects others', () => {
    const pulled = (agentId: string): SessionReport => ({
      type: 'image.pulled',
      agentId,
      sessionId: 's1',
      attempt: 1,
    });
    expect(() => checkBinding(pulled('a1'), placed)).not.toThrow();
    expect(() => checkBinding(pulled('a2'), placed)).not.toThrow();
    expect(() => checkBinding(pulled('a3'), placed)).toThrow(
      'agent "a3" reported on session "s1", which is bound to a1, a2; ' +
        'reports are accepted only from the agent a kernel is bound to',
    );
    const unplaced = contextWith([{ id: 'k0', agentId: null }]);
    expect(() => checkBinding(pulled('a1'), unplaced)).toThrow(
      'agent "a1" reported on session "s1", which is not placed on any agent; ' +
        'reports are accepted only from the agent a kernel is bound to',
    );
  });

  it('lists bound agents once each, in kernel order', () => {
    expect(boundAgents(placed)).toEqual(['a1', 'a2']);
  });
});

describe('reportEvent', () => {
  it('translates every session report into its chart event at the given time', () => {
    const base = { agentId: 'a1', sessionId: 's1' };
    expect(reportEvent({ type: 'image.pulling', ...base, attempt: 2 }, 7)).toEqual({
      type: 'IMAGE_PULLING',
      now: 7,
      agentId: 'a1',
      attempt: 2,
    });
    expect(reportEvent({ type: 'image.pulled', ...base, attempt: 2 }, 7)).toEqual({
      type: 'IMAGE_PULLED',
      now: 7,
      agentId: 'a1',
      attempt: 2,
    });
    const kernel = { ...base, kernelId: 'k0', attempt: 3 };
    expect(reportEvent({ type: 'kernel.creating', ...kernel }, 8)).toEqual({
      type: 'KERNEL_CREATING',
      now: 8,
      agentId: 'a1',
      kernelId: 'k0',
      attempt: 3,
    });
    expect(reportEvent({ type: 'kernel.started', ...kernel }, 8)).toEqual({
      type: 'KERNEL_STARTED',
      now: 8,
      agentId: 'a1',
      kernelId: 'k0',
      attempt: 3,
    });
    expect(
      reportEvent({ type: 'kernel.terminated', ...base, kernelId: 'k0', outcome: 'CANCELLED' }, 9),
    ).toEqual({
      type: 'KERNEL_TERMINATED',
      now: 9,
      agentId: 'a1',
      kernelId: 'k0',
      outcome: 'CANCELLED',
    });
    const withAttempt = { ...base, kernelId: 'k0', outcome: 'TERMINATED', attempt: 2 } as const;
    expect(reportEvent({ type: 'kernel.terminated', ...withAttempt }, 9)).toEqual({
      type: 'KERNEL_TERMINATED',
      now: 9,
      agentId: 'a1',
      kernelId: 'k0',
      outcome: 'TERMINATED',
      attempt: 2,
    });
  });
});

describe('ReportInbox', () => {
  const lost = (agentId: string): AgentReport => ({ type: 'agent.lost', agentId });

  it('hands every report queued in the same turn to one batch', async () => {
    const batches: string[][] = [];
    const inbox = new ReportInbox(async (batch: InboxItem[]) => {
      batches.push(batch.map((item) => item.report.agentId));
      for (const item of batch) item.resolve();
    });
    await Promise.all([inbox.push(lost('a')), inbox.push(lost('b')), inbox.push(lost('c'))]);
    await inbox.push(lost('d'));
    expect(batches).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('queues reports arriving during a drain for the next batch, idles after both', async () => {
    const batches: string[][] = [];
    let inner: Promise<void> | undefined;
    const inbox: ReportInbox = new ReportInbox(async (batch) => {
      batches.push(batch.map((item) => item.report.agentId));
      if (!inner) inner = inbox.push(lost('late'));
      for (const item of batch) item.resolve();
    });
    await inbox.push(lost('first'));
    await inbox.idle();
    await inner;
    expect(batches).toEqual([['first'], ['late']]);
  });

  it('rejects every report of a batch whose processing throws', async () => {
    const inbox = new ReportInbox(async () => {
      throw new Error('store down');
    });
    const results = await Promise.allSettled([inbox.push(lost('a')), inbox.push(lost('b'))]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toEqual(new Error('store down'));
  });
});
