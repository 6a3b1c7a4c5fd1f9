/**
 * Applies a batch of agent reports in one store transaction, or a large one in chunks of
 * sessions side by side (see `ReportInbox`).
 */
import { HOLDING_STATUSES } from '../core/types.js';
import { contextOf } from './core-bridge.js';
import { UnknownSessionError } from './errors.js';
import type { AgentReport, StoreTx } from './ports.js';
import { checkBinding, type InboxItem, reportEvent, type SessionReport } from './reports.js';
import { inTurns, Round, type Runtime } from './runtime.js';
import { sendEvents } from './send.js';
import { type SendItem, sendMany } from './send-many.js';
import { isolated } from './step.js';

/**
 * Times one session report is retried after write conflicts before it is given up (and
 * logged): the chart's own timers recover from a lost session report. An `agent.lost` report
 * is retried until it applies, however many conflicts it meets: nothing else would tell the
 * sessions on that agent (see `settle`).
 */
export const MAX_REPORT_CONFLICTS = 5;

type Verdict = 'done' | 'conflict' | { error: unknown };

/**
 * Applies every report of `batch`, then (after each commit) settles each caller: resolved when
 * applied or ignored by the chart, rejected with the typed error when invalid. Reports that met
 * a write conflict go back to the inbox through `requeue`. A batch of more than a batch size of
 * session reports is written in chunks of sessions, two transactions at a time (`inTurns`).
 */
export async function processReports(
  runtime: Runtime,
  batch: InboxItem[],
  requeue: (item: InboxItem) => void,
): Promise<void> {
  const round = new Round(runtime.clock.now());
  const chunks = bySession(batch, runtime.batchSize);
  if (chunks === undefined) {
    const verdicts = await round.inTransaction(runtime, (tx) =>
      verdictsOf(runtime, round, tx, batch),
    );
    for (const [index, item] of batch.entries()) settle(runtime, item, verdicts[index]!, requeue);
    return;
  }
  await inTurns(runtime, round, chunks.length, async (forked, index) => {
    const chunk = chunks[index]!;
    const verdicts = await forked.inTransaction(runtime, (tx) =>
      verdictsOf(runtime, forked, tx, chunk),
    );
    for (const [position, item] of chunk.entries()) {
      settle(runtime, item, verdicts[position]!, requeue);
    }
    return index + 1 < chunks.length;
  });
}

/**
 * A batch of more than `size` session reports split into chunks of about `size` reports, each
 * session's reports together and in order, so the chunks can be written side by side;
 * undefined when the batch is small or holds an `agent.lost` report (ordered against the rest).
 */
function bySession(batch: InboxItem[], size: number): InboxItem[][] | undefined {
  if (batch.length <= size || batch.some((item) => item.report.type === 'agent.lost')) {
    return undefined;
  }
  const sessions = new Map<string, InboxItem[]>();
  for (const item of batch) {
    const id = (item.report as SessionReport).sessionId;
    const items = sessions.get(id);
    if (items) items.push(item);
    else sessions.set(id, [item]);
  }
  const chunks: InboxItem[][] = [];
  let chunk: InboxItem[] = [];
  for (const items of sessions.values()) {
    if (chunk.length > 0 && chunk.length + items.length > size) {
      chunks.push(chunk);
      chunk = [];
    }
    chunk.push(...items);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
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
  const conflicts = item.conflicts + 1;
  if (item.report.type === 'agent.lost') {
    // Past the limit a session report would be dropped; this one is retried until it applies.
    if (item.conflicts === MAX_REPORT_CONFLICTS) {
      const fields = { ...reportFields(item.report), conflicts };
      runtime.logger.warn(fields, 'agent.lost report retried after write conflicts');
    }
    requeue({ ...item, conflicts });
    return;
  }
  if (item.conflicts < MAX_REPORT_CONFLICTS) {
    requeue({ ...item, conflicts });
    return;
  }
  // The chart re-checks on its own timers (pull recheck, create verify): a lost report heals.
  runtime.logger.warn(reportFields(item.report), 'report dropped after write conflicts');
  item.resolve();
}

/**
 * The verdict of each report, in order: runs of session reports are applied together (one read
 * and one batched write), an `agent.lost` report on its own between them.
 */
async function verdictsOf(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  batch: InboxItem[],
): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (let start = 0; start < batch.length; ) {
    const first = batch[start]!.report;
    if (first.type === 'agent.lost') {
      verdicts.push(await agentLostVerdict(runtime, round, tx, first.agentId));
      start += 1;
      continue;
    }
    let end = start + 1;
    while (end < batch.length && batch[end]!.report.type !== 'agent.lost') end += 1;
    const reports = batch.slice(start, end).map((item) => item.report as SessionReport);
    verdicts.push(...(await sessionReports(runtime, round, tx, reports)));
    start = end;
  }
  return verdicts;
}

async function agentLostVerdict(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  agentId: string,
): Promise<Verdict> {
  try {
    return await agentLost(runtime, round, tx, agentId);
  } catch (error) {
    return { error };
  }
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
 * them). One failing session does not keep the others from hearing it.
 */
async function agentLost(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  agentId: string,
): Promise<Verdict> {
  const known = (await tx.agents()).some((agent) => agent.id === agentId);
  if (known) await tx.setSchedulable(agentId, false);
  runtime.placement.touch();
  runtime.logger.warn({ agentId }, 'agent lost');
  let conflict = false;
  for (const sessionId of await tx.sessionsOnAgent(agentId, HOLDING_STATUSES)) {
    const outcome = await isolated(runtime, round, sessionId, () =>
      sendEvents(runtime, round, tx, sessionId, [{ type: 'AGENT_LOST', now: round.now, agentId }]),
    );
    if (outcome?.kind === 'conflict') conflict = true;
  }
  return conflict ? 'conflict' : 'done';
}

function reportFields(report: AgentReport) {
  return 'sessionId' in report
    ? { sessionId: report.sessionId, agentId: report.agentId, report: report.type }
    : { agentId: report.agentId, report: report.type };
}
