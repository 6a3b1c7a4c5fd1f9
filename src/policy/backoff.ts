import type { StagePolicy } from './types.js';

/**
 * The delay before retry number `retry` (1 = the first retry), in whole milliseconds.
 *
 * `base = min(maxDelayMs, initialDelayMs * multiplier^(retry - 1))`, then by `jitter`:
 * - `none`: `base`;
 * - `full`: uniform in `[0, base]`;
 * - `equal`: uniform in `[base / 2, base]`;
 * - `decorrelated`: uniform in `[initialDelayMs, min(maxDelayMs, 3 * previousMs)]`, where
 *   `previousMs` is the delay chosen last time (`initialDelayMs` before the first retry).
 *
 * `random` is a uniform number in [0, 1) supplied by the caller. A failure's `retryAfterMs`
 * replaces the computed delay, clamped to `[0, maxDelayMs]`. Every result lies in
 * `[0, maxDelayMs]`.
 */
export function backoffDelay(
  stage: StagePolicy,
  retry: number,
  previousMs: number,
  random: number,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined) return clamp(Math.round(retryAfterMs), 0, stage.maxDelayMs);
  const base = baseDelay(stage, retry);
  switch (stage.jitter) {
    case 'none':
      return Math.floor(base);
    case 'full':
      return Math.floor(random * base);
    case 'equal':
      return Math.floor(base / 2 + (random * base) / 2);
    case 'decorrelated': {
      const upper = Math.min(stage.maxDelayMs, Math.max(stage.initialDelayMs, previousMs) * 3);
      return Math.floor(stage.initialDelayMs + random * (upper - stage.initialDelayMs));
    }
  }
}

/** The closed interval every delay for retry `retry` must fall in (used by tests and docs). */
export function backoffBounds(stage: StagePolicy, retry: number): [number, number] {
  const base = baseDelay(stage, retry);
  switch (stage.jitter) {
    case 'none':
      return [Math.floor(base), Math.floor(base)];
    case 'full':
      return [0, Math.floor(base)];
    case 'equal':
      return [Math.floor(base / 2), Math.floor(base)];
    case 'decorrelated':
      return [stage.initialDelayMs, stage.maxDelayMs];
  }
}

/**
 * The longest delay `decorrelated` jitter can reach by retry `retry` when no `retryAfterMs`
 * came before: each delay is at most three times the one before, starting from
 * `initialDelayMs`, so `min(maxDelayMs, initialDelayMs * 3^retry)`. A `retryAfterMs` resets the
 * previous delay, after which any retry may reach `maxDelayMs` (`backoffBounds`).
 */
export function decorrelatedReach(stage: StagePolicy, retry: number): number {
  return Math.min(stage.maxDelayMs, stage.initialDelayMs * 3 ** retry);
}

/** `min(maxDelayMs, initialDelayMs * multiplier^(retry - 1))`: the un-jittered delay. */
function baseDelay(stage: StagePolicy, retry: number): number {
  return Math.min(
    stage.maxDelayMs,
    stage.initialDelayMs * stage.multiplier ** Math.max(0, retry - 1),
  );
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
