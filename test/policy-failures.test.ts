import { describe, expect, test } from 'vitest';
import { FAILURE_CLASSES } from '../src/core/types.js';
import { FAILURE_CLASS_DOCS, failure, isFailure, isRetryable } from '../src/policy/failures.js';

describe('failure', () => {
  test('builds plain data without retryAfterMs when none is given', () => {
    const made = failure('transient', 'connection-refused', 'agent i-1 refused the connection');
    expect(made).toStrictEqual({
      class: 'transient',
      code: 'connection-refused',
      message: 'agent i-1 refused the connection',
    });
    expect('retryAfterMs' in made).toBe(false);
  });

  test('keeps a retryAfterMs hint', () => {
    expect(failure('transient', 'agent-busy', 'busy', 2_500)).toStrictEqual({
      class: 'transient',
      code: 'agent-busy',
      message: 'busy',
      retryAfterMs: 2_500,
    });
  });
});

describe('isRetryable', () => {
  test('only a permanent failure is not retryable', () => {
    const verdicts = FAILURE_CLASSES.map((kind) => isRetryable(failure(kind, 'x', 'x')));
    expect(verdicts).toStrictEqual([true, true, true, false]);
  });
});

describe('isFailure', () => {
  test('accepts well-formed reports and rejects malformed ones', () => {
    expect(isFailure(failure('agent', 'agent-lost', 'gone'))).toBe(true);
    expect(isFailure({ class: 'flaky', code: 'x', message: 'x' })).toBe(false);
    expect(isFailure({ class: 'transient', code: 1, message: 'x' })).toBe(false);
    expect(isFailure({ class: 'transient', code: 'x', message: 'x', retryAfterMs: -1 })).toBe(
      false,
    );
    expect(isFailure(null)).toBe(false);
  });
});

describe('FAILURE_CLASS_DOCS', () => {
  test('documents every failure class and nothing else', () => {
    expect(Object.keys(FAILURE_CLASS_DOCS)).toStrictEqual([...FAILURE_CLASSES]);
  });

  test('says backoff applies to transient and ambiguous failures only', () => {
    const backoff = FAILURE_CLASSES.filter((kind) => FAILURE_CLASS_DOCS[kind].backoff);
    expect(backoff).toStrictEqual(['transient', 'ambiguous']);
  });
});
