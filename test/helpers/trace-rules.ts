/**
 * The safety rules the property tests check over a recorded trace. Each returns `null` when the
 * run keeps the rule, or a message that says which step broke it and how.
 */
import type { SessionContext } from '../../src/core/context.js';
import type { Effect } from '../../src/core/effects.js';
import { equals } from '../../src/core/slots.js';
import type { Slots, Stage } from '../../src/core/types.js';
import { backoffBounds } from '../../src/policy/backoff.js';
import { placedAgents, statusOf, substateOf } from './trace-events.js';
import {
  allEffects,
  isFinal,
  type Snapshot,
  type TraceRecord,
  type TraceRun,
} from './trace-run.js';

export type Violation = string | null;

function contextOf(snapshot: Snapshot): SessionContext {
  return (snapshot as unknown as { context: SessionContext }).context;
}

function stateValue(snapshot: Snapshot): unknown {
  return (snapshot as unknown as { value: unknown }).value;
}

function snapshots(run: TraceRun): Snapshot[] {
  return [run.initial, ...run.records.map((record) => record.after)];
}

/**
 * The spec and the policy a session was submitted with never change (the SQL store keeps them
 * once, at insert, and leaves them out of every later write).
 */
export function specAndPolicyFixed(run: TraceRun): Violation {
  const first = contextOf(run.initial);
  const fixed = JSON.stringify([first.spec, first.policy]);
  for (const record of run.records) {
    const { spec, policy } = contextOf(record.after);
    if (JSON.stringify([spec, policy]) !== fixed)
      return `step ${record.index}: spec or policy changed`;
  }
  return null;
}

/** Once final, an event changes neither the snapshot nor asks for anything. */
export function finalStatesAbsorb(run: TraceRun): Violation {
  for (const record of run.records) {
    if (!isFinal(record.before)) continue;
    const same =
      JSON.stringify(stateValue(record.after)) === JSON.stringify(stateValue(record.before)) &&
      JSON.stringify(contextOf(record.after)) === JSON.stringify(contextOf(record.before));
    if (!same || record.effects.length > 0 || !isFinal(record.after)) {
      return (
        `step ${record.index}: final snapshot moved or emitted ` +
        `[${record.effects.map((e) => e.type)}]`
      );
    }
  }
  return null;
}

function holdsMatch(open: Map<string, Slots>, holds: Record<string, Slots>): boolean {
  const agents = new Set([...open.keys(), ...Object.keys(holds)]);
  return [...agents].every((agent) => equals(open.get(agent) ?? {}, holds[agent] ?? {}));
}

/**
 * Reserves and releases pair up per agent with the same slots; what is open always equals the
 * context's `holds`; nothing is open once the session is final.
 */
export function reservationsBalance(run: TraceRun): Violation {
  const open = new Map<string, Slots>();
  const steps: [number, Effect[], Snapshot][] = [
    [-1, run.initialEffects, run.initial],
    ...run.records.map((r): [number, Effect[], Snapshot] => [r.index, r.effects, r.after]),
  ];
  for (const [at, effects, after] of steps) {
    for (const effect of effects) {
      const problem = book(open, effect);
      if (problem) return `step ${at}: ${problem}`;
    }
    const holds = contextOf(after).holds;
    if (!holdsMatch(open, holds)) {
      return (
        `step ${at}: open reservations ${JSON.stringify([...open])} != holds ` +
        `${JSON.stringify(holds)}`
      );
    }
    if (isFinal(after) && open.size > 0) {
      return `step ${at}: final with reservations still open ${JSON.stringify([...open])}`;
    }
  }
  return null;
}

/** Books one reserve / release in `open`; says what is wrong with it, if anything. */
function book(open: Map<string, Slots>, effect: Effect): string | null {
  if (effect.type === 'reserve') {
    if (open.has(effect.agentId)) return `second reserve on ${effect.agentId}`;
    open.set(effect.agentId, effect.slots);
  }
  if (effect.type === 'release') {
    const held = open.get(effect.agentId);
    if (!held) return `release on ${effect.agentId} with nothing reserved`;
    if (!equals(held, effect.slots)) {
      return `release ${JSON.stringify(effect.slots)} != reserved ${JSON.stringify(held)}`;
    }
    open.delete(effect.agentId);
  }
  return null;
}

/** No snapshot counts more attempts than the stage allows, nor does any pull / create effect. */
export function attemptsWithinBudget(run: TraceRun): Violation {
  const policy = run.input.policy;
  for (const [at, snapshot] of snapshots(run).entries()) {
    const { attempts } = contextOf(snapshot);
    for (const stage of ['pull', 'create'] as const) {
      if (attempts[stage] > policy[stage].maxAttempts) {
        return (
          `after step ${at - 1}: attempts.${stage} = ${attempts[stage]} > ` +
          `${policy[stage].maxAttempts}`
        );
      }
    }
  }
  for (const { at, effect } of allEffects(run)) {
    if (effect.type !== 'pullImages' && effect.type !== 'createKernels') continue;
    const stage = effect.type === 'pullImages' ? 'pull' : 'create';
    if (effect.attempt < 1 || effect.attempt > policy[stage].maxAttempts) {
      return (
        `step ${at}: ${effect.type} for attempt ${effect.attempt} (max ` +
        `${policy[stage].maxAttempts})`
      );
    }
  }
  return null;
}

/** The snapshot's actor status is never XState's 'error'. */
export function neverErrorStatus(run: TraceRun): Violation {
  for (const [at, snapshot] of snapshots(run).entries()) {
    const status = (snapshot as { status: string }).status;
    if (status === 'error') return `after step ${at - 1}: snapshot status 'error'`;
  }
  return null;
}

