import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/adapters/store/memory.js';
import {
  openStoreFromUrl,
  parseStoreSpec,
  redactStoreSpec,
  StoreSpecError,
} from '../src/adapters/store/open.js';
import { StoreUnavailableError } from '../src/adapters/store/sql/errors.js';
import { poolAddress } from '../src/adapters/store/sql/pg-driver.js';
import { SqlStore } from '../src/adapters/store/sql/store.js';
import { createTestDatabase, type TestDatabase, unusedPort } from './helpers/postgres.js';
import { sessionRow, transitionWrite } from './store-contract.js';

let database: TestDatabase | undefined;
afterAll(async () => {
  await database?.drop();
});

describe('parseStoreSpec', () => {
  it.each([
    ['memory', { kind: 'memory' }],
    ['pglite', { kind: 'pglite' }],
    ['pglite:/var/lib/sessions', { kind: 'pglite', dataDir: '/var/lib/sessions' }],
    [
      'postgres://postgres@db:5432/lifecycle',
      { kind: 'postgres', connectionString: 'postgres://postgres@db:5432/lifecycle' },
    ],
    ['postgresql://u@h/d', { kind: 'postgres', connectionString: 'postgresql://u@h/d' }],
  ])('reads %s', (spec, expected) => {
    expect(parseStoreSpec(spec)).toEqual(expected);
  });

  it.each(['mysql://db/x', 'pglite:', 'sqlite', ''])('refuses %j with a StoreSpecError', (spec) => {
    const error = (() => {
      try {
        return parseStoreSpec(spec);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(StoreSpecError);
    expect((error as StoreSpecError).code).toBe('invalid-store');
    expect((error as StoreSpecError).field).toBe('store');
    expect((error as Error).message).toBe(
      'store must be one of memory, pglite, pglite:DIR or postgres://user@host:port/db, got ' +
        JSON.stringify(spec),
    );
  });
});

describe('redactStoreSpec', () => {
  it.each([
    ['postgres://alice:s3cret@db:5432/lifecycle', 'postgres://alice:***@db:5432/lifecycle'],
    ['postgresql://alice:p%40ss@db/lifecycle', 'postgresql://alice:***@db/lifecycle'],
    ['postgres://alice:p@ss@db/lifecycle', 'postgres://alice:***@db/lifecycle'],
    ['postgres://alice@db/lifecycle', 'postgres://alice@db/lifecycle'],
    ['postgres://db/lifecycle', 'postgres://db/lifecycle'],
    ['postgres://alice@db/lifecycle?password=s3cret', 'postgres://alice@db/lifecycle?password=***'],
    [
      'postgres://db/lifecycle?user=alice&password=s3cret&sslmode=require',
      'postgres://db/lifecycle?user=alice&password=***&sslmode=require',
    ],
    [
      'postgres://alice:a@db/l?sslpassword=k3y&PASSWORD=b',
      'postgres://alice:***@db/l?sslpassword=***&PASSWORD=***',
    ],
    ['postgres://db/lifecycle?passwordless=1', 'postgres://db/lifecycle?passwordless=1'],
    ['pglite:/data?password=x', 'pglite:/data?password=x'],
    ['pglite:/var/lib/user:x@y', 'pglite:/var/lib/user:x@y'],
    ['memory', 'memory'],
  ])('shows %s as %s', (spec, shown) => {
    expect(redactStoreSpec(spec)).toBe(shown);
  });
});

describe('poolAddress (the address an unreachable-server error names)', () => {
  it('takes host and port from a URL, and never shows a password', () => {
    expect(poolAddress({ connectionString: 'postgres://alice:s3cret@db:6543/x' })).toEqual({
      host: 'db',
      port: 6543,
    });
    // Not a URL `new URL` accepts (the port is not a number): shown whole, redacted.
    expect(poolAddress({ connectionString: 'postgres://alice:s3cret@db:port/x' })).toEqual({
      host: 'postgres://alice:***@db:port/x',
      port: 5432,
    });
  });
});

describe('openStoreFromUrl', () => {
  it('opens the memory store', async () => {
    const store = await openStoreFromUrl('memory');
    expect(store).toBeInstanceOf(MemoryStore);
    await store.close();
  });

  it('opens PostgreSQL from a URL, migrated and ready', async () => {
    database = await createTestDatabase();
    const store = await openStoreFromUrl(database.url);
    expect(store).toBeInstanceOf(SqlStore);
    expect((store as SqlStore).driver.kind).toBe('postgres');
    await store.transaction((t) => t.apply(transitionWrite(sessionRow('s1'))));
    expect(await store.transaction((t) => t.statuses())).toEqual(new Map([['s1', 'PENDING']]));
    await store.close();
  });

  it('reports an unreachable PostgreSQL URL as StoreUnavailableError', async () => {
    const port = await unusedPort();
    const error = await openStoreFromUrl(`postgres://postgres@127.0.0.1:${port}/x`).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).port).toBe(port);
  });

  it('opens PGlite in a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sl-open-'));
    try {
      const store = await openStoreFromUrl(`pglite:${dir}`);
      expect((store as SqlStore).driver.kind).toBe('pglite');
      expect((store as SqlStore).driver.location).toBe(dir);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
