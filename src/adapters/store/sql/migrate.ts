/**
 * Brings a database to the latest schema, on open. Runs in one transaction under an advisory
 * lock, so several managers opening the same database at once apply each migration once.
 */
import type { SqlConnection, SqlDriver } from './driver.js';
import { SchemaTooNewError } from './errors.js';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations.js';

/** Advisory lock key of the migration step (any constant; shared by every release). */
const MIGRATION_LOCK = 0x5e55_1011;

const CREATE_VERSION_TABLE = `
CREATE TABLE IF NOT EXISTS schema_version (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

async function currentVersion(conn: SqlConnection): Promise<number> {
  const { rows } = await conn.query<{ v: number }>(
    'SELECT coalesce(max(version), 0)::int AS v FROM schema_version',
  );
  return rows[0]?.v ?? 0;
}

async function applyOne(conn: SqlConnection, migration: Migration): Promise<void> {
  // Statements end with ';' at the end of a line (a body with inner semicolons must not).
  for (const statement of migration.sql.split(/;\s*\n/)) {
    if (statement.trim() !== '') await conn.query(statement);
  }
  await conn.query('INSERT INTO schema_version (version, name) VALUES ($1, $2)', [
    migration.version,
    migration.name,
  ]);
}

/**
 * Applies the migrations the database lacks and returns the versions applied (empty when it was
 * up to date). Throws `SchemaTooNewError` (changing nothing) when the database is ahead.
 */
export async function migrate(driver: SqlDriver): Promise<number[]> {
  return driver.transaction(async (conn) => {
    await conn.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await conn.query(CREATE_VERSION_TABLE);
    const found = await currentVersion(conn);
    if (found > LATEST_VERSION) throw new SchemaTooNewError(found, LATEST_VERSION);
    const pending = MIGRATIONS.filter((m) => m.version > found);
    for (const migration of pending) await applyOne(conn, migration);
    return pending.map((m) => m.version);
  });
}
