/**
 * The session lifecycle chart. Top-level states are the statuses; substates refine PREPARING
 * and CREATING. Effect actions carry their effects in params; timers are named delays.
 * See docs/lifecycle.md for the design; `decide` (src/core/decide.ts) runs it purely.
 *
 * Create safety: no `createKernels` goes out while a kernel of an earlier attempt may exist.
 * `CREATING.cleanup` destroys what may exist and only then retries or reschedules. When its
 * `cleanupTimeout` passes with destroys unconfirmed and the next step would create again, it
 * asks for the destroy again (a new destroy key) and keeps waiting, at most `MAX_CLEANUP_WAITS`
 * times; then it gives up to CANCELLED (`cleanup-timed-out`), releasing its holds, while the
 * destroy stays queued in the outbox. When the next step is to give up anyway, the first
 * timeout gives up with the failure's own reason (nothing is created after it).
 *
 * `TERMINATING` ends TERMINATED at its `cleanupTimeout` even if kernels may still exist: that is
 * acceptable only because nothing is created after it and the destroy it asked for stays queued
 * in the outbox, which keeps retrying it until the agent confirms (or is lost).
 */
import { raise } from 'xstate';
import { BEFORE_RUNNING } from './session.model.js';
import {
  agentLost,
  announce,
  cleanupTimedOut,
  createIncomplete,
  createKernels,
  destroyKernels,
  inspectKernels,
  pullImages,
  pullTimedOut,
  release,
  reserve,
} from './session.parts.js';
import { sessionSetup } from './session.setup.js';
import { initialContext } from './session.update.js';

