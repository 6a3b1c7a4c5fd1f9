const BRAND = Symbol.for('session-lifecycle.CliOptionError');

/** Exit code for a usage error (bad or conflicting options). */
export const USAGE_EXIT_CODE = 2;

/**
 * A command-line option has a bad value or conflicts with another. `field` is the option as
 * typed (`--policy`); the message names it, the value given, and what is allowed.
 */
export class CliOptionError extends Error {
  readonly code = 'invalid-option';
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliOptionError';
    this.field = field;
    this.value = value;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && BRAND in candidate;
  }
}

/** `<field> is '<value>': <problem>`. */
export function optionProblem(
  field: string,
  value: unknown,
  problem: string,
  options?: ErrorOptions,
): CliOptionError {
  return new CliOptionError(field, value, `${field} is '${String(value)}': ${problem}`, options);
}

/** `<field> is '<value>': expected <allowed>`. */
export function badOption(field: string, value: unknown, allowed: string): CliOptionError {
  return optionProblem(field, value, `expected ${allowed}`);
}
