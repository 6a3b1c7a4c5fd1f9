/**
 * Opens a store from a one-word description, as the CLI's `--store` takes it:
 * `memory`, `pglite` (in memory), `pglite:DIR` (kept in a directory) or a `postgres://` URL.
 * Drivers are imported only when asked for, so using the memory store loads no database code.
 */
import type { SessionStore } from '../../manager/ports.js';
import { MemoryStore } from './memory.js';

const BRAND = Symbol.for('session-lifecycle.StoreSpecError');

/** The scheme of a PostgreSQL connection URL. */
const POSTGRES_SCHEME = /^postgres(?:ql)?:\/\//;

/** What `--store` accepts, for messages and help text. */
export const STORE_SPEC_FORMS = 'memory, pglite, pglite:DIR or postgres://user@host:port/db';

/** A `--store` value that names no store this package can open. */
export class StoreSpecError extends Error {
  readonly code = 'invalid-store';
  readonly field = 'store';
  readonly value: string;

  constructor(value: string) {
    super(`store must be one of ${STORE_SPEC_FORMS}, got ${JSON.stringify(value)}`);
    this.name = 'StoreSpecError';
    this.value = value;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && BRAND in candidate;
  }
}

/** A parsed `--store` value. */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'pglite'; dataDir?: string }
  | { kind: 'postgres'; connectionString: string };

/** Parses a `--store` value; throws `StoreSpecError` for anything else. */
export function parseStoreSpec(spec: string): StoreSpec {
  const text = spec.trim();
  if (text === 'memory') return { kind: 'memory' };
  if (text === 'pglite') return { kind: 'pglite' };
  if (text.startsWith('pglite:') && text.length > 'pglite:'.length) {
    return { kind: 'pglite', dataDir: text.slice('pglite:'.length) };
  }
  if (POSTGRES_SCHEME.test(text) && text.replace(POSTGRES_SCHEME, '') !== '') {
    return { kind: 'postgres', connectionString: text };
  }
  throw new StoreSpecError(spec);
}

/**
 * `spec` as it may be shown in a message or a log: the password of a `postgres://` URL, given
 * after the user name or as a `password` or `sslpassword` parameter of its query, replaced by
 * `***`; anything else unchanged.
 */
export function redactStoreSpec(spec: string): string {
  if (!POSTGRES_SCHEME.test(spec)) return spec;
  return spec
    .replace(/^(postgres(?:ql)?:\/\/[^:@/]*:)[^/]*@/, '$1***@')
    .replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
}

/**
 * Opens the store `spec` names (see `parseStoreSpec`). SQL stores are migrated on open and may
 * throw `StoreUnavailableError` or `SchemaTooNewError`.
 */
export async function openStoreFromUrl(spec: string): Promise<SessionStore> {
  const parsed = parseStoreSpec(spec);
  switch (parsed.kind) {
    case 'memory':
      return new MemoryStore();
    case 'pglite': {
      const { openPgliteStore } = await import('./sql/pglite.js');
      return openPgliteStore(parsed.dataDir === undefined ? {} : { dataDir: parsed.dataDir });
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./sql/postgres.js');
      return openPostgresStore({ connectionString: parsed.connectionString });
    }
  }
}
