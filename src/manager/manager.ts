/**
 * `createSessionManager`: the host of the session chart. It runs the stages against a
 * `SessionStore`, dispatches agent calls through the outbox, applies agent reports, and tells
 * subscribers about every committed transition (DESIGN sections 5 and 7).
 */
import { defaultPolicy } from '../policy/defaults.js';
import { SnapshotCache } from './core-bridge.js';
import { dispatchDue } from './dispatch.js';
import { AgentBindingError, ManagerStoppedError } from './errors.js';
import { describeError, silentLogger } from './logger.js';
import { createSelectorState } from './placement/types.js';
import type { AgentReport, DueWork, Logger } from './ports.js';
import { processReports, reportFields } from './receive.js';
import { ReportInbox } from './reports.js';
import {
  PlacementWatch,
  Round,
  type Runtime,
  serialQueue,
  unblocksPlacement,
  WriteWatch,
} from './runtime.js';
import { scheduleStage } from './schedule.js';
import { SessionOps } from './session-ops.js';
import { fireTimers, prepareStage, startStage } from './stages.js';
import type {
  ManagerOptions,
  SessionManager,
  TickSummary,
  TransitionNotice,
  TransitionObserver,
} from './types.js';

/** Default number of sessions a stage handles per store transaction. */
export const DEFAULT_BATCH_SIZE = 500;
/** Default interval of `run()`, ms. */
export const DEFAULT_RUN_INTERVAL_MS = 1_000;

export function createSessionManager(options: ManagerOptions): SessionManager {
  const listeners = new Set<(notice: TransitionNotice) => void>();
  const runtime = resolveOptions(options, (notices) => {
    if (notices.some(unblocksPlacement)) runtime.placement.touch();
    publish(runtime.logger, listeners, notices);
  });
  const inbox: ReportInbox = new ReportInbox((batch) => processReports(runtime, batch, inbox));
  const ops = new SessionOps(runtime);
  const ticks = serialQueue();
  const loop = new RunLoop(runtime.logger, () => manager.tick());

  const manager: SessionManager = {
    registerAgent: (agent) => ops.registerAgent(agent),
    submit: (spec) => ops.submit(spec),
    cancel: (id, reason) => ops.cancel(id, reason),
    terminate: (id) => ops.terminate(id),
    receive: (report) => inbox.push(report),
    tick: () => ticks(() => runTick(runtime, inbox)),
    run: (intervalMs = DEFAULT_RUN_INTERVAL_MS) => loop.start(intervalMs),
    stop: () => stop(runtime.logger, loop, inbox),
    recover: () => ticks(() => ops.recover(inbox)),
    get: (id) => ops.get(id),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  // Returns the promise so a fleet that awaits its listener (deliverDueAsync) can.
  runtime.agents.onReport((report) =>
    manager.receive(report).catch((error) => logRejected(runtime.logger, report, error)),
  );
  return manager;
}

function resolveOptions(options: ManagerOptions, publishNotices: Runtime['publish']): Runtime {
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;
  return {
    store: options.store,
    agents: options.agents,
    clock: options.clock,
    policy: options.policy ?? defaultPolicy,
    picker: options.picker ?? 'fifo',
    selector: options.selector ?? 'concentrated',
    limits: options.limits ?? {},
    logger,
    random,
    batchSize: checkBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE),
    managerId: options.managerId ?? `manager-${Math.random().toString(36).slice(2, 10)}`,
    selectorState: createSelectorState(),
    placement: new PlacementWatch(),
    writes: new WriteWatch(),
    snapshots: new SnapshotCache(),
    publish: publishNotices,
    serial: serialQueue(),
    ...(options.inspect ? { inspect: guardObserver(logger, options.inspect) } : {}),
  };
}

/** The `inspect` hook made harmless: what it throws is logged, never seen by the manager. */
function guardObserver(logger: Logger, observer: TransitionObserver): TransitionObserver {
  return (transition) => {
    try {
      observer(transition);
    } catch (error) {
      logger.error({ sessionId: transition.sessionId, err: describeError(error) }, 'inspect threw');
    }
  };
}

