/**
 * `session-lifecycle replay --store`: the built CLI as a real process, replaying 50 generated
 * sessions with light faults through PGlite (in memory) and a real PostgreSQL database. The
 * figures must equal the memory store's to the session, with no leaks and a durable end state.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, requireBuiltCli } from './helpers/cli-process.js';
import { createTestDatabase, type TestDatabase, unusedPort } from './helpers/postgres.js';

const RUN_TIMEOUT_MS = 180_000;

const WORKLOAD = ['--sessions', '50', '--agents', '10', '--seed', '2', '--faults', 'light'];

/** The deterministic part of a run's JSON report (wall-clock figures dropped). */
async function replayed(reportPath: string) {
  const report = JSON.parse(await readFile(reportPath, 'utf8'));
  const { wallMs: _wall, sessionsPerSec: _rate, ...run } = report.runs[0];
  return run;
}

async function sessionCounts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT status, count(*)::int AS n FROM sessions GROUP BY status ORDER BY status',
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  } finally {
    await client.end();
  }
}

let dir: string;
let db: TestDatabase;
let memory: Record<string, unknown>;
beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), 'cli-store-'));
  db = await createTestDatabase('sl_cli');
  const path = join(dir, 'memory.json');
  const run = await cli('replay', ...WORKLOAD, '--report', path);
  expect(run.code).toBe(0);
  memory = await replayed(path);
}, RUN_TIMEOUT_MS);
afterAll(async () => {
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('replay --store with 50 generated sessions and light faults', () => {
  it('runs on the memory store with no leaks (the reference run)', () => {
    expect(memory.sessions).toBe(50);
    expect(memory.leaks).toEqual([]);
    expect(memory.orphans).toEqual([]);
    expect(memory.stop).toBe('settled');
    expect(memory.reachedRunning).toBe(49);
    // One session asks for more GPU than any agent has left: it waits, and the run still ends.
    expect(memory.outcomes).toEqual([
      { status: 'RUNNING', reason: null, count: 49 },
      { status: 'PENDING', reason: 'capacity', count: 1 },
    ]);
    // The faults struck: some sessions needed a second pull or create.
    expect(memory.attempts).toEqual({
      pull: { '0': 1, '1': 47, '2': 2 },
      create: { '0': 1, '1': 48, '2': 1 },
    });
  });

  it(
    'replays through PGlite in memory with the same figures, exit 0',
    async () => {
      const path = join(dir, 'pglite.json');
      const run = await cli('replay', ...WORKLOAD, '--store', 'pglite', '--report', path);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n')[0]).toMatch(/, selector concentrated, store pglite$/);
      expect(await replayed(path)).toEqual(memory);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'replays through PostgreSQL with the same figures and leaves the sessions in the database',
    async () => {
      const path = join(dir, 'postgres.json');
      // The headline names the store with its password hidden. A server that trusts local
      // logins (as CI's does) ignores a password, so one is added when PG_URL has none.
      const url = new URL(db.url);
      if (url.password === '') url.password = 'hunter2';
      const run = await cli('replay', ...WORKLOAD, '--store', url.toString(), '--report', path);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const shown = url.toString().replace(`:${url.password}@`, ':***@');
      expect(run.stdout.split('\n')[0]?.endsWith(`, store ${shown}`)).toBe(true);
      expect(run.stdout).not.toContain(`:${url.password}@`);
      const result = await replayed(path);
      expect(result).toEqual(memory);
      expect([result.leaks, result.orphans]).toEqual([[], []]);
      expect(await sessionCounts(db.url)).toEqual({ PENDING: 1, RUNNING: 49 });
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'refuses a database that already holds sessions, exit 2',
    async () => {
      const run = await cli('replay', ...WORKLOAD, '--store', db.url);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `error: --store is '${db.url}': it already holds 50 sessions; ` +
          'replay needs an empty store (a new database or directory)\n',
      );
    },
    RUN_TIMEOUT_MS,
  );
});

describe('replay --store errors', () => {
  it('exits 2 naming --store and the accepted forms for an unknown store', async () => {
    const run = await cli('replay', '--store', 'mysql://x');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "error: --store is 'mysql://x': expected memory, pglite, pglite:DIR or " +
        'postgres://user@host:port/db\n',
    );
  });

  it('exits 2 when --policy both would run twice on one kept store', async () => {
    const run = await cli('replay', '--policy', 'both', '--store', 'pglite:/tmp/x');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "error: --store is 'pglite:/tmp/x': --policy both runs twice and needs an empty store " +
        'each time; use memory or pglite (in memory), or run each policy against its own ' +
        'database\n',
    );
  });

  it('exits 2 naming --store, host and port when PostgreSQL cannot be reached', async () => {
    const port = await unusedPort();
    const url = `postgres://postgres@127.0.0.1:${port}/none`;
    const run = await cli('replay', '--sessions', '1', '--store', url);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `error: --store is '${url}': cannot reach the PostgreSQL store at 127.0.0.1:${port}: ` +
        `connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it('exits 2 saying the server refused a missing database, password redacted', async () => {
    const url = new URL(db.url);
    url.pathname = '/sl_no_such_database';
    url.password = 'secret';
    const run = await cli('replay', '--sessions', '1', '--store', url.toString());
    url.password = '***';
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `error: --store is '${url}': the PostgreSQL server at ${url.hostname}:` +
        `${url.port || 5432} refused the connection: database "sl_no_such_database" does not ` +
        'exist (3D000)\n',
    );
    expect(run.stderr).not.toContain('secret');
  });

  it('exits 2 naming --store and the directory when PGlite cannot create it', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const dataDir = join(file, 'db');
    const run = await cli('replay', '--sessions', '1', '--store', `pglite:${dataDir}`);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `error: --store is 'pglite:${dataDir}': cannot open the PGlite store in '${dataDir}': ` +
        `ENOTDIR: not a directory, mkdir '${dataDir}'\n`,
    );
  });
});
