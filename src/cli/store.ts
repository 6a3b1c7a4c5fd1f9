/**
 * The replay's `--store`: opened through `openStoreFromUrl`, which loads a driver only when
 * asked.
 */
import { openStoreFromUrl, redactStoreSpec } from '../adapters/store/open.js';
import { SchemaTooNewError, StoreUnavailableError } from '../adapters/store/sql/errors.js';
import type { SessionStore } from '../manager/ports.js';
import { optionProblem } from './errors.js';

/**
 * Opens the store `spec` names and checks it holds no sessions: a replay submits its workload's
 * ids, which an earlier run's sessions would collide with. The store is closed on refusal. A
 * store that cannot be opened (out of reach, refused, migrated by a newer release) is a bad
 * `--store`: a `CliOptionError` whose cause is the store's error. Messages show the spec with
 * its password, if any, redacted.
 */
export async function openReplayStore(spec: string): Promise<SessionStore> {
  const shown = redactStoreSpec(spec);
  const store = await openStoreFromUrl(spec).catch((error: unknown) => {
    if (!(error instanceof StoreUnavailableError || error instanceof SchemaTooNewError)) {
      throw error;
    }
    throw optionProblem('--store', shown, error.message, { cause: error });
  });
  const held = await store
    .transaction(async (tx) => (await tx.statuses()).size)
    .catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
  if (held === 0) return store;
  await store.close();
  throw optionProblem(
    '--store',
    shown,
    `it already holds ${held} sessions; replay needs an empty store (a new database or directory)`,
  );
}
