/** Typed errors of the inspection wiring; `instanceof` works across copies of the package. */

const OPTION_ERROR = Symbol.for('session-lifecycle.InspectOptionError');
const CONNECT_ERROR = Symbol.for('session-lifecycle.InspectorConnectError');

function hasBrand(candidate: unknown, brand: symbol): boolean {
  return typeof candidate === 'object' && candidate !== null && brand in candidate;
}

/**
 * An inspection option has a bad value. `field` names the option (`port`, `bufferSize`), and
 * the message says the value given and what is allowed.
 */
export class InspectOptionError extends Error {
  readonly code = 'invalid-inspect-option';
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, allowed: string) {
    super(`inspect option ${field} is ${String(value)}: it must be ${allowed}`);
    this.name = 'InspectOptionError';
    this.field = field;
    this.value = value;
    Object.defineProperty(this, OPTION_ERROR, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, OPTION_ERROR);
  }
}

/** The inspector's WebSocket did not open in time (`url` is where it tried to connect). */
export class InspectorConnectError extends Error {
  readonly code = 'inspector-unreachable';
  readonly url: string;

  constructor(url: string, timeoutMs: number) {
    super(
      `the inspector could not connect to ${url} within ${timeoutMs} ms: ` +
        'is the inspector server running on that port?',
    );
    this.name = 'InspectorConnectError';
    this.url = url;
    Object.defineProperty(this, CONNECT_ERROR, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return hasBrand(candidate, CONNECT_ERROR);
  }
}

/** An integer within [min, max], or an `InspectOptionError` naming `field`. */
export function checkInteger(field: string, value: number, min: number, max: number): number {
  if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
  throw new InspectOptionError(field, value, `an integer from ${min} to ${max}`);
}
