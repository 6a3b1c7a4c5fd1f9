/**
 * The replay's `--store`: opened through `openStoreFromUrl`, which loads a driver only when
 * asked.
 */
import { openStoreFromUrl } from '../adapters/store/open.js';
import type { SessionStore } from '../manager/ports.js';
import { CliOptionError } from './errors.js';

/**
 * Opens the store `spec` names and checks it holds no sessions: a replay submits its workload's
 * ids, which an earlier run's sessions would collide with. The store is closed on refusal.
 */
export async function openReplayStore(spec: string): Promise<SessionStore> {
  const store = await openStoreFromUrl(spec);
  const held = await store
    .transaction(async (tx) => (await tx.statuses()).size)
    .catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
  if (held === 0) return store;
  await store.close();
  const message =
    `--store is '${spec}': it already holds ${held} sessions; ` +
    'replay needs an empty store (a new database or directory)';
  throw new CliOptionError('--store', spec, message);
}
