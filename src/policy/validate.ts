import { z } from 'zod';
import { defaultPolicy } from './defaults.js';
import { fieldLabel, PolicyError, showValue } from './errors.js';
import { JITTER_KINDS, type RetryPolicy, type StagePolicy } from './types.js';

/** Attempts per stage. Caps how hard one session can hammer an agent or a registry. */
export const MAX_ATTEMPTS = 100;
/** Cap on any backoff delay (1 day): a longer wait is a parked session, better cancelled. */
export const MAX_DELAY_MS = 86_400_000;
/** Cap on the backoff growth factor; beyond it the first retry already hits `maxDelayMs`. */
export const MAX_MULTIPLIER = 10;
/** Cap on stage and cleanup timeouts (1 day), so a stuck attempt is always noticed. */
export const MAX_TIMEOUT_MS = 86_400_000;
/** Cap on reschedules: each one moves the session to another agent and re-pulls the image. */
export const MAX_RESCHEDULES = 100;
/** Cap on the overall deadline (30 days), far beyond any real start-up. */
export const MAX_DEADLINE_MS = 30 * 86_400_000;

/** A policy given in part: every field optional, merged over a complete base policy. */
export interface PolicyOverrides {
  pull?: Partial<StagePolicy>;
  create?: Partial<StagePolicy>;
  rescheduleBudget?: number;
  deadlineMs?: number;
  cleanupTimeoutMs?: number;
}

interface Rule<S extends z.ZodType = z.ZodType> {
  schema: S;
  allowed: string;
}

function intRule(min: number, max: number): Rule<z.ZodNumber> {
  return {
    schema: z.number().int().min(min).max(max),
    allowed: `an integer from ${min} to ${max}`,
  };
}

const STAGE_RULES = {
  maxAttempts: intRule(1, MAX_ATTEMPTS),
  initialDelayMs: intRule(0, MAX_DELAY_MS),
  multiplier: {
    schema: z.number().min(1).max(MAX_MULTIPLIER),
    allowed: `a number from 1 to ${MAX_MULTIPLIER}`,
  },
  maxDelayMs: {
    schema: z.number().int().min(0).max(MAX_DELAY_MS),
    allowed: `an integer from initialDelayMs to ${MAX_DELAY_MS}`,
  },
  jitter: {
    schema: z.enum(JITTER_KINDS),
    allowed: `one of ${JITTER_KINDS.map((kind) => JSON.stringify(kind)).join(', ')}`,
  },
  timeoutMs: intRule(1, MAX_TIMEOUT_MS),
  recheckMs: {
    schema: z.number().int().min(1).max(MAX_TIMEOUT_MS),
    allowed: 'an integer from 1 to timeoutMs - 1',
  },
} satisfies Record<keyof StagePolicy, Rule>;

const TOP_RULES = {
  rescheduleBudget: intRule(0, MAX_RESCHEDULES),
  deadlineMs: intRule(1, MAX_DEADLINE_MS),
  cleanupTimeoutMs: intRule(1, MAX_TIMEOUT_MS),
} satisfies Record<Exclude<keyof RetryPolicy, 'pull' | 'create'>, Rule>;

const OBJECT_ALLOWED = 'an object';

/** What each field accepts, by its last path segment. */
const ALLOWED: Record<string, string> = Object.fromEntries(
  Object.entries({ ...STAGE_RULES, ...TOP_RULES }).map(([key, rule]) => [key, rule.allowed]),
);

const stageSchema = z.strictObject(shapeOf(STAGE_RULES));

const policySchema = z.strictObject({
  pull: stageSchema,
  create: stageSchema,
  rescheduleBudget: TOP_RULES.rescheduleBudget.schema,
  deadlineMs: TOP_RULES.deadlineMs.schema.optional(),
  cleanupTimeoutMs: TOP_RULES.cleanupTimeoutMs.schema,
});

/**
 * Checks a complete retry policy and returns it deep-frozen. Throws a `PolicyError` naming the
 * first offending field, its value and what is allowed. Every field is required except
 * `deadlineMs`; unknown fields are rejected. Use `resolvePolicy` to fill gaps from defaults.
 */
export function validatePolicy(input: unknown): RetryPolicy {
  const result = policySchema.safeParse(input);
  if (!result.success) throw fromIssue(input, result.error.issues[0]!);
  const policy: RetryPolicy = result.data;
  checkStage('pull', policy.pull);
  checkStage('create', policy.create);
  return deepFreeze(policy);
}

/**
 * Merges `overrides` over `base` (the default policy unless given) field by field, then
 * validates the result. An `undefined` override leaves the base value in place.
 */
export function resolvePolicy(
  overrides: PolicyOverrides = {},
  base: RetryPolicy = defaultPolicy,
): RetryPolicy {
  if (!isPlainObject(overrides)) throw new PolicyError('', overrides, OBJECT_ALLOWED);
  const merged: Record<string, unknown> = mergeDefined(base, overrides);
  for (const stage of ['pull', 'create'] as const) {
    const given: unknown = overrides[stage];
    if (given === undefined) continue;
    if (!isPlainObject(given)) throw new PolicyError(stage, given, OBJECT_ALLOWED);
    merged[stage] = mergeDefined(base[stage], given);
  }
  return validatePolicy(merged);
}

/** The checks that relate two fields of one stage, run over zod's output. */
function checkStage(stage: 'pull' | 'create', policy: StagePolicy): void {
  if (policy.maxDelayMs < policy.initialDelayMs) {
    const allowed = `an integer from ${policy.initialDelayMs} (initialDelayMs) to ${MAX_DELAY_MS}`;
    throw new PolicyError(`${stage}.maxDelayMs`, policy.maxDelayMs, allowed);
  }
  if (policy.recheckMs >= policy.timeoutMs) {
    const allowed = `an integer from 1 to ${policy.timeoutMs - 1} (below timeoutMs)`;
    throw new PolicyError(`${stage}.recheckMs`, policy.recheckMs, allowed);
  }
}

function fromIssue(input: unknown, issue: z.core.$ZodIssue): PolicyError {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const field = [...path, issue.keys[0]!].join('.');
    const value = valueAt(input, [...path, issue.keys[0]!]);
    const known = Object.keys(path.length === 0 ? policySchema.shape : STAGE_RULES).join(', ');
    const allowed = `one of the fields ${known}`;
    const message =
      `${fieldLabel(field)} is not a policy field (got ${showValue(value)}); ` +
      `allowed fields: ${known}`;
    return new PolicyError(field, value, allowed, message);
  }
  const last = path.at(-1);
  const allowed =
    last === undefined || last === 'pull' || last === 'create' ? OBJECT_ALLOWED : ALLOWED[last];
  return new PolicyError(path.join('.'), valueAt(input, path), allowed ?? 'valid');
}

function shapeOf<R extends Record<string, Rule>>(rules: R): { [K in keyof R]: R[K]['schema'] } {
  const entries = Object.entries(rules).map(([key, rule]) => [key, rule.schema]);
  return Object.fromEntries(entries) as { [K in keyof R]: R[K]['schema'] };
}

function valueAt(input: unknown, path: string[]): unknown {
  let current = input;
  for (const key of path) {
    if (!isPlainObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

function mergeDefined(base: object, overrides: object): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner && typeof inner === 'object') deepFreeze(inner);
  }
  return Object.freeze(value);
}
