/**
 * Typed errors the manager throws for bad input. Each names what was wrong and what to do, and
 * carries the details as fields. `instanceof` works across duplicated copies of the package:
 * every class is branded with a global symbol and checks the brand, not the prototype.
 */

const SPEC_ERROR = Symbol.for('session-lifecycle.SpecError');
const UNKNOWN_SESSION = Symbol.for('session-lifecycle.UnknownSessionError');
const UNKNOWN_KERNEL = Symbol.for('session-lifecycle.UnknownKernelError');
const AGENT_BINDING = Symbol.for('session-lifecycle.AgentBindingError');
const DUPLICATE_SESSION = Symbol.for('session-lifecycle.DuplicateSessionError');
const SESSION_BUSY = Symbol.for('session-lifecycle.SessionBusyError');
const MANAGER_STOPPED = Symbol.for('session-lifecycle.ManagerStoppedError');

function hasBrand(candidate: unknown, brand: symbol): boolean {
  return typeof candidate === 'object' && candidate !== null && brand in candidate;
}

function brand(target: object, symbol: symbol): void {
  Object.defineProperty(target, symbol, { value: true });
}

/** The longest rendering of a value that is shown whole in a message. */
const MAX_SHOWN_VALUE = 60;

/** A short, unambiguous rendering of a rejected value for an error message. */
export function showSpecValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  const json = JSON.stringify(value);
  if (json !== undefined && json.length <= MAX_SHOWN_VALUE) return json;
  return Array.isArray(value) ? `an array of ${value.length}` : `a ${typeof value}`;
}

/** `spec` for the whole spec, `spec.<field>` for a field. */
export function specLabel(field: string): string {
  return field === '' ? 'spec' : `spec.${field}`;
}

/**
 * A submitted session spec was rejected. `field` is the path of the offending field
 * (`kernels[1].slots.cpu`, `''` for the spec as a whole), `value` what was given there and
 * `allowed` what would be accepted. The message says all three:
 * `spec.kernels[0].slots.cpu must be a non-negative integer (millicores), got 0.5`.
 */
export class SpecError extends Error {
  readonly code = 'invalid-spec';
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;

  constructor(field: string, value: unknown, allowed: string, message?: string) {
    super(message ?? `${specLabel(field)} must be ${allowed}, got ${showSpecValue(value)}`);
    this.name = 'SpecError';
    this.field = field;
    this.value = value;
    this.allowed = allowed;
    brand(this, SPEC_ERROR);
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, SPEC_ERROR);
  }
}

/**
 * A `dependsOn` entry names no known session (the manager checks this against its store).
 * `field` is the entry's path, e.g. `dependsOn[0]`.
 */
export function unknownDependencyError(field: string, id: string): SpecError {
  return new SpecError(field, id, 'the id of an existing session');
}

/** A call or report named a session the store does not hold. */
export class UnknownSessionError extends Error {
  readonly code = 'unknown-session';
  readonly sessionId: string;

  constructor(sessionId: string) {
    super(
      `unknown session ${JSON.stringify(sessionId)}: no session has this id; ` +
        'use the id that submit() returned',
    );
    this.name = 'UnknownSessionError';
    this.sessionId = sessionId;
    brand(this, UNKNOWN_SESSION);
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, UNKNOWN_SESSION);
  }
}

/** A report named a kernel the session does not have. `known` lists the session's kernels. */
export class UnknownKernelError extends Error {
  readonly code = 'unknown-kernel';
  readonly sessionId: string;
  readonly kernelId: string;
  readonly known: string[];

  constructor(sessionId: string, kernelId: string, known: string[]) {
    super(
      `session ${JSON.stringify(sessionId)} has no kernel ${JSON.stringify(kernelId)} ` +
        `(its kernels: ${known.join(', ') || 'none'}); check the kernel id the agent reported`,
    );
    this.name = 'UnknownKernelError';
    this.sessionId = sessionId;
    this.kernelId = kernelId;
    this.known = known;
    brand(this, UNKNOWN_KERNEL);
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, UNKNOWN_KERNEL);
  }
}

