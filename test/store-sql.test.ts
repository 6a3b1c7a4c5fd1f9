import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreInvariantError } from '../src/adapters/store/errors.js';
import { LATEST_VERSION } from '../src/adapters/store/sql/migrations.js';
import {
  CorruptRowError,
  openPgliteStore,
  SchemaTooNewError,
  StoreUnavailableError,
} from '../src/adapters/store/sql/pglite.js';
import { openPostgresStore } from '../src/adapters/store/sql/postgres.js';
import type { SqlStore } from '../src/adapters/store/sql/store.js';
import { SqlStoreTx } from '../src/adapters/store/sql/tx.js';
import type { TransitionWrite } from '../src/manager/ports.js';
import {
  createTestDatabase,
  type TestDatabase,
  truncateStore,
  unusedPort,
} from './helpers/postgres.js';
import { sessionRow, storeContract, timerRow, transitionWrite } from './store-contract.js';

// One PGlite instance and one PostgreSQL database for the whole file, emptied before each test
// (creating either takes seconds).
let pglite: Promise<PGlite> | undefined;
let database: Promise<TestDatabase> | undefined;
const sharedPglite = () => {
  pglite ??= PGlite.create();
  return pglite;
};
const sharedDatabase = () => {
  database ??= createTestDatabase();
  return database;
};

afterAll(async () => {
  await (await pglite)?.close();
  await (await database)?.drop();
});

async function openPglite(): Promise<SqlStore> {
  const store = await openPgliteStore({ db: await sharedPglite() });
  await truncateStore(store);
  return store;
}

async function openPostgres(): Promise<SqlStore> {
  const store = await openPostgresStore({ connectionString: (await sharedDatabase()).url });
  await truncateStore(store);
  return store;
}

storeContract('pglite', openPglite);
storeContract('postgres', openPostgres);

const rawQuery = (store: SqlStore, text: string) =>
  store.driver.transaction((conn) => conn.query<Record<string, unknown>>(text));

const agentA1 = { id: 'a1', capacity: { cpu: 4000, mem: 8192 }, schedulable: true };

