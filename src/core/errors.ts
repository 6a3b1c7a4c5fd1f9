/**
 * Typed errors of the decision core. Each names the offending field or value and says what is
 * allowed. `instanceof` works across duplicated copies of this package: every class is branded
 * with a global symbol and checks the brand in `Symbol.hasInstance`.
 */

const BRANDS = {
  UnknownEventError: Symbol.for('session-lifecycle.UnknownEventError'),
  InvalidEventError: Symbol.for('session-lifecycle.InvalidEventError'),
  CorruptSnapshotError: Symbol.for('session-lifecycle.CorruptSnapshotError'),
  UnknownStateError: Symbol.for('session-lifecycle.UnknownStateError'),
} as const;

function brand(error: Error, name: keyof typeof BRANDS): void {
  Object.defineProperty(error, BRANDS[name], { value: true });
}

function branded(candidate: unknown, name: keyof typeof BRANDS): boolean {
  return typeof candidate === 'object' && candidate !== null && BRANDS[name] in candidate;
}

/** `decide` got an event whose type is not in the `SessionEvent` union. Not retryable. */
export class UnknownEventError extends Error {
  readonly code = 'unknown-event';
  readonly field = 'type';
  readonly eventType: unknown;

  constructor(eventType: unknown, allowed: readonly string[]) {
    super(
      `event.type ${JSON.stringify(eventType)} is not a session event; expected one of ` +
        `${allowed.join(', ')}, or xstate.after.<delay>.<state id> for a timer`,
    );
    this.name = 'UnknownEventError';
    this.eventType = eventType;
    brand(this, 'UnknownEventError');
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return branded(candidate, 'UnknownEventError');
  }
}

/** `decide` got a known event with a missing or malformed field. Not retryable. */
export class InvalidEventError extends Error {
  readonly code = 'invalid-event';
  readonly field: string;
  readonly eventType: string;
  readonly value: unknown;

  constructor(eventType: string, field: string, value: unknown, allowed: string) {
    super(`${eventType} event field ${field} must be ${allowed}, got ${show(value)}`);
    this.name = 'InvalidEventError';
    this.eventType = eventType;
    this.field = field;
    this.value = value;
    brand(this, 'InvalidEventError');
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return branded(candidate, 'InvalidEventError');
  }
}

/** A persisted snapshot is not one `persist` could have written. Not retryable. */
export class CorruptSnapshotError extends Error {
  readonly code = 'corrupt-snapshot';
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, allowed: string) {
    super(`persisted snapshot field ${field} must be ${allowed}, got ${show(value)}`);
    this.name = 'CorruptSnapshotError';
    this.field = field;
    this.value = value;
    brand(this, 'CorruptSnapshotError');
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return branded(candidate, 'CorruptSnapshotError');
  }
}

/** A persisted snapshot names a state the chart does not have (written by another version?). */
export class UnknownStateError extends Error {
  readonly code = 'unknown-state';
  readonly field = 'value';
  readonly state: string;

  constructor(state: string, allowed: readonly string[]) {
    super(
      `persisted snapshot value names state ${JSON.stringify(state)}, which the session chart ` +
        `does not have; expected one of ${allowed.join(', ')}`,
    );
    this.name = 'UnknownStateError';
    this.state = state;
    brand(this, 'UnknownStateError');
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return branded(candidate, 'UnknownStateError');
  }
}

/** A short rendering of a rejected value for a message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
