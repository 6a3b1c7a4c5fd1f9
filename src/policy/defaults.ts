import type { RetryPolicy } from './types.js';

/**
 * The default policy. Where each number comes from:
 * - `maxAttempts: 5`: Backend.AI retries a failing operation 5 times.
 * - `initialDelayMs: 10 s`, `multiplier: 2`, `maxDelayMs: 5 min`: kubelet's image-pull and
 *   crash-loop backoff starts at 10 s and doubles up to 5 min.
 * - `pull.timeoutMs: 15 min`, `create.timeoutMs: 10 min`: Backend.AI's PREPARING and CREATING
 *   timeouts.
 * - `jitter: 'equal'`: spreads retries of many sessions hit by one agent hiccup while keeping
 *   at least half the base delay.
 * - `recheckMs: 2 min`: how long to wait on an agent's report before asking again (pull) or
 *   inspecting (create); well under the stage timeouts.
 * - `rescheduleBudget: 3`, `cleanupTimeoutMs: 2 min`: a session may move away from 3 bad agents;
 *   cleanup waits 2 min for destroy confirmations, then asks again rather than create while a
 *   kernel may exist (the destroy stays queued in the outbox).
 */
export const defaultPolicy: RetryPolicy = deepFreeze({
  pull: {
    maxAttempts: 5,
    initialDelayMs: 10_000,
    multiplier: 2,
    maxDelayMs: 300_000,
    jitter: 'equal',
    timeoutMs: 15 * 60_000,
    recheckMs: 120_000,
  },
  create: {
    maxAttempts: 5,
    initialDelayMs: 10_000,
    multiplier: 2,
    maxDelayMs: 300_000,
    jitter: 'equal',
    timeoutMs: 10 * 60_000,
    recheckMs: 120_000,
  },
  rescheduleBudget: 3,
  cleanupTimeoutMs: 120_000,
});

/**
 * The original behaviour, for comparison: no retries and no rescheduling. Any failure while
 * preparing or creating cancels the session (after a verify when a create's outcome is unknown,
 * so that cancelling never leaks a kernel).
 */
export const seedPolicy: RetryPolicy = deepFreeze({
  ...defaultPolicy,
  pull: { ...defaultPolicy.pull, maxAttempts: 1 },
  create: { ...defaultPolicy.create, maxAttempts: 1 },
  rescheduleBudget: 0,
});

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner && typeof inner === 'object') deepFreeze(inner);
  }
  return Object.freeze(value);
}