describe.each([
  ['pglite', openPglite],
  ['postgres', openPostgres],
] as const)('SQL store on %s', (name, open) => {
  it('applies each migration once, however often the store is opened', async () => {
    const first = await open();
    await first.close();
    const second = await open();
    const { rows } = await rawQuery(second, 'SELECT version FROM schema_version ORDER BY version');
    expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
    expect(LATEST_VERSION).toBe(2);
    await second.close();
  });

  it('refuses a database whose schema is newer than this release and changes nothing', async () => {
    const store = await open();
    await rawQuery(store, "INSERT INTO schema_version (version, name) VALUES (7, 'future')");
    await store.close();
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect((error as SchemaTooNewError).found).toBe(7);
    expect((error as SchemaTooNewError).known).toBe(2);
    expect((error as Error).message).toBe(
      "the store's schema is at version 7 but this release knows versions up to 2: upgrade " +
        'session-lifecycle to a release that knows it, or point it at another database',
    );
    // Put the shared database back to the version this code knows.
    await repairVersion(name);
  });

  it('names the session when its snapshot column is not an object', async () => {
    const store = await open();
    await store.transaction((t) => t.apply(transitionWrite(sessionRow('s1'))));
    await rawQuery(store, `UPDATE sessions SET snapshot = '"garbage"' WHERE id = 's1'`);
    const error = await store
      .transaction((t) => t.claimSessions(['PENDING'], 10))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptRowError);
    expect((error as CorruptRowError).id).toBe('s1');
    expect((error as CorruptRowError).field).toBe('snapshot');
    expect((error as Error).message).toBe(
      "session 's1' is corrupt in the store: snapshot must be a JSON object (the chart's " +
        'snapshot), got "garbage"; repair or delete the row',
    );
    await store.close();
  });

  it('names the session when its snapshot text is not JSON, once it is read', async () => {
    const store = await open();
    await store.transaction((t) => t.apply(transitionWrite(sessionRow('s3'))));
    await rawQuery(store, `UPDATE sessions SET snapshot = '{"value": broken}' WHERE id = 's3'`);
    const [row] = await store.transaction((t) => t.getSessions(['s3']));
    expect(row?.status).toBe('PENDING');
    let error: unknown;
    try {
      void row?.snapshot;
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CorruptRowError);
    expect((error as CorruptRowError).id).toBe('s3');
    expect((error as Error).message).toBe(
      'session \'s3\' is corrupt in the store: snapshot is not JSON: "{\\"value\\": broken}"; ' +
        'repair or delete the row',
    );
    await store.close();
  });

  it('names the session and the column for an unknown status or bad holds', async () => {
    const store = await open();
    await store.transaction((t) => t.apply(transitionWrite(sessionRow('s2'))));
    await rawQuery(store, `UPDATE sessions SET status = 'WAITING' WHERE id = 's2'`);
    const status = await store.transaction((t) => t.getSessions(['s2'])).catch((e: unknown) => e);
    expect((status as Error).message).toBe(
      "session 's2' is corrupt in the store: status must be one of PENDING, SCHEDULED, " +
        'PREPARING, PREPARED, CREATING, RUNNING, TERMINATING, TERMINATED, CANCELLED, ERROR, got ' +
        '"WAITING"; repair or delete the row',
    );
    await rawQuery(
      store,
      `UPDATE sessions SET status = 'PENDING', holds = '{"a1": {"cpu": -1}}' WHERE id = 's2'`,
    );
    const holds = await store.transaction((t) => t.getSessions(['s2'])).catch((e: unknown) => e);
    expect(holds).toBeInstanceOf(CorruptRowError);
    expect((holds as CorruptRowError).field).toBe('holds.a1');
    await store.close();
  });

  it('applies a batch in order: refused writes keep nothing, the rest commit', async () => {
    const store = await open();
    await store.transaction(async (t) => {
      await t.putAgent(agentA1);
      await t.apply(transitionWrite(sessionRow('old')));
    });
    const writes: TransitionWrite[] = [
      transitionWrite(sessionRow('s1'), { reserve: [{ agentId: 'a1', slots: { cpu: 3000 } }] }),
      transitionWrite(sessionRow('s2'), { reserve: [{ agentId: 'a1', slots: { cpu: 1001 } }] }),
      transitionWrite(sessionRow('old', { version: 3 })),
      transitionWrite(sessionRow('s3'), {
        reserve: [{ agentId: 'a1', slots: { cpu: 1000 } }],
        timersSet: [timerRow('s3', 't', 5)],
      }),
      transitionWrite(sessionRow('s3', { version: 2, status: 'SCHEDULED' }), {
        timersCancelled: ['t'],
        timersSet: [timerRow('s3', 'u', 7)],
      }),
    ];
    const results = await store.transaction((t) => t.applyMany(writes));
    expect(results).toEqual([
      { ok: true },
      { ok: false, conflict: 'capacity', agentId: 'a1', slot: 'cpu', requested: 1001, free: 1000 },
      { ok: false, conflict: 'version', actual: 1 },
      { ok: true },
      { ok: true },
    ]);
    const after = await store.transaction(async (t) => ({
      agents: await t.agents(),
      statuses: await t.statuses(),
      timers: await t.dueTimers(100, 10),
      s3: await t.getSessions(['s3']),
    }));
    expect(after.agents[0]?.reserved).toEqual({ cpu: 4000 });
    expect(after.statuses).toEqual(
      new Map([
        ['old', 'PENDING'],
        ['s1', 'PENDING'],
        ['s3', 'SCHEDULED'],
      ]),
    );
    expect(after.timers).toEqual([timerRow('s3', 'u', 7)]);
    expect(after.s3[0]?.version).toBe(2);
    await store.close();
  });

  it('keeps nothing of a batch with a caller bug and leaves the transaction usable', async () => {
    const store = await open();
    await store.transaction((t) => t.putAgent(agentA1));
    const outcome = await store.transaction(async (t) => {
      const error = await t
        .applyMany([
          transitionWrite(sessionRow('s1'), { reserve: [{ agentId: 'a1', slots: { cpu: 10 } }] }),
          transitionWrite(sessionRow('s2'), { release: [{ agentId: 'a1', slots: { cpu: 11 } }] }),
        ])
        .catch((e: unknown) => e);
      const later = await t.apply(transitionWrite(sessionRow('s3')));
      return { error, later };
    });
    expect(outcome.error).toBeInstanceOf(StoreInvariantError);
    expect((outcome.error as StoreInvariantError).code).toBe('release-exceeds-reserved');
    expect(outcome.later).toEqual({ ok: true });
    expect(await store.transaction((t) => t.statuses())).toEqual(new Map([['s3', 'PENDING']]));
    expect((await store.transaction((t) => t.agents()))[0]?.reserved).toEqual({});
    await store.close();
  });

  it('writes a batch over claimed sessions in one statement, tracking versions', async () => {
    const store = await open();
    await store.transaction((t) =>
      t.applyMany([transitionWrite(sessionRow('s1')), transitionWrite(sessionRow('s2'))]),
    );
    const sent: string[] = [];
    const driver = store.driver;
    const results = await driver.transaction(async (conn) => {
      const counting = {
        query: <R>(text: string, params?: readonly unknown[]) => {
          sent.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
          return conn.query<R>(text, params);
        },
      };
      const t = new SqlStoreTx(counting);
      await t.claimSessions(['PENDING'], 10);
      const first = await t.applyMany([
        transitionWrite(sessionRow('s1', { version: 2, status: 'SCHEDULED' })),
        transitionWrite(sessionRow('s2', { version: 2, status: 'SCHEDULED' })),
      ]);
      const stale = await t.apply(transitionWrite(sessionRow('s1', { version: 2 })));
      return [...first, stale];
    });
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, conflict: 'version', actual: 2 },
    ]);
    expect(sent).toEqual(['SELECT id,', 'WITH ins']);
    await store.close();
  });

  it('refuses a tx used after its transaction ended', async () => {
    const store = await open();
    let kept: Parameters<Parameters<SqlStore['transaction']>[0]>[0] | undefined;
    await store.transaction(async (t) => {
      kept = t;
    });
    const error = await kept?.agents().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreInvariantError);
    expect((error as StoreInvariantError).code).toBe('transaction-closed');
    await store.close();
  });
});

