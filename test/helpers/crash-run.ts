/**
 * One run of the crash or multi-manager test: manager processes drive a workload against a
 * fresh PostgreSQL database, and the end state is read back.
 */
import type { FaultRates } from '../../src/adapters/agents/faults.js';
import { openPostgresStore } from '../../src/adapters/store/sql/postgres.js';
import type { SqlStore } from '../../src/adapters/store/sql/store.js';
import { type EndState, readEndState } from './crash-checks.js';
import { CrashDriver, type DriveOptions, type DriveResult } from './crash-driver.js';
import { CrashFleet } from './crash-fleet.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/** The faults both tests inject (the crash test adds agent loss). */
export const CRASH_FAULTS: FaultRates = {
  pullImages: { transient: 0.05, ambiguous: 0.02, agent: 0.01, permanent: 0.005 },
  createKernels: { transient: 0.05, ambiguous: 0.03, agent: 0.01, permanent: 0.005 },
  inspectKernels: { transient: 0.03 },
  destroyKernels: { transient: 0.03 },
  lostReports: 0.01,
  duplicatedReports: 0.02,
  reorderedReports: 0.02,
};

export interface CrashRun {
  db: TestDatabase;
  fleet: CrashFleet;
  result: DriveResult;
  state: EndState;
  store: SqlStore;
}

/** Drives the workload on a new database named after `prefix`; `endRun` drops it. */
export async function runOnPostgres(
  prefix: string,
  fleet: { start: number; faults: FaultRates },
  options: Omit<DriveOptions, 'url' | 'fleet'>,
): Promise<CrashRun> {
  const db = await createTestDatabase(prefix);
  const crashFleet = new CrashFleet({ ...fleet, seed: options.seed });
  const driver = new CrashDriver({ ...options, url: db.url, fleet: crashFleet });
  const result = await driver.run();
  const store = await openPostgresStore({ connectionString: db.url });
  return { db, fleet: crashFleet, result, state: await readEndState(store), store };
}

export async function endRun(run: CrashRun | undefined): Promise<void> {
  await run?.store.close();
  await run?.db.drop();
}
