import { MAX_CLEANUP_WAITS } from '../../machines/session.model.js';
import type { RetryPolicy, StagePolicy } from '../policy/types.js';
import type { Reason } from './types.js';

/**
 * What each state of the session chart means, by state path (`PREPARING.backoff`). A state
 * node's own `description` in the chart, when set, wins over this table.
 */
export const STATE_TEXT: Record<string, string> = {
  PENDING:
    'Waiting for placement. `SCHEDULE` with a placement for every kernel reserves slots on ' +
    'each agent and moves on; `PLACEMENT_FAILED` is recorded and the session stays.',
  SCHEDULED:
    'Placed and reserved in the database only: no agent knows the session yet. `PREPARE` ' +
    'starts the image check.',
  PREPARING:
    'Each agent is asked to make sure the image is present. Every entry into a new pull ' +
    'attempt counts against `pull.maxAttempts`.',
  'PREPARING.pulling':
    'An attempt is under way, bounded by `pull.timeoutMs` (a timeout is a transient failure). ' +
    'Agents report `IMAGE_PULLING` and `IMAGE_PULLED`; once every kernel is prepared the ' +
    'session is PREPARED.',
  'PREPARING.pulling.waiting':
    'Waiting on the agents. Every `pull.recheckMs` the agents not yet done are asked again ' +
    'with the same idempotency key; the attempt deadline keeps running.',
  'PREPARING.backoff':
    'A pull attempt failed and budget is left: wait out the backoff delay, then start the ' +
    'next attempt.',
  'PREPARING.failed':
    'A pull attempt failed or timed out (a passing state, left at once): retry after a ' +
    'backoff while `pull.maxAttempts` allows, else reschedule after an agent failure while ' +
    '`rescheduleBudget` allows, else give up and cancel.',
  PREPARED: 'The image is on every agent. `START` asks the agents to create the kernels.',
  CREATING:
    'The agents create the kernels. Every entry into a new create attempt counts against ' +
    '`create.maxAttempts`; a second create is never sent while kernels of an earlier attempt ' +
    'may exist.',
  'CREATING.creating':
    'An attempt is under way, bounded by `create.timeoutMs`. Kernels report ' +
    '`KERNEL_CREATING` and `KERNEL_STARTED`; when all run the session is RUNNING. A timeout, ' +
    'a long silence (`create.recheckMs`) or an ambiguous failure leads to verifying.',
  'CREATING.verifying':
    'The outcome of the attempt is unknown: inspect the agents. All running: RUNNING. Some ' +
    'still creating: keep waiting (no new create). None: retry. Some: clean up, then retry. ' +
    'Verifying never creates.',
  'CREATING.verifying.waiting':
    'One inspection round: ask every agent about the kernels of the current attempt and ' +
    'collect the answers. A failed inspection is asked again after `create.recheckMs`.',
  'CREATING.cleanup':
    'Destroy the kernels of the failed attempt that may exist, then take the step decided ' +
    'before (retry, reschedule or give up). A retry or reschedule waits until no kernel of ' +
    'the attempt may exist: each time `cleanupTimeoutMs` passes with destroys unconfirmed, ' +
    'the destroy is asked again (a new key) and the wait starts over, at most ' +
    `\`MAX_CLEANUP_WAITS\` (${MAX_CLEANUP_WAITS}) times; the next timeout gives up ` +
    '(`cleanup-timed-out`). When the step is to give up anyway, the first timeout gives up ' +
    'with its own reason. Either way the holds are released and the destroy stays queued in ' +
    'the outbox.',
  'CREATING.backoff':
    'A create attempt failed, nothing of it is left and budget remains: wait out the backoff ' +
    'delay, then send the next create.',
  'CREATING.failed':
    'A create attempt failed (a passing state, left at once): clean up first while kernels ' +
    'of the attempt may exist; then retry after a backoff while `create.maxAttempts` allows, ' +
    'else reschedule while `rescheduleBudget` allows, else give up and cancel.',
  RUNNING:
    'Every kernel runs. A kernel that exits moves the session to TERMINATING ' +
    '(`kernel-exited`); losing an agent that holds kernels ends it in ERROR (`agent-lost`).',
  TERMINATING:
    'Destroying the kernels that are not gone yet; when all are, or after ' +
    '`cleanupTimeoutMs`, the reservation is released and the session is TERMINATED. Ending ' +
    'with a destroy unconfirmed is safe only because nothing is created after it and the ' +
    'destroy stays queued in the outbox until the agent confirms it.',
  TERMINATED: 'Final. The session ran and ended; nothing is held.',
  CANCELLED:
    'Final. The session gave up or was cancelled before running; `reason` says why and the ' +
    'attempt history is kept. Nothing is held.',
  ERROR: 'Final. An agent holding running kernels was lost. Nothing is held.',
};