async function repairVersion(name: 'pglite' | 'postgres'): Promise<void> {
  if (name === 'pglite') {
    await (await sharedPglite()).query(
      `DELETE FROM schema_version WHERE version > ${LATEST_VERSION}`,
    );
    return;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: (await sharedDatabase()).url });
  await client.connect();
  await client.query(`DELETE FROM schema_version WHERE version > ${LATEST_VERSION}`);
  await client.end();
}

describe('SQL store availability and files', () => {
  it('reports an unreachable server with host, port and cause', async () => {
    const port = await unusedPort();
    const error = await openPostgresStore({
      connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).host).toBe('127.0.0.1');
    expect((error as StoreUnavailableError).port).toBe(port);
    expect((error as StoreUnavailableError).code).toBe('store-unavailable');
    expect((error as StoreUnavailableError).retryable).toBe(true);
    expect((error as Error).message).toBe(
      `cannot reach the PostgreSQL store at 127.0.0.1:${port}: connect ECONNREFUSED ` +
        `127.0.0.1:${port}`,
    );
  });

  const refusals: [string, (url: URL) => void, string][] = [
    [
      'a missing database',
      (url) => {
        url.pathname = '/sl_no_such_database';
      },
      'database "sl_no_such_database" does not exist (3D000)',
    ],
    [
      'a refused login',
      (url) => {
        url.username = 'sl_no_such_role';
      },
      'role "sl_no_such_role" does not exist (28000)',
    ],
  ];

  it.each(refusals)('reports %s as refused, and not retryable', async (_what, edit, cause) => {
    const url = new URL((await sharedDatabase()).url);
    edit(url);
    const error = await openPostgresStore({ connectionString: url.toString() }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      `the PostgreSQL server at ${url.hostname}:${url.port || 5432} refused the connection: ` +
        cause,
    );
    expect((error as StoreUnavailableError).retryable).toBe(false);
    expect((error as StoreUnavailableError).engine).toBe('postgres');
  });

  it('reports a PGlite directory it cannot create as unavailable, not retryable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sl-pglite-'));
    try {
      const file = join(dir, 'a-file');
      await writeFile(file, 'not a directory');
      const dataDir = join(file, 'db');
      const error = await openPgliteStore({ dataDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).engine).toBe('pglite');
      expect((error as StoreUnavailableError).host).toBe(dataDir);
      expect((error as StoreUnavailableError).port).toBeUndefined();
      expect((error as StoreUnavailableError).retryable).toBe(false);
      expect((error as Error).message).toBe(
        `cannot open the PGlite store in '${dataDir}': ENOTDIR: not a directory, ` +
          `mkdir '${dataDir}'`,
      );
      expect(await readdir(dir)).toEqual(['a-file']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps sessions in a PGlite directory across close and reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sl-pglite-'));
    try {
      const first = await openPgliteStore({ dataDir: dir });
      await first.transaction((t) => t.apply(transitionWrite(sessionRow('kept'))));
      await first.close();
      const second = await openPgliteStore({ dataDir: dir });
      expect(await second.transaction((t) => t.statuses())).toEqual(new Map([['kept', 'PENDING']]));
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
