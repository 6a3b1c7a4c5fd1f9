/**
 * Errors the SQL store throws when the database itself is the problem: out of reach, migrated by
 * a newer release, or holding a row this code cannot read. `instanceof` works across duplicated
 * copies of the package: each class checks a global brand, not the prototype.
 */

const UNAVAILABLE = Symbol.for('session-lifecycle.StoreUnavailableError');
const TOO_NEW = Symbol.for('session-lifecycle.SchemaTooNewError');
const CORRUPT = Symbol.for('session-lifecycle.CorruptRowError');
const ROLLED_BACK = Symbol.for('session-lifecycle.TransactionRolledBackError');

function branded(candidate: unknown, brand: symbol): boolean {
  return typeof candidate === 'object' && candidate !== null && brand in candidate;
}

function causeText(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    const text = cause.message || cause.name;
    return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(cause);
}

/**
 * SQLSTATE of a refused login (class 28: no or unknown user, wrong password) or a missing
 * database (3D000): the same settings fail again however long one waits.
 */
function isSettingsRefusal(cause: unknown): boolean {
  const code =
    typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : '';
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000');
}

/** Which engine a `StoreUnavailableError` is about. */
export type StoreEngine = 'postgres' | 'pglite';

function unavailableMessage(engine: StoreEngine, where: string, cause: unknown): string {
  if (engine === 'pglite') return `cannot open the PGlite store in '${where}': ${causeText(cause)}`;
  if (isSettingsRefusal(cause)) {
    return `the PostgreSQL server at ${where} refused the connection: ${causeText(cause)}`;
  }
  return `cannot reach the PostgreSQL store at ${where}: ${causeText(cause)}`;
}

/**
 * The database cannot be reached or opened (nothing listening, unknown host, refused login,
 * missing database; for PGlite, a directory it cannot create or read). `host` and `port` say
 * where it was looked for (for PGlite, `host` is the directory and `port` is undefined); `cause`
 * is the driver's error. Retryable (the same call may succeed once the server is back), except
 * when the server refused the login or has no such database, or PGlite cannot use its
 * directory: then the settings must change first.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'store-unavailable';
  readonly retryable: boolean;
  readonly engine: StoreEngine;
  readonly host: string;
  readonly port: number | undefined;

  constructor(
    host: string,
    port: number | undefined,
    cause: unknown,
    engine: StoreEngine = 'postgres',
  ) {
    const where = port === undefined ? host : `${host}:${port}`;
    super(unavailableMessage(engine, where, cause), { cause });
    this.name = 'StoreUnavailableError';
    this.retryable = engine === 'postgres' && !isSettingsRefusal(cause);
    this.engine = engine;
    this.host = host;
    this.port = port;
    Object.defineProperty(this, UNAVAILABLE, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return branded(candidate, UNAVAILABLE);
  }
}

/**
 * The database was migrated by a newer release than this one: its schema version is `found`,
 * this code knows up to `known`. Nothing was changed; upgrade the package or use another database.
 */
export class SchemaTooNewError extends Error {
  readonly code = 'schema-too-new';
  readonly retryable = false;
  readonly found: number;
  readonly known: number;

  constructor(found: number, known: number) {
    super(
      `the store's schema is at version ${found} but this release knows versions up to ${known}: ` +
        'upgrade session-lifecycle to a release that knows it, or point it at another database',
    );
    this.name = 'SchemaTooNewError';
    this.found = found;
    this.known = known;
    Object.defineProperty(this, TOO_NEW, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return branded(candidate, TOO_NEW);
  }
}

/**
 * A row holds something this code cannot decode (a snapshot that is not an object, an unknown
 * status, a negative slot amount). `table` and `id` name the row, `field` the column.
 */
export class CorruptRowError extends Error {
  readonly code = 'corrupt-row';
  readonly retryable = false;
  readonly table: string;
  readonly id: string;
  readonly field: string;

  constructor(table: string, id: string, field: string, problem: string) {
    const row = table === 'sessions' ? `session '${id}'` : `${table} row '${id}'`;
    super(`${row} is corrupt in the store: ${field} ${problem}; repair or delete the row`);
    this.name = 'CorruptRowError';
    this.table = table;
    this.id = id;
    this.field = field;
    Object.defineProperty(this, CORRUPT, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return branded(candidate, CORRUPT);
  }
}

/**
 * A statement of the transaction failed and the work went on as if it had not (its error was
 * caught): the database had aborted the transaction, so nothing of it was written, and the
 * transaction rejects with this instead of resolving as if it had committed. `cause` is the
 * statement's error. Retryable: the same work may succeed in a new transaction.
 */
export class TransactionRolledBackError extends Error {
  readonly code = 'transaction-rolled-back';
  readonly retryable = true;

  constructor(cause: unknown) {
    super(
      `the transaction was rolled back, not committed: a statement in it failed ` +
        `(${causeText(cause)}) and the work went on; nothing of it was written`,
      { cause },
    );
    this.name = 'TransactionRolledBackError';
    Object.defineProperty(this, ROLLED_BACK, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return branded(candidate, ROLLED_BACK);
  }
}
