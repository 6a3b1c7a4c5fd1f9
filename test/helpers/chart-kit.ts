/**
 * Builders for the chart tests: a small policy with exact (jitter-free) delays, sessions of one
 * or two kernels, event and effect constructors, and a driver that feeds events to `decide`.
 */
import type { SessionInput } from '../../src/core/context.js';
import { type Decision, decide, type SessionSnapshot, start } from '../../src/core/decide.js';
import type { Effect } from '../../src/core/effects.js';
import type { SessionEvent } from '../../src/core/events.js';
import type { Failure, FailureClass, Reason, Slots, Status } from '../../src/core/types.js';
import type { RetryPolicy } from '../../src/policy/types.js';

export const SID = 's1';

/** 3 attempts per stage, delays 1 s doubling (no jitter), 60 s timeouts, 20 s rechecks. */
export const testPolicy: RetryPolicy = {
  pull: {
    maxAttempts: 3,
    initialDelayMs: 1000,
    multiplier: 2,
    maxDelayMs: 10_000,
    jitter: 'none',
    timeoutMs: 60_000,
    recheckMs: 20_000,
  },
  create: {
    maxAttempts: 3,
    initialDelayMs: 1000,
    multiplier: 2,
    maxDelayMs: 10_000,
    jitter: 'none',
    timeoutMs: 60_000,
    recheckMs: 20_000,
  },
  rescheduleBudget: 1,
  cleanupTimeoutMs: 30_000,
};

export const K0: Slots = { cpu: 1000, mem: 512 };
export const K1: Slots = { cpu: 2000, mem: 1024 };

/** A session of one kernel (`k0`) or two (`k0`, `k1`), submitted at 0. */
export function input(kernels: 1 | 2 = 1, policy: Partial<RetryPolicy> = {}): SessionInput {
  const specs = [{ id: 'k0', slots: K0 }];
  if (kernels === 2) specs.push({ id: 'k1', slots: K1 });
  return {
    spec: {
      id: SID,
      owner: 'alice',
      image: 'img:1',
      priority: 0,
      kernels: specs,
      dependsOn: [],
      submittedAt: 0,
    },
    policy: { ...testPolicy, ...policy },
    seed: 7,
    now: 0,
  };
}

/** Timer event types (= timer ids) the chart arms. */
export const T = {
  pullTimeout: 'xstate.after.pullTimeout.session.PREPARING.pulling',
  pullRecheck: 'xstate.after.pullRecheck.session.PREPARING.pulling.waiting',
  pullBackoff: 'xstate.after.pullBackoff.session.PREPARING.backoff',
  createTimeout: 'xstate.after.createTimeout.session.CREATING.creating',
  createRecheck: 'xstate.after.createRecheck.session.CREATING.creating',
  verifyRecheck: 'xstate.after.createRecheck.session.CREATING.verifying.waiting',
  createBackoff: 'xstate.after.createBackoff.session.CREATING.backoff',
  cleanupTimeout: 'xstate.after.cleanupTimeout.session.CREATING.cleanup',
  terminateTimeout: 'xstate.after.cleanupTimeout.session.TERMINATING',
  deadline: 'xstate.after.deadline.session',
} as const;

export function failure(cls: FailureClass, extra: Partial<Failure> = {}): Failure {
  return { class: cls, code: `${cls}-code`, message: `${cls} failure`, ...extra };
}

/** Event constructors; `now` last so the common case reads short. */
export const ev = {
  schedule: (placement: Record<string, string>, now = 1): SessionEvent => ({
    type: 'SCHEDULE',
    now,
    placement,
  }),
  prepare: (now = 2): SessionEvent => ({ type: 'PREPARE', now }),
  pulling: (agentId: string, attempt: number, now = 3): SessionEvent => ({
    type: 'IMAGE_PULLING',
    now,
    agentId,
    attempt,
  }),
  pulled: (agentId: string, attempt: number, now = 3): SessionEvent => ({
    type: 'IMAGE_PULLED',
    now,
    agentId,
    attempt,
  }),
  pullFailed: (agentId: string, attempt: number, f: Failure, now = 3): SessionEvent => ({
    type: 'PULL_FAILED',
    now,
    agentId,
    attempt,
    failure: f,
  }),
  start: (now = 4): SessionEvent => ({ type: 'START', now }),
  creating: (agentId: string, kernelId: string, attempt: number, now = 5): SessionEvent => ({
    type: 'KERNEL_CREATING',
    now,
    agentId,
    kernelId,
    attempt,
  }),
  started: (agentId: string, kernelId: string, attempt: number, now = 5): SessionEvent => ({
    type: 'KERNEL_STARTED',
    now,
    agentId,
    kernelId,
    attempt,
  }),
  createFailed: (agentId: string, attempt: number, f: Failure, now = 5): SessionEvent => ({
    type: 'CREATE_FAILED',
    now,
    agentId,
    attempt,
    failure: f,
  }),
  inspected: (
    agentId: string,
    attempt: number,
    kernels: Record<string, 'creating' | 'running' | 'absent'>,
    now = 6,
  ): SessionEvent => ({ type: 'KERNELS_INSPECTED', now, agentId, attempt, kernels }),
  inspectFailed: (agentId: string, attempt: number, f: Failure, now = 6): SessionEvent => ({
    type: 'INSPECT_FAILED',
    now,
    agentId,
    attempt,
    failure: f,
  }),
  terminated: (
    agentId: string,
    kernelId: string,
    outcome: 'TERMINATED' | 'CANCELLED' = 'CANCELLED',
    now = 7,
  ): SessionEvent => ({ type: 'KERNEL_TERMINATED', now, agentId, kernelId, outcome }),
  agentLost: (agentId: string, now = 7): SessionEvent => ({ type: 'AGENT_LOST', now, agentId }),
  cancel: (now = 9, reason?: Reason): SessionEvent =>
    reason ? { type: 'CANCEL', now, reason } : { type: 'CANCEL', now },
  terminate: (now = 9): SessionEvent => ({ type: 'TERMINATE', now }),
  verify: (now = 9): SessionEvent => ({ type: 'VERIFY', now }),
  timer: (type: string, now: number): SessionEvent => ({ type, now }) as SessionEvent,
};