/** Where a rejected report came from and where its kernel (or session) is actually bound. */
export interface AgentBindingDetails {
  sessionId: string;
  /** The agent that sent the report. */
  agentId: string;
  /** The kernel the report is about; absent for session-wide reports (image pulls). */
  kernelId?: string;
  /** The agents the kernel (or the session) is bound to; empty when not placed. */
  boundTo: string[];
  /**
   * The session was rescheduled since it was first placed, so the report most likely comes
   * from an agent of an earlier placement, late (expected under faults). Default false.
   */
  late?: boolean;
}

/**
 * A report came from an agent the kernel (or session) is not bound to. Such a report is
 * rejected: only the agent that holds a kernel may report on it.
 */
export class AgentBindingError extends Error {
  readonly code = 'agent-binding';
  readonly sessionId: string;
  readonly agentId: string;
  readonly kernelId: string | undefined;
  readonly boundTo: string[];
  /** See `AgentBindingDetails.late`. */
  readonly late: boolean;

  constructor(details: AgentBindingDetails) {
    super(bindingMessage(details));
    this.name = 'AgentBindingError';
    this.sessionId = details.sessionId;
    this.agentId = details.agentId;
    this.kernelId = details.kernelId;
    this.boundTo = details.boundTo;
    this.late = details.late ?? false;
    brand(this, AGENT_BINDING);
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, AGENT_BINDING);
  }
}

function bindingMessage({ sessionId, agentId, kernelId, boundTo }: AgentBindingDetails): string {
  const subject =
    kernelId === undefined
      ? `session ${JSON.stringify(sessionId)}`
      : `kernel ${JSON.stringify(kernelId)} of session ${JSON.stringify(sessionId)}`;
  const where =
    boundTo.length === 0 ? 'is not placed on any agent' : `is bound to ${boundTo.join(', ')}`;
  return (
    `agent ${JSON.stringify(agentId)} reported on ${subject}, which ${where}; ` +
    'reports are accepted only from the agent a kernel is bound to'
  );
}

/** `submit` was given an id that an existing session already has. */
export class DuplicateSessionError extends Error {
  readonly code = 'duplicate-session';
  readonly sessionId: string;

  constructor(sessionId: string) {
    super(
      `session ${JSON.stringify(sessionId)} already exists; ` +
        'submit with another id, or leave id out to have one generated',
    );
    this.name = 'DuplicateSessionError';
    this.sessionId = sessionId;
    brand(this, DUPLICATE_SESSION);
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, DUPLICATE_SESSION);
  }
}

/**
 * A user call (`cancel`, `terminate`) could not be applied: the session changed under it each
 * time it was tried (another manager, or agent reports, kept writing it). Nothing was written;
 * the same call may succeed a moment later (`retryable`).
 */
export class SessionBusyError extends Error {
  readonly code = 'session-busy';
  readonly retryable = true;
  readonly sessionId: string;
  readonly event: string;
  readonly tries: number;

  constructor(sessionId: string, event: string, tries: number) {
    super(
      `session ${JSON.stringify(sessionId)} changed under ${event} ${tries} times in a row: ` +
        'nothing was applied, call again',
    );
    this.name = 'SessionBusyError';
    this.sessionId = sessionId;
    this.event = event;
    this.tries = tries;
    brand(this, SESSION_BUSY);
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, SESSION_BUSY);
  }
}

/**
 * `stop()` was called while an `agent.lost` report waited out its pause after write conflicts
 * (see `receive`): the report was not applied to the agent's sessions. What it committed before
 * stays (the agent takes no placements); deliver the report again to a running manager
 * (`retryable`).
 */
export class ManagerStoppedError extends Error {
  readonly code = 'manager-stopped';
  readonly retryable = true;
  readonly agentId: string;
  readonly report: string;
  readonly conflicts: number;

  constructor(report: { type: string; agentId: string }, conflicts: number) {
    super(
      `the manager stopped before the ${report.type} report of agent ` +
        `${JSON.stringify(report.agentId)} applied (it met ${conflicts} write conflicts): ` +
        'deliver it again to a running manager',
    );
    this.name = 'ManagerStoppedError';
    this.agentId = report.agentId;
    this.report = report.type;
    this.conflicts = conflicts;
    brand(this, MANAGER_STOPPED);
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, MANAGER_STOPPED);
  }
}