/** Stage of a failure report the session can act on now (current attempt, placed agent). */
export function actionableFailure(record: TraceRecord): Stage | null {
  const { event, before } = record;
  if (!('failure' in event) || !('attempt' in event)) return null;
  const context = contextOf(before);
  if (!placedAgents(context).includes(event.agentId)) return null;
  const status = statusOf(stateValue(before));
  const substate = substateOf(stateValue(before));
  if (event.type === 'PULL_FAILED' && status === 'PREPARING' && substate.startsWith('pulling')) {
    return event.attempt === context.attempts.pull ? 'pull' : null;
  }
  if (event.type === 'CREATE_FAILED' && status === 'CREATING' && substate.startsWith('creating')) {
    return event.attempt === context.attempts.create ? 'create' : null;
  }
  return null;
}

const USER_OR_DEADLINE = (record: TraceRecord): boolean =>
  record.event.type === 'CANCEL' ||
  record.event.type === 'TERMINATE' ||
  record.event.type.includes('deadline');

/** After an actionable permanent failure: no pull or create ever again; ends CANCELLED. */
function permanentNotRetried(run: TraceRun, from: TraceRecord, stage: Stage): Violation {
  let interrupted = false;
  for (const record of run.records.slice(from.index)) {
    if (record.index > from.index && USER_OR_DEADLINE(record)) interrupted = true;
    const retry = record.effects.find((e) => e.type === 'pullImages' || e.type === 'createKernels');
    if (retry)
      return (
        `step ${record.index}: ${retry.type} after a permanent ${stage} failure at ` +
        `${from.index}`
      );
    const status = statusOf(stateValue(record.after));
    if (status === 'RUNNING' || status === 'PREPARED') {
      return `step ${record.index}: ${status} after a permanent ${stage} failure at ${from.index}`;
    }
    if (!isFinal(record.after)) continue;
    const reason = contextOf(record.after).reason;
    // a user's terminate during the cleanup may end it TERMINATED (kernels were being destroyed)
    const endedAsAsked = interrupted && (status === 'CANCELLED' || status === 'TERMINATED');
    const gaveUp = status === 'CANCELLED' && reason === `${stage}-failed-permanently`;
    if (!endedAsAsked && !gaveUp) {
      return `step ${record.index}: ended ${status}/${reason} after a permanent ${stage} failure`;
    }
    return null;
  }
  return null;
}

/**
 * Permanent failures are never retried; transient ones never end the session while the stage
 * has budget left, and a `*-retries-exhausted` reason only ever comes with the budget spent.
 */
export function failureClassesHonoured(run: TraceRun): Violation {
  const policy = run.input.policy;
  for (const record of run.records) {
    const stage = actionableFailure(record);
    const failure = (record.event as { failure?: { class: string } }).failure;
    if (stage && failure?.class === 'permanent') {
      const problem = permanentNotRetried(run, record, stage);
      if (problem) return problem;
    }
    const spent = stage && contextOf(record.before).attempts[stage] >= policy[stage].maxAttempts;
    if (stage && failure?.class === 'transient' && !spent && isFinal(record.after)) {
      return `step ${record.index}: transient ${stage} failure ended the session with budget left`;
    }
  }
  for (const [at, snapshot] of snapshots(run).entries()) {
    const { reason, attempts } = contextOf(snapshot);
    for (const stage of ['pull', 'create'] as const) {
      if (reason === `${stage}-retries-exhausted` && attempts[stage] < policy[stage].maxAttempts) {
        return `after step ${at - 1}: ${reason} with attempts.${stage} = ${attempts[stage]}`;
      }
    }
  }
  return null;
}

/** Every backoff timer's delay lies within `backoffBounds`, or `[0, maxDelayMs]` on retryAfter. */
export function backoffWithinBounds(run: TraceRun): Violation {
  for (const record of run.records) {
    const now = (record.event as { now?: number }).now ?? 0;
    const context = contextOf(record.after);
    for (const effect of record.effects) {
      if (effect.type !== 'setTimer') continue;
      const stage = effect.event.includes('pullBackoff')
        ? 'pull'
        : effect.event.includes('createBackoff')
          ? 'create'
          : null;
      if (!stage) continue;
      const policy = run.input.policy[stage];
      const delay = effect.dueAt - now;
      const [low, high] = backoffBounds(policy, context.attempts[stage]);
      const inBounds = delay >= low && delay <= high;
      const override = context.lastFailure?.retryAfterMs !== undefined;
      if (!inBounds && !(override && delay >= 0 && delay <= policy.maxDelayMs)) {
        return (
          `step ${record.index}: ${stage} backoff ${delay} ms outside [${low}, ${high}] ` +
          `(retry ${context.attempts[stage]}, ${policy.jitter})`
        );
      }
    }
  }
  return null;
}

/**
 * An idempotency key names one request: a createKernels key is never emitted twice, and any
 * other key is only re-emitted for the same request (same payload, same placement).
 */
export function keysNameOneRequest(run: TraceRun): Violation {
  const seen = new Map<string, { payload: string; reschedules: number }>();
  for (const { at, effect } of allEffects(run)) {
    if (!('key' in effect)) continue;
    const snapshot = at < 0 ? run.initial : run.records[at]!.after;
    const reschedules = contextOf(snapshot).reschedules;
    const payload = JSON.stringify(effect);
    const earlier = seen.get(effect.key);
    if (earlier && effect.type === 'createKernels') {
      return `step ${at}: createKernels key ${effect.key} emitted a second time`;
    }
    if (earlier && (earlier.payload !== payload || earlier.reschedules !== reschedules)) {
      return `step ${at}: key ${effect.key} reused for a different request (${effect.type})`;
    }
    seen.set(effect.key, { payload, reschedules });
  }
  return null;
}
