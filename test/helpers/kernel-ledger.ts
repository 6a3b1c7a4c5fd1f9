/**
 * An outside model of which kernel instances may exist on the agents, built only from what a
 * trace shows: createKernels effects make instances; an instance is known gone after a
 * KERNEL_TERMINATED for it (for the instance of the report's attempt when it names one), an
 * inspection that finds it absent, a definite (non-ambiguous) create failure of its request
 * before any report of it, or the loss of its agent; it is being
 * destroyed once a destroyKernels effect names it.
 *
 * The model believes every report (even late or replayed ones), so it never thinks a kernel may
 * exist when the chart could know better: a violation it reports is real.
 */
import type { Effect } from '../../src/core/effects.js';
import type { TraceEvent } from './trace-events.js';
import type { TraceRun } from './trace-run.js';

interface Instance {
  agentId: string;
  kernelId: string;
  attempt: number;
  /** Index of the record whose effects created it (-1: initial effects). */
  createdAt: number;
  reported: boolean;
  gone: boolean;
  destroyOrdered: boolean;
}

export class KernelLedger {
  readonly instances: Instance[] = [];

  /** The newest instances of `agentId`'s request `attempt` (optionally one kernel). */
  private latest(agentId: string, attempt: number, kernelId?: string): Instance[] {
    const matching = this.instances.filter(
      (i) =>
        i.agentId === agentId &&
        i.attempt === attempt &&
        (kernelId === undefined || i.kernelId === kernelId),
    );
    const newest = Math.max(...matching.map((i) => i.createdAt));
    return matching.filter((i) => i.createdAt === newest);
  }

  /** Learns what an event says about kernels on agents. */
  observe(event: TraceEvent): void {
    switch (event.type) {
      case 'KERNEL_CREATING':
      case 'KERNEL_STARTED':
        for (const i of this.latest(event.agentId, event.attempt, event.kernelId))
          i.reported = true;
        break;
      case 'KERNEL_TERMINATED':
        for (const i of this.terminatedBy(event)) i.gone = true;
        break;
      case 'KERNELS_INSPECTED':
        for (const i of this.latest(event.agentId, event.attempt)) {
          if (event.kernels[i.kernelId] === 'absent') i.gone = true;
        }
        break;
      case 'CREATE_FAILED':
        if (event.failure.class === 'ambiguous') break;
        for (const i of this.latest(event.agentId, event.attempt)) if (!i.reported) i.gone = true;
        break;
      case 'AGENT_LOST':
        for (const i of this.on(event.agentId)) i.gone = true;
        break;
    }
  }

  /** The instances a termination report is about: of its attempt when it names one. */
  private terminatedBy(event: { agentId: string; kernelId: string; attempt?: number }): Instance[] {
    if (event.attempt !== undefined)
      return this.latest(event.agentId, event.attempt, event.kernelId);
    return this.on(event.agentId).filter((i) => i.kernelId === event.kernelId);
  }

  private on(agentId: string): Instance[] {
    return this.instances.filter((i) => i.agentId === agentId);
  }

  /** Instances made before record `index` that may exist and nobody asked to destroy. */
  unattended(before = Number.POSITIVE_INFINITY): Instance[] {
    return this.instances.filter((i) => i.createdAt < before && !i.gone && !i.destroyOrdered);
  }

  /** Applies one effect made by record `index`. */
  apply(effect: Effect, index: number): void {
    if (effect.type === 'destroyKernels') {
      for (const i of this.on(effect.agentId)) {
        if (effect.kernelIds.includes(i.kernelId)) i.destroyOrdered = true;
      }
    }
    if (effect.type === 'createKernels') {
      for (const { kernelId } of effect.kernels) {
        this.instances.push({
          agentId: effect.agentId,
          kernelId,
          attempt: effect.attempt,
          createdAt: index,
          reported: false,
          gone: false,
          destroyOrdered: false,
        });
      }
    }
  }
}

function describe(instances: Instance[]): string {
  return instances.map((i) => `${i.agentId}/${i.kernelId}@${i.attempt}`).join(', ');
}

/**
 * No createKernels while a kernel instance of an earlier request may exist and has not been
 * ordered destroyed; and no session ends with such an instance left behind.
 */
export function createOnlyWhenEarlierKernelsGone(run: TraceRun): string | null {
  const ledger = new KernelLedger();
  for (const effect of run.initialEffects) ledger.apply(effect, -1);
  for (const record of run.records) {
    ledger.observe(record.event);
    for (const effect of record.effects) {
      const left = ledger.unattended(record.index);
      if (effect.type === 'createKernels' && left.length > 0) {
        return (
          `step ${record.index}: createKernels attempt ${effect.attempt} on ` +
          `${effect.agentId} while ${describe(left)} may exist`
        );
      }
      ledger.apply(effect, record.index);
    }
  }
  return null;
}

/** Once final, every kernel instance that may exist has been ordered destroyed. */
export function noKernelOutlivesSession(run: TraceRun): string | null {
  const ledger = new KernelLedger();
  for (const effect of run.initialEffects) ledger.apply(effect, -1);
  for (const record of run.records) {
    ledger.observe(record.event);
    for (const effect of record.effects) ledger.apply(effect, record.index);
    const finalNow = (record.after as { status: string }).status === 'done';
    const left = ledger.unattended();
    if (finalNow && left.length > 0) {
      return `step ${record.index}: session final while ${describe(left)} may exist`;
    }
  }
  return null;
}
