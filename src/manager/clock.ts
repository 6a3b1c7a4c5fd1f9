/** Clocks for the manager: real time for production, a manual clock for tests and replay. */
import type { Clock } from './ports.js';

/** Wall-clock time (epoch ms). */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/**
 * A clock that moves only when told to: tests and virtual-time replay drive it with `set` and
 * `advance`. Time never goes backwards.
 */
export class ManualClock implements Clock {
  private current: number;

  /** @param start epoch ms to start at (default 0). */
  constructor(start = 0) {
    this.current = checkTime(start, 'start');
  }

  now(): number {
    return this.current;
  }

  /** Moves to `time`; throws a RangeError if that is before the current time. */
  set(time: number): void {
    checkTime(time, 'time');
    if (time < this.current) {
      throw new RangeError(
        `time is ${time}: a ManualClock never goes backwards (it is at ${this.current})`,
      );
    }
    this.current = time;
  }

  /** Moves forward by `ms` (a non-negative finite number) and returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`ms is ${ms}: advance takes a non-negative finite number`);
    }
    this.current += ms;
    return this.current;
  }
}

function checkTime(value: number, field: string): number {
  if (!Number.isFinite(value)) {
    throw new RangeError(`${field} is ${value}: a time must be a finite number of epoch ms`);
  }
  return value;
}
