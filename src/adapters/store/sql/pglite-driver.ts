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
import { type ExecProtocolResult, type PGlite, protocol, types } from '@electric-sql/pglite';
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

/** Statement names of this library, apart from any the instance's other users prepare. */
const NAME_PREFIX = 'session_lifecycle_';

/**
 * Sends protocol messages as one exchange. PGlite's own `query` and `exec` wait for an open
 * transaction to end, so nothing of another caller runs between the statements of ours.
 */
function send(db: PGlite, messages: Uint8Array[]): Promise<ExecProtocolResult> {
  return db.execProtocol(Buffer.concat(messages));
}

function connection(db: PGlite, statements: Statements): SqlConnection {
  return {
    async query<R>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      const prepared = statements.byText.get(text) ?? (await prepare(db, statements, text));
      const values = params.map((value, index) => serialized(db, prepared.params[index], value));
      const { messages } = await send(db, [
        serialize.bind({ statement: prepared.name, values }),
        serialize.execute({}),
        serialize.sync(),
      ]);
      return decoded<R>(db, prepared, messages);
    },
  };
}

/** Parses and describes `text` as a named statement, once. */
async function prepare(db: PGlite, statements: Statements, text: string): Promise<Prepared> {
  statements.named += 1;
  const name = `${NAME_PREFIX}${statements.named}`;
  const { messages } = await send(db, [
    serialize.parse({ name, text, types: [] }),
    serialize.describe({ type: 'S', name }),
    serialize.sync(),
  ]);
  const prepared: Prepared = { name, params: [], fields: [] };
  for (const message of messages) {
    if (message instanceof protocol.messages.ParameterDescriptionMessage) {
      prepared.params = message.dataTypeIDs;
    } else if (message instanceof protocol.messages.RowDescriptionMessage) {
      prepared.fields = message.fields.map(({ name: field, dataTypeID }) => ({
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
function decoded<R>(
  db: PGlite,
  prepared: Prepared,
  messages: ExecProtocolResult['messages'],
): SqlResult<R> {
  const rows: R[] = [];
  let rowCount = 0;
  for (const message of messages) {
    if (message instanceof protocol.messages.DataRowMessage) {
      const row: Record<string, unknown> = {};
      prepared.fields.forEach(({ name, type }, index) => {
        row[name] = types.parseType(message.fields[index] ?? null, type, db.parsers);
      });
      rows.push(row as R);
    } else if (message instanceof protocol.messages.CommandCompleteMessage) {
      const counted = Number(message.text.split(' ').at(-1));
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
  }

  transaction<T>(work: (conn: SqlConnection) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.exec(PLANNER_SETTINGS);
      const watch = watchFailures(connection(this.db, this.statements));
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
