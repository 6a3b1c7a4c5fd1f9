/**
 * Applies a batch of agent reports (see `ReportInbox`), a run of them per store transaction; a
 * large run in chunks of sessions, two transactions at a time.
 */
import { HOLDING_STATUSES } from '../core/types.js';
import { contextOf } from './core-bridge.js';
import { UnknownSessionError } from './errors.js';
import type { AgentReport, StoreTx } from './ports.js';
import {
  checkBinding,
  type InboxItem,
  type ReportInbox,
  reportEvent,
  type SessionReport,
} from './reports.js';
import { bySession, inTurns, Round, type Runtime } from './runtime.js';
import { type SendItem, sendMany } from './send-many.js';
import { processingFailed } from './step.js';

/**
 * Times one session report is retried after write conflicts before it is given up (and
 * logged): the chart's own timers recover from a lost session report. An `agent.lost` report
 * is retried until it applies, however many conflicts it meets: nothing else would tell the
 * sessions on that agent (see `settle`).
 */
export const MAX_REPORT_CONFLICTS = 5;
/**
 * Pause before an `agent.lost` report is retried once it has met more than
 * `MAX_REPORT_CONFLICTS` conflicts, ms; it doubles with each further conflict, up to
 * `AGENT_LOST_RETRY_MAX_MS`. Meanwhile the inbox and `tick()` go on without it; `stop()`
 * rejects a report still waiting (`ManagerStoppedError`).
 */
export const AGENT_LOST_RETRY_MS = 10;
export const AGENT_LOST_RETRY_MAX_MS = 1_000;

type Verdict = 'done' | 'conflict' | { error: unknown };

/** Where a report that met a write conflict goes: the inbox, at once or after a pause. */
export type Requeue = Pick<ReportInbox, 'requeue' | 'requeueAfter'>;

/**
 * Applies the reports of `batch` in order and settles each caller once its transaction has
 * committed: resolved when applied or ignored by the chart, rejected with the typed error when
 * invalid. Reports that met a write conflict go back to the inbox. A run of
 * session reports is one transaction (a run of more than a batch size, several: chunks of
 * sessions, two at a time, see `inTurns`); an `agent.lost` report has its own (see
 * `agentLost`). So each transaction locks the agents it changes in one statement, in id order,
 * and two managers applying reports at once wait for each other instead of deadlocking.
 */
export async function processReports(
  runtime: Runtime,
  batch: InboxItem[],
  inbox: Requeue,
): Promise<void> {
  const round = new Round(runtime.clock.now());
  for (const run of runsOf(batch)) {
    const chunks = isAgentLost(run[0]!)
      ? [run]
      : bySession(run, runtime.batchSize, (item) => (item.report as SessionReport).sessionId);
    if (chunks.length === 1) {
      const verdicts = await runVerdicts(runtime, round, run);
      for (const [index, item] of run.entries()) settle(runtime, item, verdicts[index]!, inbox);
      continue;
    }
    await inTurns(runtime, round, chunks.length, async (forked, index) => {
      const chunk = chunks[index]!;
      const verdicts = await runVerdicts(runtime, forked, chunk);
      for (const [at, item] of chunk.entries()) settle(runtime, item, verdicts[at]!, inbox);
      return index + 1 < chunks.length;
    });
  }
}

/** `batch` in order, cut into runs of session reports, each `agent.lost` report on its own. */
function runsOf(batch: InboxItem[]): InboxItem[][] {
  const runs: InboxItem[][] = [];
  for (const item of batch) {
    const last = runs.at(-1);
    const joins = last !== undefined && !isAgentLost(last[0]!) && !isAgentLost(item);
    if (joins) last.push(item);
    else runs.push([item]);
  }
  return runs;
}

function isAgentLost(item: InboxItem): boolean {
  return item.report.type === 'agent.lost';
}

/** The verdict of each report of one run; a failed transaction fails every report of it. */
async function runVerdicts(runtime: Runtime, round: Round, run: InboxItem[]) {
  const first = run[0]!.report;
  try {
    if (first.type === 'agent.lost') return [await agentLost(runtime, round, first.agentId)];
    const reports = run.map((item) => item.report as SessionReport);
    return await round.inTransaction(runtime, (tx) => sessionReports(runtime, round, tx, reports));
  } catch (error) {
    return run.map((): Verdict => ({ error }));
  }
}

