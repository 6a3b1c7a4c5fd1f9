/**
 * The PGlite driver: PostgreSQL compiled to WebAssembly, in this process, in memory or in a
 * directory. It has one connection; PGlite itself queues transactions one after another.
 *
 * Every statement is prepared once, as a named statement on that connection, and then only
 * bound and executed through PGlite's wire-protocol entry (`execProtocol`): its own `query`
 * parses and plans the text again at every call, which costs more than running the store's
 * batch statements. Values go in and come out through PGlite's own serializers and parsers, so
 * rows read as `query` would return them.
 */
import { type PGlite, protocol, types } from '@electric-sql/pglite';
import {
  PLANNER_SETTINGS,
  type SqlConnection,
  type SqlDriver,
  type SqlResult,
  watchFailures,
} from './driver.js';
import { TransactionRolledBackError } from './errors.js';

const { serialize } = protocol;

/** A statement prepared on the connection: its name, parameter types and result columns. */
interface Prepared {
  name: string;
  params: number[];
  fields: { name: string; type: number }[];
}

/**
 * Prepared statements by text, for one PGlite instance, and how many names were handed out (a
 * name is never reused, even when its statement failed to prepare).
 */
interface Statements {
  byText: Map<string, Prepared>;
  named: number;
}

/**
 * Statement names of this copy of the library: apart from any the instance's other users
 * prepare, another copy of this library on the same instance included.
 */
const NAME_PREFIX = `session_lifecycle_${Math.random().toString(36).slice(2, 10)}_`;

/** SQLSTATE of a prepared statement that no longer exists (`DEALLOCATE` by another user). */
const STATEMENT_GONE = '26000';

/**
 * PGlite's replies, read by their `name`: an instance built from another copy of PGlite (a
 * CommonJS `require` beside this ES module, say) answers with classes of its own.
 */
interface Reply {
  name: string;
}
interface ParameterDescription extends Reply {
  dataTypeIDs: number[];
}
interface RowDescription extends Reply {
  fields: { name: string; dataTypeID: number }[];
}
interface DataRow extends Reply {
  fields: (string | null)[];
}
interface CommandComplete extends Reply {
  text: string;
}

/** How one exchange of protocol messages reaches the instance. */
type Send = (messages: Uint8Array[]) => Promise<Reply[]>;

/**
 * Sends protocol messages as one exchange. PGlite's `query` and `exec` wait for an open
 * transaction to end; on an instance that others may also reach through `execProtocol`, the
 * exchange also holds PGlite's query lock, as `query` does, so their replies cannot mix with
 * ours. The store's own instance has no other user, and skips the lock.
 */
function sender(db: PGlite, shared: boolean): Send {
  const exchange = async (messages: Uint8Array[]) =>
    (await db.execProtocol(Buffer.concat(messages))).messages as unknown as Reply[];
  if (!shared) return exchange;
  return (messages) => db.runExclusive(() => exchange(messages));
}

function connection(db: PGlite, send: Send, statements: Statements): SqlConnection {
  return {
    async query<R>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      const prepared = statements.byText.get(text) ?? (await prepare(send, statements, text));
      const values = params.map((value, index) => serialized(db, prepared.params[index], value));
      try {
        const replies = await send([
          serialize.bind({ statement: prepared.name, values }),
          serialize.execute({}),
          serialize.sync(),
        ]);
        return decoded<R>(db, prepared, replies);
      } catch (error) {
        // Someone dropped the prepared statements: prepare them again from the next transaction.
        if ((error as { code?: unknown }).code === STATEMENT_GONE) statements.byText.clear();
        throw error;
      }
    },
  };
}

/** Parses and describes `text` as a named statement, once. */
async function prepare(send: Send, statements: Statements, text: string): Promise<Prepared> {
  statements.named += 1;
  const name = `${NAME_PREFIX}${statements.named}`;
  const replies = await send([
    serialize.parse({ name, text, types: [] }),
    serialize.describe({ type: 'S', name }),
    serialize.sync(),
  ]);
  const prepared: Prepared = { name, params: [], fields: [] };
  for (const reply of replies) {
    if (reply.name === 'parameterDescription') {
      prepared.params = (reply as ParameterDescription).dataTypeIDs;
    } else if (reply.name === 'rowDescription') {
      prepared.fields = (reply as RowDescription).fields.map(({ name: field, dataTypeID }) => ({
        name: field,
        type: dataTypeID,
      }));
    }
  }
  statements.byText.set(text, prepared);
  return prepared;
}

/** A parameter as text, as PGlite's `query` would send it. */
function serialized(db: PGlite, type: number | undefined, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const serializer = type === undefined ? undefined : db.serializers[type];
  return serializer ? serializer(value) : String(value);
}

/** Rows (parsed as PGlite's `query` parses them) and the count the command reported. */
function decoded<R>(db: PGlite, prepared: Prepared, replies: Reply[]): SqlResult<R> {
  const rows: R[] = [];
  let rowCount = 0;
  for (const reply of replies) {
    if (reply.name === 'dataRow') {
      const { fields } = reply as DataRow;
      const row: Record<string, unknown> = {};
      prepared.fields.forEach(({ name, type }, index) => {
        row[name] = types.parseType(fields[index] ?? null, type, db.parsers);
      });
      rows.push(row as R);
    } else if (reply.name === 'commandComplete') {
      const counted = Number((reply as CommandComplete).text.split(' ').at(-1));
      rowCount = Number.isFinite(counted) ? counted : rows.length;
    }
  }
  return { rows, rowCount };
}

/** Prepared statements per instance: a store given an instance another store used shares them. */
const preparedOn = new WeakMap<PGlite, Statements>();

/** A `SqlDriver` over one PGlite instance. `ownsDb`: whether `close()` closes it. */
export class PgliteDriver implements SqlDriver {
  readonly kind = 'pglite';
  private readonly statements: Statements;
  private readonly send: Send;

  constructor(
    private readonly db: PGlite,
    readonly location: string,
    private readonly ownsDb: boolean,
  ) {
    let statements = preparedOn.get(db);
    if (statements === undefined) {
      statements = { byText: new Map(), named: 0 };
      preparedOn.set(db, statements);
    }
    this.statements = statements;
    this.send = sender(db, !ownsDb);
  }

  transaction<T>(work: (conn: SqlConnection) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.exec(PLANNER_SETTINGS);
      const watch = watchFailures(connection(this.db, this.send, this.statements));
      const result = await work(watch.conn);
      const failed = watch.failure();
      if (failed) throw new TransactionRolledBackError(failed.error);
      return result;
    });
  }

  async close(): Promise<void> {
    if (this.ownsDb && !this.db.closed) await this.db.close();
  }
}