/** Effect constructors for exact expectations. */
export const fx = {
  reserve: (agentId: string, slots: Slots): Effect => ({
    type: 'reserve',
    sessionId: SID,
    agentId,
    slots,
  }),
  release: (agentId: string, slots: Slots): Effect => ({
    type: 'release',
    sessionId: SID,
    agentId,
    slots,
  }),
  pull: (agentId: string, kernelIds: string[], attempt: number, key = `${attempt}`): Effect => ({
    type: 'pullImages',
    sessionId: SID,
    agentId,
    image: 'img:1',
    kernelIds,
    attempt,
    key: `${SID}/${agentId}/pull/${key}`,
  }),
  create: (agentId: string, kernels: [string, Slots][], attempt: number, key = `${attempt}`) =>
    ({
      type: 'createKernels',
      sessionId: SID,
      agentId,
      image: 'img:1',
      kernels: kernels.map(([kernelId, slots]) => ({ kernelId, slots })),
      attempt,
      key: `${SID}/${agentId}/create/${key}`,
    }) as Effect,
  inspect: (agentId: string, kernelIds: string[], attempt: number, seq: number): Effect => ({
    type: 'inspectKernels',
    sessionId: SID,
    agentId,
    kernelIds,
    attempt,
    key: `${SID}/${agentId}/inspect/${attempt}.${seq}`,
  }),
  destroy: (agentId: string, kernelIds: string[], attempt: number, seq: number): Effect => ({
    type: 'destroyKernels',
    sessionId: SID,
    agentId,
    kernelIds,
    attempt,
    key: `${SID}/${agentId}/destroy/${attempt}.${seq}`,
  }),
  notify: (from: Status, to: Status, substate: string, at: number, reason?: Reason): Effect =>
    reason === undefined
      ? { type: 'notify', sessionId: SID, from, to, substate, at }
      : { type: 'notify', sessionId: SID, from, to, substate, at, reason },
  set: (timerId: string, dueAt: number): Effect => ({
    type: 'setTimer',
    sessionId: SID,
    timerId,
    event: timerId,
    dueAt,
  }),
  cancel: (timerId: string): Effect => ({ type: 'cancelTimer', sessionId: SID, timerId }),
};

/** A session driven event by event; `last` is the decision of the latest event. */
export class Driver {
  snapshot: SessionSnapshot;
  initialEffects: Effect[];
  last: Decision | undefined;

  constructor(sessionInput: SessionInput = input()) {
    const begun = start(sessionInput);
    this.snapshot = begun.next;
    this.initialEffects = begun.effects;
  }

  /** Sends events in order; returns the effects of the last one. */
  send(...events: SessionEvent[]): Effect[] {
    for (const event of events) {
      this.last = decide(this.snapshot, event);
      this.snapshot = this.last.next;
    }
    return this.last?.effects ?? [];
  }

  get value(): unknown {
    return this.snapshot.value;
  }

  get context() {
    return this.snapshot.context;
  }

  get kernelStatuses(): Record<string, string> {
    return Object.fromEntries(this.context.kernels.map((k) => [k.id, k.status]));
  }
}

/** One kernel on a1, driven to PREPARED (pull attempt 1). */
export function prepared(sessionInput: SessionInput = input()): Driver {
  const d = new Driver(sessionInput);
  const two = sessionInput.spec.kernels.length === 2;
  d.send(
    ev.schedule(two ? { k0: 'a1', k1: 'a2' } : { k0: 'a1' }),
    ev.prepare(),
    ev.pulled('a1', 1),
  );
  if (two) d.send(ev.pulled('a2', 1));
  return d;
}

/** Driven into CREATING.creating, create attempt 1 sent at 4. */
export function creating(sessionInput: SessionInput = input()): Driver {
  const d = prepared(sessionInput);
  d.send(ev.start());
  return d;
}
