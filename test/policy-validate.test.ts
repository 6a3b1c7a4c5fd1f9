import { describe, expect, test } from 'vitest';
import { defaultPolicy, seedPolicy } from '../src/policy/defaults.js';
import { PolicyError } from '../src/policy/errors.js';
import { type PolicyOverrides, resolvePolicy, validatePolicy } from '../src/policy/validate.js';

function rejection(run: () => unknown): PolicyError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return error as PolicyError;
  }
  throw new Error('expected a PolicyError, nothing was thrown');
}

const REJECTED: [string, unknown, string, unknown, string][] = [
  [
    'a zero attempt budget',
    { create: { maxAttempts: 0 } },
    'create.maxAttempts',
    0,
    'policy.create.maxAttempts must be an integer from 1 to 100, got 0',
  ],
  [
    'a fractional attempt budget',
    { pull: { maxAttempts: 2.5 } },
    'pull.maxAttempts',
    2.5,
    'policy.pull.maxAttempts must be an integer from 1 to 100, got 2.5',
  ],
  [
    'an attempt budget above the cap',
    { pull: { maxAttempts: 101 } },
    'pull.maxAttempts',
    101,
    'policy.pull.maxAttempts must be an integer from 1 to 100, got 101',
  ],
  [
    'a negative initial delay',
    { pull: { initialDelayMs: -1 } },
    'pull.initialDelayMs',
    -1,
    'policy.pull.initialDelayMs must be an integer from 0 to 86400000, got -1',
  ],
  [
    'a multiplier below 1',
    { create: { multiplier: 0.5 } },
    'create.multiplier',
    0.5,
    'policy.create.multiplier must be a number from 1 to 10, got 0.5',
  ],
  [
    'a multiplier that is not a number',
    { create: { multiplier: '2' } },
    'create.multiplier',
    '2',
    'policy.create.multiplier must be a number from 1 to 10, got "2"',
  ],
  [
    'a NaN multiplier',
    { pull: { multiplier: Number.NaN } },
    'pull.multiplier',
    Number.NaN,
    'policy.pull.multiplier must be a number from 1 to 10, got NaN',
  ],
  [
    'a cap below the initial delay',
    { pull: { maxDelayMs: 5_000 } },
    'pull.maxDelayMs',
    5_000,
    'policy.pull.maxDelayMs must be an integer from 10000 (initialDelayMs) to 86400000, got 5000',
  ],
  [
    'an unknown jitter kind',
    { create: { jitter: 'random' } },
    'create.jitter',
    'random',
    'policy.create.jitter must be one of "none", "full", "equal", "decorrelated", got "random"',
  ],
  [
    'a zero stage timeout',
    { create: { timeoutMs: 0 } },
    'create.timeoutMs',
    0,
    'policy.create.timeoutMs must be an integer from 1 to 86400000, got 0',
  ],
  [
    'a recheck interval as long as the timeout',
    { create: { recheckMs: 600_000 } },
    'create.recheckMs',
    600_000,
    'policy.create.recheckMs must be an integer from 1 to 599999 (below timeoutMs), got 600000',
  ],
  [
    'a negative reschedule budget',
    { rescheduleBudget: -1 },
    'rescheduleBudget',
    -1,
    'policy.rescheduleBudget must be an integer from 0 to 100, got -1',
  ],
  [
    'a zero overall deadline',
    { deadlineMs: 0 },
    'deadlineMs',
    0,
    'policy.deadlineMs must be an integer from 1 to 2592000000, got 0',
  ],
  [
    'a zero cleanup timeout',
    { cleanupTimeoutMs: 0 },
    'cleanupTimeoutMs',
    0,
    'policy.cleanupTimeoutMs must be an integer from 1 to 86400000, got 0',
  ],
  [
    'an unknown stage field',
    { create: { retries: 3 } },
    'create.retries',
    3,
    'policy.create.retries is not a policy field (got 3); allowed fields: maxAttempts, ' +
      'initialDelayMs, multiplier, maxDelayMs, jitter, timeoutMs, recheckMs',
  ],
  [
    'an unknown top-level field',
    { retries: 3 },
    'retries',
    3,
    'policy.retries is not a policy field (got 3); allowed fields: pull, create, ' +
      'rescheduleBudget, deadlineMs, cleanupTimeoutMs',
  ],
  ['a stage that is not an object', { pull: 5 }, 'pull', 5, 'policy.pull must be an object, got 5'],
];