/** The session chart. Input: `SessionInput`; events: `SessionEvent`; context: `SessionContext`. */
export const sessionMachine = sessionSetup.createMachine({
  id: 'session',
  context: ({ input }) => initialContext(input),
  initial: 'PENDING',
  entry: [
    raise({ type: 'xstate.after.deadline.session' } as never, {
      id: 'deadline',
      delay: 'deadline',
    }),
  ],
  on: {
    CANCEL: {
      target: '.CANCELLED',
      actions: ['cancelled', 'markDestroying', destroyKernels],
    },
    TERMINATE: [
      {
        guard: 'terminatesKernels',
        target: '.TERMINATING',
        actions: { type: 'setReason', params: { reason: 'user-terminated' } },
      },
      {
        guard: { type: 'statusIn', params: { statuses: BEFORE_RUNNING } },
        target: '.CANCELLED',
        actions: { type: 'setReason', params: { reason: 'user-terminated' } },
      },
    ],
    'xstate.after.deadline.session': {
      guard: 'deadlinePassed',
      target: '.CANCELLED',
      actions: [
        { type: 'setReason', params: { reason: 'deadline-exceeded' } },
        'markDestroying',
        destroyKernels,
      ],
    },
    // A stray error event from a child actor (there are none) must not fail the session.
    ['xstate.error.actor.*' as never]: {},
  },
  states: {
    PENDING: {
      entry: announce('PENDING', ''),
      on: {
        SCHEDULE: {
          guard: 'placementCoversKernels',
          target: 'SCHEDULED',
          actions: ['applyPlacement', reserve],
        },
        PLACEMENT_FAILED: { actions: 'recordPlacementFailure' },
      },
    },
    SCHEDULED: {
      entry: announce('SCHEDULED', ''),
      on: {
        PREPARE: { target: 'PREPARING' },
        AGENT_LOST: {
          guard: 'holdsKernelsOn',
          target: '#session.PREPARING.failed',
          actions: { type: 'noteFailure', params: { stage: 'pull', failure: agentLost } },
        },
      },
    },
    PREPARING: {
      initial: 'pulling',
      on: {
        IMAGE_PULLED: [
          {
            guard: 'completesPull',
            target: 'PREPARED',
            actions: ['markPulled', { type: 'stageSucceeded', params: { stage: 'pull' } }],
          },
          { guard: 'agentAwaitingImage', actions: 'markPulled' },
        ],
        AGENT_LOST: {
          guard: 'holdsKernelsOn',
          target: '.failed',
          actions: { type: 'noteFailure', params: { stage: 'pull', failure: agentLost } },
        },
      },
      states: {
        pulling: {
          entry: ['startPullAttempt', pullImages, ...announce('PREPARING', 'pulling.waiting')],
          initial: 'waiting',
          after: {
            pullTimeout: {
              target: 'failed',
              actions: {
                type: 'noteFailure',
                params: { stage: 'pull', failure: pullTimedOut, outcome: 'timed-out' },
              },
            },
          },
          on: {
            IMAGE_PULLING: { guard: 'isPullReport', actions: 'markPulling' },
            PULL_FAILED: {
              guard: 'isPullFailure',
              target: 'failed',
              actions: { type: 'noteFailure', params: { stage: 'pull' } },
            },
          },
          states: {
            waiting: {
              after: { pullRecheck: { target: 'waiting', reenter: true, actions: pullImages } },
            },
          },
        },
        backoff: {
          entry: announce('PREPARING', 'backoff'),
          after: { pullBackoff: { target: 'pulling' } },
        },
        failed: {
          always: [
            {
              guard: { type: 'canRetry', params: { stage: 'pull' } },
              target: 'backoff',
              actions: { type: 'computeBackoff', params: { stage: 'pull' } },
            },
            {
              guard: 'canReschedule',
              target: '#session.PENDING',
              actions: [release, 'reschedule'],
            },
            {
              target: '#session.CANCELLED',
              actions: { type: 'giveUp', params: { stage: 'pull' } },
            },
          ],
        },
      },
    },
    PREPARED: {
      entry: announce('PREPARED', ''),
      on: {
        START: { target: 'CREATING', actions: ['startCreateAttempt', createKernels] },
        AGENT_LOST: {
          guard: 'holdsKernelsOn',
          target: '#session.PREPARING.failed',
          actions: { type: 'noteFailure', params: { stage: 'pull', failure: agentLost } },
        },
      },
    },
    CREATING: {
      initial: 'creating',
      on: {
        AGENT_LOST: {
          guard: 'holdsKernelsOn',
          target: '.failed',
          actions: {
            type: 'noteFailure',
            params: { stage: 'create', failure: agentLost, kernels: 'agentGone' },
          },
        },
      },
      states: {
        creating: {
          entry: announce('CREATING', 'creating'),
          after: {
            createTimeout: {
              target: 'verifying',
              actions: { type: 'noteTimeout', params: { stage: 'create' } },
            },
            createRecheck: { target: 'verifying' },
          },
          on: {
            KERNEL_CREATING: { guard: 'isKernelCreating', actions: 'markCreating' },
            KERNEL_STARTED: [
              {
                guard: 'completesStart',
                target: '#session.RUNNING',
                actions: ['markRunning', { type: 'stageSucceeded', params: { stage: 'create' } }],
              },
              { guard: 'isKernelStarted', actions: 'markRunning' },
            ],
            CREATE_FAILED: [
              {
                guard: { type: 'isCreateFailure', params: { ambiguous: true } },
                target: 'verifying',
              },
              {
                guard: { type: 'isCreateFailure', params: { ambiguous: false } },
                target: 'failed',
                actions: {
                  type: 'noteFailure',
                  params: { stage: 'create', kernels: 'notCreated' },
                },
              },
            ],
            VERIFY: { target: 'verifying' },
          },
        },
        verifying: {
          entry: announce('CREATING', 'verifying.waiting'),
          initial: 'waiting',
          always: [
            {
              guard: { type: 'inspectionIs', params: { outcome: 'running' } },
              target: '#session.RUNNING',
              actions: { type: 'stageSucceeded', params: { stage: 'create' } },
            },
            {
              guard: { type: 'inspectionIs', params: { outcome: 'creating' } },
              target: 'creating',
            },
            {
              guard: { type: 'inspectionIs', params: { outcome: 'failed' } },
              target: 'failed',
              actions: {
                type: 'noteFailure',
                params: { stage: 'create', failure: createIncomplete },
              },
            },
          ],
          on: {
            KERNELS_INSPECTED: { guard: 'isInspection', actions: 'applyInspection' },
            INSPECT_FAILED: [
              {
                guard: { type: 'isInspectFailure', params: { agent: true } },
                target: 'failed',
                actions: { type: 'noteFailure', params: { stage: 'create' } },
              },
              {
                guard: { type: 'isInspectFailure', params: { agent: false } },
                actions: 'noteInspectFailure',
              },
            ],
            KERNEL_CREATING: { guard: 'isKernelCreating', actions: 'markCreating' },
            KERNEL_STARTED: [
              {
                guard: 'completesStart',
                target: '#session.RUNNING',
                actions: ['markRunning', { type: 'stageSucceeded', params: { stage: 'create' } }],
              },
              { guard: 'isKernelStarted', actions: 'markRunning' },
            ],
            VERIFY: { target: '.waiting', reenter: true },
          },
          states: {
            waiting: {
              entry: ['beginVerification', inspectKernels],
              after: { createRecheck: { target: 'waiting', reenter: true } },
            },
          },
        },
        cleanup: {
          // announced on the way in (from `failed`), so a re-ask of the destroy is not a change
          entry: ['markDestroying', destroyKernels],
          after: {
            cleanupTimeout: [
              {
                guard: 'mayAwaitDestroy',
                target: 'cleanup',
                reenter: true,
                actions: [cleanupTimedOut, 'countCleanupWait'],
              },
              {
                guard: 'nextStepCreates',
                target: '#session.CANCELLED',
                actions: [
                  cleanupTimedOut,
                  { type: 'setReason', params: { reason: 'cleanup-timed-out' } },
                ],
              },
              { target: 'failed', actions: cleanupTimedOut },
            ],
          },
          on: {
            KERNEL_TERMINATED: [
              { guard: 'completesDestroy', target: 'failed', actions: 'markKernelGone' },
              { guard: 'isDestroyReport', actions: 'markKernelGone' },
            ],
            AGENT_LOST: [
              { guard: 'agentLossCompletesDestroy', target: 'failed', actions: 'markAgentGone' },
              { guard: 'holdsKernelsOn', actions: 'markAgentGone' },
            ],
          },
        },
        backoff: {
          entry: announce('CREATING', 'backoff'),
          after: {
            createBackoff: { target: 'creating', actions: ['startCreateAttempt', createKernels] },
          },
        },
        failed: {
          always: [
            {
              guard: 'kernelsMayExist',
              target: 'cleanup',
              actions: ['beginCleanup', ...announce('CREATING', 'cleanup')],
            },
            {
              guard: { type: 'canRetry', params: { stage: 'create' } },
              target: 'backoff',
              actions: { type: 'computeBackoff', params: { stage: 'create' } },
            },
            {
              guard: 'canReschedule',
              target: '#session.PENDING',
              actions: [release, 'reschedule'],
            },
            {
              target: '#session.CANCELLED',
              actions: { type: 'giveUp', params: { stage: 'create' } },
            },
          ],
        },
      },
    },
    RUNNING: {
      entry: announce('RUNNING', ''),
      on: {
        KERNEL_TERMINATED: [
          {
            guard: 'lastKernelExited',
            target: 'TERMINATED',
            actions: ['markKernelGone', { type: 'setReason', params: { reason: 'kernel-exited' } }],
          },
          {
            guard: 'isExitReport',
            target: 'TERMINATING',
            actions: ['markKernelGone', { type: 'setReason', params: { reason: 'kernel-exited' } }],
          },
        ],
        AGENT_LOST: {
          guard: 'holdsKernelsOn',
          target: 'ERROR',
          actions: [
            'markAgentGone',
            { type: 'setReason', params: { reason: 'agent-lost' } },
            'markDestroying',
            destroyKernels,
          ],
        },
      },
    },
    TERMINATING: {
      entry: ['markDestroying', destroyKernels, ...announce('TERMINATING', '')],
      after: { cleanupTimeout: { target: 'TERMINATED' } },
      on: {
        KERNEL_TERMINATED: [
          { guard: 'completesDestroy', target: 'TERMINATED', actions: 'markKernelGone' },
          { guard: 'isDestroyReport', actions: 'markKernelGone' },
        ],
        AGENT_LOST: [
          { guard: 'agentLossCompletesDestroy', target: 'TERMINATED', actions: 'markAgentGone' },
          { guard: 'holdsKernelsOn', actions: 'markAgentGone' },
        ],
      },
    },
    TERMINATED: { type: 'final', entry: [release, 'dropHolds', ...announce('TERMINATED', '')] },
    CANCELLED: { type: 'final', entry: [release, 'dropHolds', ...announce('CANCELLED', '')] },
    ERROR: { type: 'final', entry: [release, 'dropHolds', ...announce('ERROR', '')] },
  },
});
