/**
 * Two managers, each in its own process with its own connections, run one workload against
 * one PostgreSQL database at the same time: submits alternate between them, both tick at every
 * round, and each agent report goes to either one at random. Claims (FOR UPDATE SKIP LOCKED)
 * and version checks must keep them from doing any session's work twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultRates } from '../src/adapters/agents/faults.js';
import { FINAL_STATUSES, type Status } from '../src/core/types.js';
import { seededRandom } from '../src/policy/random.js';
import { generateWorkload } from '../src/workload/generator.js';
import {
  type EndState,
  invariantProblems,
  notResting,
  notRunningOrFinal,
  placedTwice,
  placements,
  runningWithoutKernels,
} from './helpers/crash-checks.js';
import type { DriveResult } from './helpers/crash-driver.js';
import type { CrashFleet } from './helpers/crash-fleet.js';
import { CRASH_FAULTS, type CrashRun, endRun, runOnPostgres } from './helpers/crash-run.js';

/** Workload and fault seed: fixed unless SEED is set (to replay another run). */
const SEED = Number(process.env.SEED ?? 7_310_2023);
const SESSIONS = 200;
const START = Date.UTC(2023, 5, 1);

const FAULTS: FaultRates = CRASH_FAULTS;

/** Few agents for the load, so both managers compete for the same free slots. */
const workload = generateWorkload({ seed: SEED, sessions: SESSIONS, agents: 24, meanGapMs: 200 });
const ids = workload.sessions.map((session) => session.spec.id!);

/** A seeded 80% of the sessions is terminated 10 s to 1 min after it arrives. */
function terminations(): Map<string, number> {
  const random = seededRandom(SEED + 1);
  const ends = new Map<string, number>();
  for (const id of ids) if (random() < 0.8) ends.set(id, 10_000 + Math.floor(random() * 50_000));
  return ends;
}
const ends = terminations();

let run: CrashRun | undefined;
let fleet: CrashFleet;
let result: DriveResult;
let state: EndState;

beforeAll(async () => {
  run = await runOnPostgres(
    'sl_multi',
    { start: START, faults: FAULTS },
    {
      workload,
      terminations: ends,
      managers: 2,
      seed: SEED,
      batchSize: 20,
      watchCapacity: true,
    },
  );
  ({ fleet, result, state } = run);
}, 600_000);

afterAll(() => endRun(run));

describe('two manager processes on one PostgreSQL database', () => {
  it('both did the work, in two processes started once each', () => {
    expect(result.starts).toBe(2);
    expect(result.transitions[0]).toBeGreaterThan(100);
    expect(result.transitions[1]).toBeGreaterThan(100);
    // Rounds in which both committed transitions at the same virtual time, concurrently.
    expect(result.sharedRounds).toBeGreaterThan(20);
    // Each transaction locks the agents it changes in one statement, in id order: the two wait
    // for each other and never deadlock, so no stage fails and every session is processed.
    expect(result.logs.get('stage failed')).toBeUndefined();
    expect(result.logs.get('session processing failed')).toBeUndefined();
    expect(result.acknowledged.size).toBe(SESSIONS);
  });

  it('brings every session to RUNNING or a final status', () => {
    expect(result.stop).toBe('settled');
    // But for PENDING sessions no agent has room for (on some seeds, agents lost to the faults
    // take the capacity a large session needs).
    expect(notResting(state)).toEqual([]);
    expect(state.view.sessions.map((session) => session.id).sort()).toEqual([...ids].sort());
  });

  it.runIf(process.env.SEED === undefined)(
    'with its own seed, left every session RUNNING or final, none waiting for room',
    () => {
      expect(notRunningOrFinal(state)).toEqual([]);
    },
  );

  it('placed no session twice: one SCHEDULED entry per placement, reschedules in between', () => {
    expect(placedTwice(state)).toEqual([]);
    const reschedules = state.view.sessions.reduce(
      (total, session) =>
        total + (session.snapshot as { context: { reschedules: number } }).context.reschedules,
      0,
    );
    // Every session was placed at least once except those ended while still PENDING.
    const neverPlaced = [...state.history.values()].filter(
      (rows) => !rows.some((row) => row.to === 'SCHEDULED'),
    ).length;
    expect(placements(state)).toBeGreaterThanOrEqual(SESSIONS - neverPlaced);
    expect(placements(state)).toBeLessThanOrEqual(SESSIONS - neverPlaced + reschedules);
  });

  it('created no kernel twice and left none unaccounted for', () => {
    const problems = invariantProblems(state, fleet);
    expect(problems.createdTwice).toEqual([]);
    expect(problems.orphans).toEqual([]);
    expect(runningWithoutKernels(state, fleet)).toEqual([]);
  });

  it('never had an agent over capacity, and reservations equal the holds at the end', () => {
    expect(result.overCapacity).toBe(0);
    const problems = invariantProblems(state, fleet);
    expect(problems.capacity).toEqual([]);
    expect(problems.reservations).toEqual([]);
  });

  it('ended every session that was terminated', () => {
    const final: readonly Status[] = FINAL_STATUSES;
    const statuses = new Map(state.view.sessions.map((session) => [session.id, session.status]));
    expect([...ends.keys()].filter((id) => !final.includes(statuses.get(id)!))).toEqual([]);
  });
});