function settle(runtime: Runtime, item: InboxItem, verdict: Verdict, inbox: Requeue): void {
  if (verdict === 'done') {
    item.resolve();
    return;
  }
  if (verdict !== 'conflict') {
    item.reject(verdict.error);
    return;
  }
  const conflicts = item.conflicts + 1;
  if (item.conflicts < MAX_REPORT_CONFLICTS) {
    inbox.requeue({ ...item, conflicts });
    return;
  }
  if (item.report.type === 'agent.lost') {
    // Past the limit a session report is dropped; this one is retried until it applies, after
    // a pause that grows, so a conflict that does not clear neither spins nor holds the inbox.
    if (item.conflicts === MAX_REPORT_CONFLICTS) {
      const fields = { ...reportFields(item.report), conflicts };
      runtime.logger.warn(fields, 'agent.lost report retried after write conflicts');
    }
    const pause = AGENT_LOST_RETRY_MS * 2 ** Math.min(conflicts - MAX_REPORT_CONFLICTS - 1, 16);
    inbox.requeueAfter({ ...item, conflicts }, Math.min(AGENT_LOST_RETRY_MAX_MS, pause));
    return;
  }
  // The chart re-checks on its own timers (pull recheck, create verify): a lost report heals.
  runtime.logger.warn(reportFields(item.report), 'report dropped after write conflicts');
  item.resolve();
}

/**
 * Session reports in order: each is checked against its session as the reports before it left
 * it (a report that does not fit is rejected with the typed error), then sent as its event.
 */
async function sessionReports(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  reports: SessionReport[],
): Promise<Verdict[]> {
  const items: SendItem[] = reports.map((report) => ({
    sessionId: report.sessionId,
    events: (_row, snapshot) => {
      checkBinding(report, contextOf(snapshot));
      runtime.logger.debug(reportFields(report), 'report received');
      return [reportEvent(report, round.now)];
    },
  }));
  const outcomes = await sendMany(runtime, round, tx, items);
  return outcomes.map((outcome, index): Verdict => {
    if (outcome.kind === 'missing')
      return { error: new UnknownSessionError(items[index]!.sessionId) };
    if (outcome.kind === 'error') return { error: outcome.error };
    return outcome.kind === 'conflict' ? 'conflict' : 'done';
  });
}

/**
 * An agent was lost: it takes no more placements, and every live session holding slots on it
 * is told (AGENT_LOST), including sessions another manager holds locked (the write waits for
 * them; one that changed meanwhile is a conflict, and the report is retried). Two transactions:
 * the agent is marked first, then its sessions are told in one batched write, which locks the
 * agents they release together, in id order (marking the agent in that transaction would lock
 * it before the others). A session whose event cannot be decided is logged; the others still
 * hear it.
 */
async function agentLost(runtime: Runtime, round: Round, agentId: string): Promise<Verdict> {
  await round.inTransaction(runtime, async (tx) => {
    const known = (await tx.agents()).some((agent) => agent.id === agentId);
    if (known) await tx.setSchedulable(agentId, false);
  });
  runtime.placement.touch();
  runtime.logger.warn({ agentId }, 'agent lost');
  const { ids, outcomes } = await round.inTransaction(runtime, async (tx) => {
    const ids = await tx.sessionsOnAgent(agentId, HOLDING_STATUSES);
    const items: SendItem[] = ids.map((sessionId) => ({
      sessionId,
      events: () => [{ type: 'AGENT_LOST', now: round.now, agentId }],
    }));
    return { ids, outcomes: await sendMany(runtime, round, tx, items) };
  });
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.kind === 'error') processingFailed(runtime, round, ids[index]!, outcome.error);
  }
  return outcomes.some((outcome) => outcome.kind === 'conflict') ? 'conflict' : 'done';
}

/** The log fields naming a report. */
export function reportFields(report: AgentReport) {
  return 'sessionId' in report
    ? { sessionId: report.sessionId, agentId: report.agentId, report: report.type }
    : { agentId: report.agentId, report: report.type };
}