describe('resolvePolicy rejections', () => {
  test.each(REJECTED)('rejects %s', (_title, overrides, field, value, message) => {
    const error = rejection(() => resolvePolicy(overrides as PolicyOverrides));
    expect(error.message).toBe(message);
    expect(error.field).toBe(field);
    expect(error.value).toStrictEqual(value);
    expect(error.code).toBe('invalid-policy');
  });

  test('rejects a policy that is not an object', () => {
    const error = rejection(() => resolvePolicy('fast' as PolicyOverrides));
    expect(error.message).toBe('policy must be an object, got "fast"');
    expect(error.field).toBe('');
  });
});

describe('validatePolicy', () => {
  test('returns an equal, deep-frozen copy of a complete policy', () => {
    const policy = validatePolicy(structuredClone(defaultPolicy));
    expect(policy).toStrictEqual(defaultPolicy);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.pull)).toBe(true);
    expect(Object.isFrozen(policy.create)).toBe(true);
  });

  test('rejects a stage with a missing field', () => {
    const { jitter: _dropped, ...pull } = defaultPolicy.pull;
    const error = rejection(() => validatePolicy({ ...defaultPolicy, pull }));
    expect(error.message).toBe(
      'policy.pull.jitter must be one of "none", "full", "equal", "decorrelated", got undefined',
    );
    expect(error.field).toBe('pull.jitter');
  });

  test('rejects a policy with a missing stage', () => {
    const { create: _dropped, ...rest } = defaultPolicy;
    const error = rejection(() => validatePolicy(rest));
    expect(error.message).toBe('policy.create must be an object, got undefined');
  });

  test('rejects a missing reschedule budget', () => {
    const { rescheduleBudget: _dropped, ...rest } = defaultPolicy;
    const error = rejection(() => validatePolicy(rest));
    expect(error.message).toBe(
      'policy.rescheduleBudget must be an integer from 0 to 100, got undefined',
    );
  });

  test('accepts the seed policy unchanged', () => {
    expect(validatePolicy(structuredClone(seedPolicy))).toStrictEqual(seedPolicy);
  });
});

describe('resolvePolicy merging', () => {
  test('fills every missing field from the default policy', () => {
    expect(resolvePolicy()).toStrictEqual(defaultPolicy);
    expect(resolvePolicy({})).toStrictEqual(defaultPolicy);
  });

  test('overrides one stage field and keeps the rest of that stage', () => {
    const policy = resolvePolicy({ create: { maxAttempts: 2 } });
    expect(policy.create).toStrictEqual({ ...defaultPolicy.create, maxAttempts: 2 });
    expect(policy.pull).toStrictEqual(defaultPolicy.pull);
  });

  test('treats an undefined override as absent', () => {
    const policy = resolvePolicy({ pull: { jitter: undefined }, deadlineMs: undefined });
    expect(policy).toStrictEqual(defaultPolicy);
    expect('deadlineMs' in policy).toBe(false);
  });

  test('merges over a given base policy', () => {
    const policy = resolvePolicy({ deadlineMs: 3_600_000 }, seedPolicy);
    expect(policy).toStrictEqual({ ...seedPolicy, deadlineMs: 3_600_000 });
  });

  test('returns a deep-frozen policy', () => {
    const policy = resolvePolicy({ pull: { jitter: 'full' } });
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.pull)).toBe(true);
  });
});

describe('PolicyError', () => {
  test('is recognised by instanceof across copies through its global brand', () => {
    const foreign = Object.assign(new Error('x'), {
      [Symbol.for('session-lifecycle.PolicyError')]: true,
    });
    expect(foreign).toBeInstanceOf(PolicyError);
    expect(new Error('plain')).not.toBeInstanceOf(PolicyError);
  });

  test('keeps the field, value and allowed range as data', () => {
    const error = new PolicyError('pull.maxAttempts', 0, 'an integer from 1 to 100');
    expect(error.name).toBe('PolicyError');
    expect(error.allowed).toBe('an integer from 1 to 100');
    expect(error.message).toBe('policy.pull.maxAttempts must be an integer from 1 to 100, got 0');
  });
});
