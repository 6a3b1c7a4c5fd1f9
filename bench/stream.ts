import type { SessionInput } from '../src/core/context.js';
import type { SessionEvent } from '../src/core/events.js';
import type { KernelSpec } from '../src/core/types.js';
import { defaultPolicy } from '../src/policy/defaults.js';

/** One step of the benchmark stream: an event for session number `session`. */
export interface StreamStep {
  session: number;
  event: SessionEvent;
}

/** The sessions and the interleaved events every candidate replays. */
export interface LifecycleStream {
  inputs: SessionInput[];
  steps: StreamStep[];
}

/** Every `CREATE_RETRY_EVERY`-th session fails its first create (transient) and retries. */
export const CREATE_RETRY_EVERY = 4;
/** Every `PULL_RETRY_EVERY`-th session fails its first pull (transient) and retries. */
export const PULL_RETRY_EVERY = 8;
const AGENTS = 16;
const T0 = 1_700_000_000_000;
const TRANSIENT = { class: 'transient', code: 'agent-busy', message: 'agent busy' } as const;

/**
 * `sessions` sessions of one or two kernels (both on one agent), each taken from PENDING to
 * RUNNING: SCHEDULE, PREPARE, IMAGE_PULLING, IMAGE_PULLED, START, KERNEL_CREATING and
 * KERNEL_STARTED per kernel. Some fail their first pull or create with a transient failure;
 * their backoff timer then fires and the next attempt succeeds. Sessions advance in rounds
 * (one event each per round), the way a manager interleaves them.
 */
export function lifecycleStream(sessions: number): LifecycleStream {
  const inputs: SessionInput[] = [];
  const perSession: SessionEvent[][] = [];
  for (let i = 0; i < sessions; i++) {
    const kernels: KernelSpec[] = [{ id: 'k0', slots: { cpu: 1_000, mem: 2_048 } }];
    if (i % 2 === 1) kernels.push({ id: 'k1', slots: { cpu: 500, mem: 1_024, 'cuda.device': 1 } });
    const spec = {
      id: `s${i}`,
      owner: `u${i % 7}`,
      image: 'python:3.12',
      priority: 0,
      kernels,
      dependsOn: [],
      submittedAt: T0,
    };
    inputs.push({ spec, policy: defaultPolicy, seed: i * 2_654_435_761, now: T0 });
    perSession.push(sessionEvents(i, `a${i % AGENTS}`, kernels));
  }
  return { inputs, steps: interleave(perSession) };
}

function sessionEvents(i: number, agentId: string, kernels: KernelSpec[]): SessionEvent[] {
  let now = T0;
  const at = () => (now += 1_000);
  const placement = Object.fromEntries(kernels.map((k) => [k.id, agentId]));
  const events: SessionEvent[] = [
    { type: 'SCHEDULE', now: at(), placement },
    { type: 'PREPARE', now: at() },
    { type: 'IMAGE_PULLING', now: at(), agentId, attempt: 1 },
  ];
  let pull = 1;
  if (i % PULL_RETRY_EVERY === PULL_RETRY_EVERY - 1) {
    events.push({ type: 'PULL_FAILED', now: at(), agentId, attempt: 1, failure: TRANSIENT });
    events.push({ type: 'xstate.after.pullBackoff.session.PREPARING.backoff', now: at() });
    pull = 2;
  }
  events.push({ type: 'IMAGE_PULLED', now: at(), agentId, attempt: pull });
  events.push({ type: 'START', now: at() });
  let create = 1;
  if (i % CREATE_RETRY_EVERY === CREATE_RETRY_EVERY - 1) {
    events.push({ type: 'CREATE_FAILED', now: at(), agentId, attempt: 1, failure: TRANSIENT });
    events.push({ type: 'xstate.after.createBackoff.session.CREATING.backoff', now: at() });
    create = 2;
  }
  for (const k of kernels) {
    events.push({ type: 'KERNEL_CREATING', now: at(), agentId, kernelId: k.id, attempt: create });
  }
  for (const k of kernels) {
    events.push({ type: 'KERNEL_STARTED', now: at(), agentId, kernelId: k.id, attempt: create });
  }
  return events;
}

function interleave(perSession: SessionEvent[][]): StreamStep[] {
  const steps: StreamStep[] = [];
  const longest = Math.max(...perSession.map((events) => events.length));
  for (let round = 0; round < longest; round++) {
    perSession.forEach((events, session) => {
      const event = events[round];
      if (event) steps.push({ session, event });
    });
  }
  return steps;
}
