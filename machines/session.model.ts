/**
 * Pure queries over a session's context, shared by the chart's guards, reducers and effect
 * builders. Nothing here mutates or reads the clock.
 */
import type { KernelState, SessionContext } from '../src/core/context.js';
import type { SessionEvent } from '../src/core/events.js';
import type { Status } from '../src/core/types.js';

/** Statuses before RUNNING, in which the overall deadline applies. */
export const BEFORE_RUNNING: readonly Status[] = [
  'PENDING',
  'SCHEDULED',
  'PREPARING',
  'PREPARED',
  'CREATING',
];

/**
 * How many times a cleanup that timed out asks for the destroy again before giving up
 * (`cleanup-timed-out`), when the step after it would create kernels again (a retry or a
 * reschedule). It protects the create safety rule without pinning the session's slot holds on
 * an agent that never confirms: while a kernel of the attempt may exist nothing is created, and
 * after `1 + MAX_CLEANUP_WAITS` cleanup timeouts the session ends and releases its holds (the
 * destroy stays queued in the outbox).
 */
export const MAX_CLEANUP_WAITS = 3;

/** The event's `now`, or the time the current status began for events without one (init). */
export function nowOf(context: SessionContext, event: { type: string }): number {
  const now = (event as { now?: unknown }).now;
  return typeof now === 'number' ? now : context.statusSince;
}

/** The `agentId` an event carries, if any. */
export function agentOf(event: SessionEvent | { type: string }): string | null {
  const agentId = (event as { agentId?: unknown }).agentId;
  return typeof agentId === 'string' ? agentId : null;
}

/** Distinct agents the kernels are placed on, in kernel order. */
export function agentsOf(kernels: readonly KernelState[]): string[] {
  const agents: string[] = [];
  for (const kernel of kernels) {
    if (kernel.agentId !== null && !agents.includes(kernel.agentId)) agents.push(kernel.agentId);
  }
  return agents;
}

/** A create request was sent for this kernel and nothing says it is gone or being destroyed. */
export function mayExist(kernel: KernelState): boolean {
  if (kernel.attempt === 0) return false;
  return (
    kernel.status === 'PREPARED' || kernel.status === 'CREATING' || kernel.status === 'RUNNING'
  );
}

/** The kernel may still be alive: it may exist, or a destroy was asked and not confirmed. */
export function isLive(kernel: KernelState): boolean {
  return mayExist(kernel) || kernel.status === 'TERMINATING';
}

export function isGone(kernel: KernelState): boolean {
  return kernel.status === 'TERMINATED' || kernel.status === 'CANCELLED';
}

export function kernelOn(
  context: SessionContext,
  agentId: string,
  kernelId: string,
): KernelState | undefined {
  return context.kernels.find((k) => k.id === kernelId && k.agentId === agentId);
}

export function kernelsOn(context: SessionContext, agentId: string): KernelState[] {
  return context.kernels.filter((k) => k.agentId === agentId);
}

/** True when every kernel other than those matching `except` satisfies `test`. */
export function allOthers(
  context: SessionContext,
  except: (kernel: KernelState) => boolean,
  test: (kernel: KernelState) => boolean,
): boolean {
  return context.kernels.every((k) => except(k) || test(k));
}
