const BRAND = Symbol.for('session-lifecycle.TraceError');

/** What went wrong with a trace file. */
export type TraceErrorCode = 'unreadable' | 'bad-header' | 'bad-row' | 'bad-value';

/**
 * A trace file could not be read or one of its rows is malformed. `file`, `line` (1-based, the
 * header is line 1) and `column` say where; the message says what was found and what is allowed.
 */
export class TraceError extends Error {
  readonly code: TraceErrorCode;
  readonly file: string;
  readonly line: number | undefined;
  readonly column: string | undefined;

  constructor(
    code: TraceErrorCode,
    where: { file: string; line?: number; column?: string },
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TraceError';
    this.code = code;
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && BRAND in candidate;
  }
}

/** Where a message points: `file:line, column 'x'`. */
export function location(file: string, line?: number, column?: string): string {
  const at = line === undefined ? file : `${file}:${line}`;
  return column === undefined ? at : `${at}, column '${column}'`;
}

const OPTION_BRAND = Symbol.for('session-lifecycle.WorkloadOptionError');

/**
 * A generator option is out of range. `field` names the option; the message says what is
 * allowed.
 */
export class WorkloadOptionError extends Error {
  readonly code = 'invalid-workload-option';
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, allowed: string) {
    super(`${field} is ${String(value)}: expected ${allowed}`);
    this.name = 'WorkloadOptionError';
    this.field = field;
    this.value = value;
    Object.defineProperty(this, OPTION_BRAND, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && OPTION_BRAND in candidate;
  }
}