function checkBatchSize(batchSize: number): number {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize is ${batchSize}: it must be a positive integer`);
  }
  return batchSize;
}

/**
 * Stops the loop and waits for its tick and the reports being applied, so the host may close the
 * store once this resolves. An `agent.lost` report waiting out a pause after write conflicts is
 * rejected (`ManagerStoppedError`), not left to fire on a closed store.
 */
async function stop(logger: Logger, loop: RunLoop, inbox: ReportInbox): Promise<void> {
  await loop.stop();
  await inbox.idle();
  const dropped = inbox.cancelPaused(
    (item) => new ManagerStoppedError(item.report, item.conflicts),
  );
  for (const { report, conflicts } of dropped) {
    logger.warn({ ...reportFields(report), conflicts }, 'report abandoned at stop');
  }
}

/** A stage of a round, and whether what `StoreTx.workDue` found gives it anything to do. */
type Stage = [
  run: (runtime: Runtime, round: Round) => Promise<void>,
  has: (work: DueWork) => boolean,
];

/**
 * The stages of a round, downstream first: a session advances at most one manager-driven stage
 * per round, as Backend.AI's separate schedule, check-precondition and start rounds do. The
 * schedule stage decides for itself whether to run (`PlacementWatch`).
 */
const STAGES: readonly Stage[] = [
  [fireTimers, (work) => work.timers],
  [startStage, (work) => work.statuses.includes('PREPARED')],
  [prepareStage, (work) => work.statuses.includes('SCHEDULED')],
  [scheduleStage, () => true],
  [dispatchDue, (work) => work.outbox],
];

/** Statuses the start and prepare stages take their sessions from. */
const STAGE_STATUSES = ['PREPARED', 'SCHEDULED'] as const;

/**
 * One round: reports, then the stages. A stage that the read at the round's start found nothing
 * for is skipped while this manager has written nothing since; what another manager adds
 * meanwhile waits for the next round, as it would had it come just after the stage's claim.
 */
async function runTick(runtime: Runtime, inbox: ReportInbox): Promise<TickSummary> {
  await inbox.idle();
  const round = new Round(runtime.clock.now());
  const mark = runtime.writes.mark();
  const work = await workDue(runtime, round);
  for (const [stage, has] of STAGES) {
    if (work !== undefined && !has(work) && !runtime.writes.since(mark)) continue;
    try {
      await stage(runtime, round);
    } catch (error) {
      round.errors += 1;
      runtime.logger.error(
        { managerId: runtime.managerId, stage: stage.name, err: describeError(error) },
        'stage failed',
      );
    }
  }
  const { now, timersFired, transitions, dispatched, errors } = round;
  const summary = { now, timersFired, transitions, dispatched, errors };
  runtime.logger.debug({ managerId: runtime.managerId, ...summary }, 'tick done');
  return summary;
}

/** Stores found to have no `workDue`: their rounds run every stage without asking first. */
const withoutWorkDue = new WeakSet<Runtime['store']>();

/** What the store finds to do at the round's time; undefined (every stage looks) without it. */
async function workDue(runtime: Runtime, round: Round): Promise<DueWork | undefined> {
  if (withoutWorkDue.has(runtime.store)) return undefined;
  try {
    const work = await round.inTransaction(runtime, async (tx) =>
      tx.workDue ? tx.workDue(round.now, STAGE_STATUSES) : undefined,
    );
    if (work === undefined) withoutWorkDue.add(runtime.store);
    return work;
  } catch (error) {
    runtime.logger.error(
      { managerId: runtime.managerId, err: describeError(error) },
      'looking for work failed',
    );
    return undefined;
  }
}

function publish(
  logger: Logger,
  listeners: Set<(notice: TransitionNotice) => void>,
  notices: readonly TransitionNotice[],
): void {
  for (const notice of notices) {
    logger.info({ ...notice }, 'session transition');
    for (const listener of listeners) {
      try {
        listener(notice);
      } catch (error) {
        logger.error(
          { sessionId: notice.sessionId, err: describeError(error) },
          'subscriber threw',
        );
      }
    }
  }
}

/**
 * Logs a report the fleet delivered and `receive` rejected. A late report from an earlier
 * placement (after a reschedule) is expected under faults: debug. Another typed rejection is a
 * warning; anything else an error.
 */
function logRejected(logger: Logger, report: AgentReport, error: unknown): void {
  const fields = { ...report, err: describeError(error) };
  if (error instanceof AgentBindingError && error.late) {
    logger.debug(fields, 'late report rejected');
    return;
  }
  const typed = typeof error === 'object' && error !== null && 'code' in error;
  if (typed) logger.warn(fields, 'report rejected');
  else logger.error(fields, 'report failed');
}

/** The real-time loop behind `run()` / `stop()`. */
class RunLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: Promise<unknown> | undefined;
  private running = false;

  constructor(
    private readonly logger: Logger,
    private readonly tick: () => Promise<unknown>,
  ) {}

  start(intervalMs: number): void {
    if (!Number.isFinite(intervalMs) || intervalMs < 0) {
      throw new RangeError(`intervalMs is ${intervalMs}: it must be a non-negative number`);
    }
    if (this.running) return;
    this.running = true;
    this.schedule(0, intervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  private schedule(delay: number, intervalMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.current = this.tick()
        .catch((error) => this.logger.error({ err: describeError(error) }, 'tick failed'))
        .finally(() => {
          this.current = undefined;
          if (this.running) this.schedule(intervalMs, intervalMs);
        });
    }, delay);
  }
}
