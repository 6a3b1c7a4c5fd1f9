const POLICY_ERROR = Symbol.for('session-lifecycle.PolicyError');

/**
 * A retry policy was rejected at the boundary. `field` is the dotted path of the offending
 * field (e.g. `create.maxAttempts`), `value` what was given there, `allowed` what would be
 * accepted. The message says all three: `policy.create.maxAttempts must be an integer from 1
 * to 100, got 0`.
 *
 * `instanceof` works across duplicated copies of this package (the class is branded with a
 * global symbol).
 */
export class PolicyError extends Error {
  readonly code = 'invalid-policy';
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;

  constructor(field: string, value: unknown, allowed: string, message?: string) {
    super(message ?? `${fieldLabel(field)} must be ${allowed}, got ${showValue(value)}`);
    this.name = 'PolicyError';
    this.field = field;
    this.value = value;
    this.allowed = allowed;
    Object.defineProperty(this, POLICY_ERROR, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && POLICY_ERROR in candidate;
  }
}

/** `policy` for the whole object, `policy.<path>` for a field. */
export function fieldLabel(field: string): string {
  return field === '' ? 'policy' : `policy.${field}`;
}

/** A short, unambiguous rendering of a rejected value for an error message. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