/** What each retry-policy field controls, for the defaults table. */
export const STAGE_FIELD_TEXT: Record<keyof StagePolicy, string> = {
  maxAttempts: 'attempts in all, the first included (1 = no retry); integer 1..100',
  initialDelayMs: 'delay before the first retry; integer, 0..1 day',
  multiplier: 'growth of the delay per retry; 1..10',
  maxDelayMs: 'cap on any delay; integer, initialDelayMs..1 day',
  jitter: 'how delays are spread: `none`, `full`, `equal`, `decorrelated`',
  timeoutMs: 'deadline of one attempt; integer, 1 ms..1 day',
  recheckMs: 're-ask (pull) or inspect (create) this often while waiting; below timeoutMs',
};

export const TOP_FIELD_TEXT: Record<Exclude<keyof RetryPolicy, 'pull' | 'create'>, string> = {
  rescheduleBudget: 'returns to PENDING after agent failures; integer 0..100',
  deadlineMs: 'optional overall deadline from submit to RUNNING; unset = none',
  cleanupTimeoutMs: 'how long cleanup waits for destroy confirmations; integer, 1 ms..1 day',
};

/** What each reason a session ends with means. */
export const REASON_TEXT: Record<Reason, string> = {
  'user-cancelled': '`CANCEL` was received (or the reason it carried).',
  'user-terminated': '`TERMINATE` was received.',
  'pull-failed-permanently': 'a pull failed with a permanent failure (e.g. image not found).',
  'pull-retries-exhausted': 'transient pull failures used up `pull.maxAttempts`.',
  'create-failed-permanently': 'a create failed with a permanent failure (e.g. bad spec).',
  'create-retries-exhausted': 'transient create failures used up `create.maxAttempts`.',
  'cleanup-timed-out':
    'a retry or reschedule waited for the kernels of the failed create attempt to be ' +
    `destroyed, and \`cleanupTimeoutMs\` passed ${1 + MAX_CLEANUP_WAITS} times ` +
    '(`1 + MAX_CLEANUP_WAITS`) without every destroy confirmed: the session gives up rather ' +
    'than create while they may exist (the destroy stays queued in the outbox).',
  'reschedule-budget-exhausted': 'agent failures used up `rescheduleBudget`.',
  'deadline-exceeded': '`deadlineMs` passed before the session was RUNNING.',
  'kernel-exited': 'a kernel ended on its own while RUNNING.',
  'agent-lost': 'an agent holding running kernels was lost.',
};

/** What each named delay of the chart waits for. */
export const DELAY_TEXT: Record<string, string> = {
  pullBackoff: 'the backoff chosen for the next pull attempt (`backoffMs` in context)',
  createBackoff: 'the backoff chosen for the next create attempt (`backoffMs` in context)',
  pullTimeout: '`pull.timeoutMs`, the deadline of one pull attempt',
  createTimeout: '`create.timeoutMs`, the deadline of one create attempt',
  pullRecheck: '`pull.recheckMs`, then ask the slow agents again',
  createRecheck: '`create.recheckMs`, then inspect the agents',
  cleanupTimeout:
    '`cleanupTimeoutMs` for destroy confirmations; then cleanup asks again or gives up, ' +
    'TERMINATING ends TERMINATED (the destroy stays queued)',
  deadline: '`deadlineMs` from submit, when the policy sets one',
};
