/**
 * The PGlite driver prepares each statement once, as a named statement, and reads rows exactly
 * as PGlite's own `query` would.
 */

import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransactionRolledBackError } from '../src/adapters/store/sql/errors.js';
import { openPgliteStore } from '../src/adapters/store/sql/pglite.js';
import { PgliteDriver } from '../src/adapters/store/sql/pglite-driver.js';

let db: PGlite;
let driver: PgliteDriver;

beforeEach(async () => {
  db = await PGlite.create();
  driver = new PgliteDriver(db, 'memory', true);
  await db.exec('CREATE TABLE t (id text PRIMARY KEY, n bigint, x double precision, j json)');
});
afterEach(async () => {
  await driver.close();
});

const READ = `SELECT id, n, x, j, $1::text[] AS ids, $2::boolean AS flag, $3::int AS none
  FROM t WHERE id = ANY($1::text[]) ORDER BY id`;

/** The statements this library prepared on the instance, by the number that ends their name. */
async function prepared(): Promise<number[]> {
  const { rows } = await db.query<{ name: string }>(
    "SELECT name FROM pg_prepared_statements WHERE name LIKE 'session\\_lifecycle\\_%'",
  );
  const prefixes = new Set(rows.map((row) => row.name.replace(/\d+$/, '')));
  expect(prefixes.size).toBeLessThanOrEqual(1);
  return rows.map((row) => Number(row.name.match(/\d+$/)?.[0])).sort((a, b) => a - b);
}

