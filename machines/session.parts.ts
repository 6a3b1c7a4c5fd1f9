/**
 * The action objects and failures the session chart names (effect actions carry their effects
 * in params). Kept apart so the chart's literal reads as states and transitions.
 */
import type { SessionContext } from '../src/core/context.js';
import type { Status } from '../src/core/types.js';
import {
  createParams,
  destroyParams,
  inspectParams,
  notifyParams,
  pullParams,
  releaseParams,
  reserveParams,
} from './session.effects.js';

type Args = { context: SessionContext; event: { type: string } };

/** Entry actions of a resting state: notify the change, then record the status. */
export function announce(to: Status, substate: string) {
  return [
    {
      type: 'notify',
      params: ({ context, event }: Args) => notifyParams(context, event, to, substate),
    },
    { type: 'enterStatus', params: { status: to } },
  ] as const;
}

export const reserve = {
  type: 'reserve',
  params: ({ context }: Args) => reserveParams(context),
} as const;
export const release = {
  type: 'release',
  params: ({ context }: Args) => releaseParams(context),
} as const;
export const pullImages = {
  type: 'pullImages',
  params: ({ context }: Args) => pullParams(context),
} as const;
export const createKernels = {
  type: 'createKernels',
  params: ({ context }: Args) => createParams(context),
} as const;
export const inspectKernels = {
  type: 'inspectKernels',
  params: ({ context }: Args) => inspectParams(context),
} as const;
export const destroyKernels = {
  type: 'destroyKernels',
  params: ({ context }: Args) => destroyParams(context),
} as const;

export const agentLost = {
  class: 'agent',
  code: 'agent-lost',
  message: 'the agent was lost',
} as const;
export const pullTimedOut = {
  class: 'transient',
  code: 'pull-timeout',
  message: 'the image pull did not finish within the pull timeout',
} as const;
export const cleanupTimedOut = { type: 'noteTimeout', params: { stage: 'cleanup' } } as const;
export const createIncomplete = {
  class: 'transient',
  code: 'create-incomplete',
  message: 'verification found kernels of the attempt missing or not started in time',
} as const;
