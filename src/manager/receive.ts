/** Applies a batch of agent reports (see `ReportInbox`), a run of them per store transaction. */
import { HOLDING_STATUSES } from '../core/types.js';
import { contextOf } from './core-bridge.js';
import { UnknownSessionError } from './errors.js';
import type { AgentReport, StoreTx } from './ports.js';
import { checkBinding, type InboxItem, reportEvent, type SessionReport } from './reports.js';
import { Round, type Runtime } from './runtime.js';
import { applyPlanned, planMany, type SendItem, sendMany } from './send-many.js';
import { processingFailed } from './step.js';

/** Times one report is retried after write conflicts before it is given up (and logged). */
export const MAX_REPORT_CONFLICTS = 5;

/** Upper bound on the sessions one `agent.lost` report fans out to. */
const AGENT_LOST_SCAN = 1_000_000;

type Verdict = 'done' | 'conflict' | { error: unknown };

/**
 * Applies the reports of `batch` in order and settles each caller once its transaction has
 * committed: resolved when applied or ignored by the chart, rejected with the typed error when
 * invalid. Reports that met a write conflict go back to the inbox through `requeue`. A run of
 * session reports is one transaction; an `agent.lost` report has its own (see `agentLost`). So
 * each transaction locks the agents it changes in one statement, in id order, and two managers
 * applying reports at once wait for each other instead of deadlocking.
 */
export async function processReports(
  runtime: Runtime,
  batch: InboxItem[],
  requeue: (item: InboxItem) => void,
): Promise<void> {
  const round = new Round(runtime.clock.now());
  for (const run of runsOf(batch)) {
    const verdicts = await runVerdicts(runtime, round, run);
    for (const [index, item] of run.entries()) settle(runtime, item, verdicts[index]!, requeue);
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

function settle(
  runtime: Runtime,
  item: InboxItem,
  verdict: Verdict,
  requeue: (item: InboxItem) => void,
): void {
  if (verdict === 'done') {
    item.resolve();
    return;
  }
  if (verdict !== 'conflict') {
    item.reject(verdict.error);
    return;
  }
  if (item.conflicts < MAX_REPORT_CONFLICTS) {
    requeue({ ...item, conflicts: item.conflicts + 1 });
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
 * is told (AGENT_LOST). Two transactions: the agent is marked first, then its sessions are told
 * in one batched write, which locks the agents they release together, in id order (marking the
 * agent in that transaction would lock it before the others). A session whose event cannot be
 * decided is logged; the others still hear it.
 */
async function agentLost(runtime: Runtime, round: Round, agentId: string): Promise<Verdict> {
  await round.inTransaction(runtime, async (tx) => {
    const known = (await tx.agents()).some((agent) => agent.id === agentId);
    if (known) await tx.setSchedulable(agentId, false);
  });
  runtime.placement.touch();
  runtime.logger.warn({ agentId }, 'agent lost');
  const { rows, outcomes } = await round.inTransaction(runtime, async (tx) => {
    const claimed = await tx.claimSessions(HOLDING_STATUSES, AGENT_LOST_SCAN);
    const holding = claimed.filter((row) => agentId in row.holds);
    const items: SendItem[] = holding.map((row) => ({
      sessionId: row.id,
      events: () => [{ type: 'AGENT_LOST', now: round.now, agentId }],
    }));
    const known = new Map(holding.map((row) => [row.id, row]));
    const planned = planMany(runtime, round, items, known);
    return { rows: holding, outcomes: await applyPlanned(runtime, round, tx, planned) };
  });
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.kind === 'error') processingFailed(runtime, round, rows[index]!.id, outcome.error);
  }
  return outcomes.some((outcome) => outcome.kind === 'conflict') ? 'conflict' : 'done';
}

function reportFields(report: AgentReport) {
  return 'sessionId' in report
    ? { sessionId: report.sessionId, agentId: report.agentId, report: report.type }
    : { agentId: report.agentId, report: report.type };
}
