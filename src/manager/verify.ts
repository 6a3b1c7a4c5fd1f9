/**
 * Recovery's check of CREATING sessions. A session still waiting for its kernels may have missed
 * reports while no manager ran, so its kernels are inspected on their agents, and what the
 * agents say is sent to it as the reports it stands for: a running kernel as KERNEL_STARTED, a
 * kernel being created as KERNEL_CREATING. Anything else (a kernel absent, an inspection that
 * failed) sends VERIFY, and the chart's own verification decides, as it does after a timeout.
 * One transition per session in the common case, and no outbox row: an inspection changes
 * nothing on the agent, so it needs no key and no retry of its own.
 */
import type { AgentEffect } from '../core/effects.js';
import type { SessionEvent } from '../core/events.js';
import { inspectionsOf } from './core-bridge.js';
import { type Answer, callAgent, RECOVER_LIMIT } from './dispatch.js';
import type { SessionRow } from './ports.js';
import { inTurns, type Round, type Runtime } from './runtime.js';
import { applyPlanned, type PlannedBatch, planMany, type SendItem } from './send-many.js';
import { processingFailed } from './step.js';

type Inspection = Extract<AgentEffect, { type: 'inspectKernels' }>;

/** One session to verify: its row and the inspections it needs. */
interface Check {
  row: SessionRow;
  calls: Inspection[];
}

/**
 * Verifies every CREATING session waiting for its create, a batch at a time, two batches in
 * flight (`inTurns`): one is inspected and decided while the other is written. The batches hold
 * disjoint sessions, and a verification places nothing.
 */
export async function verifyCreating(runtime: Runtime, round: Round): Promise<void> {
  const rows = await round.inTransaction(runtime, (tx) =>
    tx.claimSessions(['CREATING'], RECOVER_LIMIT),
  );
  const waiting = rows.filter((row) => row.substate === 'creating');
  const size = runtime.batchSize;
  await inTurns(runtime, round, Math.ceil(waiting.length / size), async (forked, index) => {
    const batch = waiting.slice(index * size, (index + 1) * size);
    await writeBatch(runtime, forked, await decideBatch(runtime, forked, batch));
    return true;
  });
}

interface DecidedBatch {
  checks: Check[];
  planned: PlannedBatch;
}

/** Inspects the batch's kernels and decides what the answers mean, outside any transaction. */
async function decideBatch(runtime: Runtime, round: Round, rows: SessionRow[]) {
  const checks = rows.flatMap((row) => plan(runtime, round, row));
  const answers = await Promise.all(
    checks.map(({ calls }) => Promise.all(calls.map((call) => inspect(runtime, round, call)))),
  );
  const items: SendItem[] = checks.map(({ row, calls }, index) => {
    const events = eventsOf(calls, answers[index]!, round.now);
    return { sessionId: row.id, events: () => events };
  });
  const known = new Map(checks.map(({ row }) => [row.id, row]));
  return { checks, planned: planMany(runtime, round, items, known) };
}

async function writeBatch(runtime: Runtime, round: Round, { checks, planned }: DecidedBatch) {
  const outcomes = await round.inTransaction(runtime, (tx) =>
    applyPlanned(runtime, round, tx, planned),
  );
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.kind === 'error') {
      processingFailed(runtime, round, checks[index]!.row.id, outcome.error);
    }
  }
}

/** The inspections of one session; a snapshot that cannot be read is logged and skipped. */
function plan(runtime: Runtime, round: Round, row: SessionRow): Check[] {
  try {
    return [{ row, calls: inspectionsOf(runtime.snapshots.of(row)) }];
  } catch (error) {
    processingFailed(runtime, round, row.id, error);
    return [];
  }
}

function inspect(runtime: Runtime, round: Round, call: Inspection): Promise<Answer> {
  const { sessionId, agentId, attempt } = call;
  return callAgent(runtime, round, call, { sessionId, agentId, attempt, call: call.type });
}

/** The reports the answers stand for, or VERIFY when any kernel is not accounted for. */
function eventsOf(calls: Inspection[], answers: Answer[], now: number): SessionEvent[] {
  const creating: SessionEvent[] = [];
  const started: SessionEvent[] = [];
  for (const [index, call] of calls.entries()) {
    const answer = answers[index];
    if (answer === undefined || 'thrown' in answer || !answer.ok || !('kernels' in answer)) {
      return [{ type: 'VERIFY', now }];
    }
    const { agentId, attempt } = call;
    for (const kernelId of call.kernelIds) {
      const state = answer.kernels[kernelId];
      if (state === 'running')
        started.push({ type: 'KERNEL_STARTED', now, agentId, kernelId, attempt });
      else if (state === 'creating') {
        creating.push({ type: 'KERNEL_CREATING', now, agentId, kernelId, attempt });
      } else return [{ type: 'VERIFY', now }];
    }
  }
  return [...creating, ...started];
}
