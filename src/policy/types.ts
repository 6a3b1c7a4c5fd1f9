/** How backoff delays are spread. See `docs/lifecycle.md` for each formula. */
export const JITTER_KINDS = ['none', 'full', 'equal', 'decorrelated'] as const;
export type Jitter = (typeof JITTER_KINDS)[number];

/** Retry settings for one stage (pull or create). */
export interface StagePolicy {
  /** Attempts in all, the first included (1 means no retry). Integer, 1..100. */
  maxAttempts: number;
  /** Delay before the first retry, ms. Integer >= 0. */
  initialDelayMs: number;
  /** Growth factor per retry. Number >= 1. */
  multiplier: number;
  /** Cap on any computed delay, ms. Integer >= initialDelayMs. */
  maxDelayMs: number;
  jitter: Jitter;
  /** Deadline of one attempt of the stage, ms; a timeout is a failure of the stage's class. */
  timeoutMs: number;
  /** While waiting on an attempt, re-ask the agent (pull) or inspect it (create) this often. */
  recheckMs: number;
}

/**
 * The retry policy: plain data, validated at the boundary (`validatePolicy`) and frozen into
 * each session at submit, so a later change does not rewrite sessions already running.
 */
export interface RetryPolicy {
  pull: StagePolicy;
  create: StagePolicy;
  /** How many times a session may go back to PENDING after an agent failure. Integer >= 0. */
  rescheduleBudget: number;
  /** Optional overall deadline from submit to RUNNING, ms; past it the session is cancelled. */
  deadlineMs?: number;
  /**
   * How long cleanup waits for destroy confirmations, ms. At the timeout a cleanup that would
   * create again asks for the destroy again (a bounded number of times, then cancels with
   * `cleanup-timed-out`); one that gives up anyway ends at once. The destroy stays queued.
   */
  cleanupTimeoutMs: number;
}