describe('PGlite driver', () => {
  it('reads rows as PGlite query does: arrays, bigints, doubles, JSON, nulls', async () => {
    await driver.transaction((conn) =>
      conn.query('INSERT INTO t VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)', [
        'a',
        9_007_199_254,
        0.5,
        JSON.stringify({ k: [1, 'two'] }),
        'b',
        -3,
        1e-9,
        null,
      ]),
    );
    const params = [['a', 'b', 'c'], true, null];
    const ours = await driver.transaction((conn) => conn.query(READ, params));
    const theirs = await db.query(READ, params);
    expect(ours.rows).toEqual(theirs.rows);
    expect(ours.rows).toEqual([
      {
        id: 'a',
        n: 9_007_199_254,
        x: 0.5,
        j: { k: [1, 'two'] },
        ids: ['a', 'b', 'c'],
        flag: true,
        none: null,
      },
      { id: 'b', n: -3, x: 1e-9, j: null, ids: ['a', 'b', 'c'], flag: true, none: null },
    ]);
    expect(ours.rowCount).toBe(2);
  });

  it('prepares each text once, however often it runs; counts rows written', async () => {
    const insert = 'INSERT INTO t (id, n) SELECT v, 1 FROM unnest($1::text[]) AS v';
    const update = 'UPDATE t SET n = n + 1 WHERE id = ANY($1::text[])';
    const counts = await driver.transaction(async (conn) => [
      (await conn.query(insert, [['a', 'b', 'c']])).rowCount,
      (await conn.query(update, [['a', 'b']])).rowCount,
      (await conn.query(update, [['c', 'x']])).rowCount,
    ]);
    expect(counts).toEqual([3, 2, 1]);
    for (let round = 0; round < 3; round += 1) {
      await driver.transaction((conn) => conn.query(update, [['a']]));
    }
    expect(await prepared()).toEqual([1, 2]);
    const { rows } = await db.query('SELECT id, n FROM t ORDER BY id');
    expect(rows).toEqual([
      { id: 'a', n: 5 },
      { id: 'b', n: 2 },
      { id: 'c', n: 2 },
    ]);
  });

  it('rolls back when a statement cannot be prepared; the next gets a new name', async () => {
    const failed = await driver
      .transaction(async (conn) => {
        await conn.query("INSERT INTO t (id) VALUES ('kept?')");
        await conn.query('SELEC nothing');
      })
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ message: expect.stringContaining('syntax error') });
    expect((await db.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 0 }]);
    const caught = await driver
      .transaction(async (conn) => {
        await conn.query('SELECT 1 / $1::int AS q', [0]).catch(() => undefined);
      })
      .catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(TransactionRolledBackError);
    const ok = await driver.transaction((conn) => conn.query('SELECT $1::int + 1 AS n', [41]));
    expect(ok.rows).toEqual([{ n: 42 }]);
    expect(await prepared()).toEqual([1, 3, 4]);
  });

  it('shares an instance it was given: other queries get their own answers', async () => {
    const shared = new PgliteDriver(db, 'memory', false);
    await shared.transaction((conn) =>
      conn.query('INSERT INTO t (id, n) SELECT v, 0 FROM unnest($1::text[]) AS v', [['a', 'b']]),
    );
    const theirs = Array.from({ length: 40 }, (_, index) =>
      db.query<{ n: number }>('SELECT $1::int * 2 AS n', [index]),
    );
    const ours = shared.transaction(async (conn) => {
      const counts: number[] = [];
      for (let round = 0; round < 40; round += 1) {
        const ids = round % 2 === 0 ? ['a'] : ['a', 'b'];
        counts.push(
          (await conn.query('UPDATE t SET n = n + 1 WHERE id = ANY($1)', [ids])).rowCount,
        );
      }
      return counts;
    });
    const answers = await Promise.all(theirs);
    expect(answers.map(({ rows }) => rows[0]?.n)).toEqual(
      Array.from({ length: 40 }, (_, index) => index * 2),
    );
    expect(await ours).toEqual(Array.from({ length: 40 }, (_, round) => (round % 2 === 0 ? 1 : 2)));
    expect((await db.query('SELECT id, n FROM t ORDER BY id')).rows).toEqual([
      { id: 'a', n: 40 },
      { id: 'b', n: 20 },
    ]);
  });

  it('prepares its statements again after another user drops them', async () => {
    const count = 'SELECT count(*)::int AS n FROM t WHERE id = ANY($1)';
    await driver.transaction((conn) => conn.query(count, [['a']]));
    await db.exec('DEALLOCATE ALL');
    const gone = await driver
      .transaction((conn) => conn.query(count, [['a']]))
      .catch((error: unknown) => error);
    expect(gone).toMatchObject({ code: '26000' });
    const again = await driver.transaction((conn) => conn.query(count, [['a']]));
    expect(again.rows).toEqual([{ n: 0 }]);
    expect(await prepared()).toEqual([2]);
  });

  it('reads the replies of an instance built by another copy of PGlite', async () => {
    const required = createRequire(import.meta.url)('@electric-sql/pglite') as {
      PGlite: typeof PGlite;
    };
    expect(required.PGlite).not.toBe(PGlite);
    const other = await required.PGlite.create();
    const store = await openPgliteStore({ db: other });
    try {
      await store.transaction((tx) =>
        tx.putAgent({ id: 'a1', capacity: { cpu: 4000 }, schedulable: true }),
      );
      const agents = await store.transaction((tx) => tx.agents());
      expect(agents).toEqual([
        { id: 'a1', capacity: { cpu: 4000 }, reserved: {}, schedulable: true },
      ]);
      expect(await store.transaction((tx) => tx.statusOf(['x', 'y']))).toEqual(new Map());
    } finally {
      await store.close();
      await other.close();
    }
  });

  it('shares an instance with another copy of the library, each with its own names', async () => {
    const built = '../dist/src/adapters/store/sql/pglite-driver.js';
    const copy = (await import(
      built
    )) as typeof import('../src/adapters/store/sql/pglite-driver.js');
    expect(copy.PgliteDriver).not.toBe(PgliteDriver);
    const theirs = new copy.PgliteDriver(db, 'memory', false);
    const ours = new PgliteDriver(db, 'memory', false);
    const read = 'SELECT count(*)::int AS n FROM t';
    for (const driverOf of [theirs, ours, theirs, ours]) {
      expect((await driverOf.transaction((conn) => conn.query(read))).rows).toEqual([{ n: 0 }]);
    }
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'session%'",
    );
    expect(rows).toEqual([{ n: 2 }]);
  });
});
