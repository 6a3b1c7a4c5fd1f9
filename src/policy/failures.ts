import { FAILURE_CLASSES, type Failure, type FailureClass } from '../core/types.js';

/** What the chart does with one failure class, for the docs and for callers deciding. */
export interface FailureClassDoc {
  /** What the chart does next, in one sentence. */
  next: string;
  /** Whether a backoff delay is waited out before the next attempt. */
  backoff: boolean;
  /** Which budget the failure uses up. */
  counts: string;
}

/**
 * The handling of each failure class. `satisfies` keeps the table in step with
 * `FAILURE_CLASSES`: adding a class without documenting it does not compile.
 */
export const FAILURE_CLASS_DOCS = {
  transient: {
    next:
      'Back off, then retry the stage on the same agent; once the stage budget is spent, ' +
      'clean up and cancel with `<stage>-retries-exhausted`.',
    backoff: true,
    counts: 'the stage budget (`pull.maxAttempts` or `create.maxAttempts`)',
  },
  ambiguous: {
    next:
      'Create: inspect the agents first (`verifying`) and never create twice; kernels found ' +
      'running are kept, partial ones destroyed, and an absent attempt is retried after a ' +
      'backoff. Pull: handled as transient (pulling is idempotent).',
    backoff: true,
    counts: 'nothing until verified; a retry then uses the stage budget',
  },
  agent: {
    next:
      'Destroy what may exist, release every reservation and return to PENDING; placement ' +
      'then avoids the agent. Past the budget: cancel with `reschedule-budget-exhausted`.',
    backoff: false,
    counts: 'the reschedule budget (`rescheduleBudget`)',
  },
  permanent: {
    next:
      'Clean up (destroy partial kernels, release slots) and cancel with ' +
      '`<stage>-failed-permanently`.',
    backoff: false,
    counts: 'nothing: the session ends',
  },
} as const satisfies Record<FailureClass, FailureClassDoc>;

/**
 * Builds a failure report as adapters should send it. `retryAfterMs` (a hint such as an HTTP
 * `Retry-After`) replaces the computed backoff of the retry it causes; it is left out when not
 * given, so the object stays plain JSON.
 */
export function failure(
  failureClass: FailureClass,
  code: string,
  message: string,
  retryAfterMs?: number,
): Failure {
  const made: Failure = { class: failureClass, code, message };
  if (retryAfterMs !== undefined) made.retryAfterMs = retryAfterMs;
  return made;
}

/** Whether the same request may be tried again (every class but `permanent`). */
export function isRetryable(failed: Failure): boolean {
  return failed.class !== 'permanent';
}

/** Whether a value is a well-formed failure report (for events arriving from outside). */
export function isFailure(value: unknown): value is Failure {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  const retryAfter = candidate.retryAfterMs;
  return (
    FAILURE_CLASSES.includes(candidate.class as FailureClass) &&
    typeof candidate.code === 'string' &&
    typeof candidate.message === 'string' &&
    (retryAfter === undefined ||
      (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0))
  );
}
