/**
 * Boundary check of events given to `decide`: the type must be in the `SessionEvent` union
 * (or a timer, `xstate.after.*`), and the fields the chart reads must be present and typed.
 */
import { InvalidEventError, UnknownEventError } from './errors.js';
import type { SessionEventType } from './events.js';
import { FAILURE_CLASSES, REASONS } from './types.js';

type Check = [field: string, test: (value: unknown) => boolean, allowed: string];

const isString = (v: unknown) => typeof v === 'string' && v !== '';
const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const now: Check = ['now', Number.isFinite, 'a finite number (epoch ms)'];
const agentId: Check = ['agentId', isString, 'a non-empty string'];
const kernelId: Check = ['kernelId', isString, 'a non-empty string'];
const attempt: Check = ['attempt', isCount, 'an integer >= 0'];
const failure: Check = [
  'failure',
  (v) =>
    isRecord(v) &&
    (FAILURE_CLASSES as readonly unknown[]).includes(v.class) &&
    typeof v.code === 'string' &&
    typeof v.message === 'string',
  `an object { class: ${FAILURE_CLASSES.join(' | ')}, code: string, message: string }`,
];

/** Field checks per event type (timers are checked apart: their type is open-ended). */
const CHECKS: Record<Exclude<SessionEventType, `xstate.after.${string}`>, Check[]> = {
  SCHEDULE: [
    now,
    [
      'placement',
      (v) => isRecord(v) && Object.values(v).every(isString),
      'an object of kernel id -> agent id',
    ],
  ],
  PLACEMENT_FAILED: [
    now,
    ['predicate', (v) => typeof v === 'string', 'a string'],
    ['message', (v) => typeof v === 'string', 'a string'],
  ],
  PREPARE: [now],
  IMAGE_PULLING: [now, agentId, attempt],
  IMAGE_PULLED: [now, agentId, attempt],
  PULL_FAILED: [now, agentId, attempt, failure],
  START: [now],
  KERNEL_CREATING: [now, agentId, kernelId, attempt],
  KERNEL_STARTED: [now, agentId, kernelId, attempt],
  CREATE_FAILED: [now, agentId, attempt, failure],
  KERNELS_INSPECTED: [
    now,
    agentId,
    attempt,
    [
      'kernels',
      (v) =>
        isRecord(v) &&
        Object.values(v).every((s) => ['creating', 'running', 'absent'].includes(s as string)),
      'an object of kernel id -> creating | running | absent',
    ],
  ],
  INSPECT_FAILED: [now, agentId, attempt, failure],
  KERNEL_TERMINATED: [
    now,
    agentId,
    kernelId,
    ['outcome', (v) => v === 'TERMINATED' || v === 'CANCELLED', 'TERMINATED or CANCELLED'],
    ['attempt', (v) => v === undefined || isCount(v), 'absent or an integer >= 0'],
  ],
  AGENT_LOST: [now, agentId],
  CANCEL: [
    now,
    [
      'reason',
      (v) => v === undefined || (REASONS as readonly unknown[]).includes(v),
      `absent or one of ${REASONS.join(', ')}`,
    ],
  ],
  TERMINATE: [now],
  VERIFY: [now],
};

/** The event types `decide` accepts by name. */
export const EVENT_TYPES = Object.keys(CHECKS) as readonly string[];

/** Prefix of stray child-actor error events, which are accepted and ignored. */
export const ACTOR_ERROR_PREFIX = 'xstate.error.actor.';

/** Throws `UnknownEventError` / `InvalidEventError` unless `event` is a well-formed event. */
export function checkEvent(event: unknown): void {
  if (!isRecord(event)) throw new UnknownEventError(event, EVENT_TYPES);
  const type = event.type;
  if (typeof type !== 'string') throw new UnknownEventError(type, EVENT_TYPES);
  if (type.startsWith(ACTOR_ERROR_PREFIX)) return;
  const known = Object.hasOwn(CHECKS, type) ? CHECKS[type as keyof typeof CHECKS] : undefined;
  const checks = type.startsWith('xstate.after.') ? [now] : known;
  if (checks === undefined) throw new UnknownEventError(type, EVENT_TYPES);
  for (const [field, test, allowed] of checks) {
    if (!test(event[field])) throw new InvalidEventError(type, field, event[field], allowed);
  }
}
