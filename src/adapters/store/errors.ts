/**
 * Errors every `SessionStore` implementation throws for misuse. A refused write that the caller
 * can expect (version or capacity conflict) is an `ApplyResult`, never an error; these errors are
 * bugs in the caller, so the transaction they are thrown in rolls back.
 */

const BRAND = Symbol.for('session-lifecycle.StoreInvariantError');

/** Machine-readable reasons a store refuses a call outright. */
export type StoreInvariantCode =
  | 'release-exceeds-reserved'
  | 'unknown-agent'
  | 'bad-version'
  | 'transaction-closed';

/** A store call broke an invariant (the caller has a bug); nothing of that call is kept. */
export class StoreInvariantError extends Error {
  readonly code: StoreInvariantCode;
  /** The offending field, e.g. `release[0].slots.cpu`, `session.version`. */
  readonly field: string;

  constructor(code: StoreInvariantCode, field: string, message: string) {
    super(message);
    this.name = 'StoreInvariantError';
    this.code = code;
    this.field = field;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && BRAND in candidate;
  }
}

/** Releasing more of a slot than the agent has reserved. */
export function releaseExceedsReserved(
  index: number,
  agentId: string,
  slot: string,
  requested: number,
  reserved: number,
): StoreInvariantError {
  return new StoreInvariantError(
    'release-exceeds-reserved',
    `release[${index}].slots.${slot}`,
    `release[${index}] asks agent '${agentId}' to release ${requested} of slot '${slot}' ` +
      `but only ${reserved} is reserved: a release must return exactly what was reserved`,
  );
}

/** A release, or `setSchedulable`, names an agent the store does not know. */
export function unknownAgent(field: string, agentId: string): StoreInvariantError {
  return new StoreInvariantError(
    'unknown-agent',
    field,
    `${field} names agent '${agentId}', which is not registered: call putAgent first`,
  );
}

/** The next row's version is not `expectedVersion + 1`. */
export function badVersion(sessionId: string, expected: number, got: number): StoreInvariantError {
  return new StoreInvariantError(
    'bad-version',
    'session.version',
    `session '${sessionId}' is written with version ${got} but expectedVersion is ` +
      `${expected}: the next row's version must be ${expected + 1}`,
  );
}

/** A `StoreTx` used after its transaction committed or rolled back. */
export function transactionClosed(method: string): StoreInvariantError {
  return new StoreInvariantError(
    'transaction-closed',
    method,
    `${method} was called on a transaction that already ended: use the tx only inside its work`,
  );
}
