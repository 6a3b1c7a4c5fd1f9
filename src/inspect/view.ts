/** What of a session leaves the process: its snapshot as the inspector shows it, and the chart. */
import type { AnyStateMachine } from 'xstate';
import { sessionMachine } from '../../machines/session.machine.js';
import type { SessionContext } from '../core/context.js';
import type { SessionSnapshot } from '../core/decide.js';

/**
 * Rewrites a session's context before it leaves the process (e.g. hides owner names). It gets
 * the manager's own context: return a new object, never change the one given.
 */
export type Redact = (context: SessionContext) => object;

/** Sends the context as it is. */
export const redactNothing: Redact = (context) => context;

/** Replaces the owner's name with `hidden` (a ready-made `Redact`). */
export const hideOwner: Redact = (context) => ({
  ...context,
  spec: { ...context.spec, owner: 'hidden' },
});

/** A snapshot as the inspector protocol carries it. */
export interface InspectedSnapshot {
  status: SessionSnapshot['status'];
  value: unknown;
  context: object;
  output?: unknown;
}

/** The parts of a chart snapshot the inspector shows (the inspector redacts the context). */
export function inspectedSnapshot(snapshot: SessionSnapshot): InspectedSnapshot {
  const view: InspectedSnapshot = {
    status: snapshot.status,
    value: snapshot.value,
    context: snapshot.context,
  };
  if (snapshot.output !== undefined) view.output = snapshot.output;
  return view;
}

/**
 * The machine's config as JSON, the form the inspector draws the chart from. Functions (the
 * context factory, built-in actions) become `{ type }`, as `@statelyai/inspect` renders them.
 */
export function machineDefinition(machine: AnyStateMachine = sessionMachine): string {
  return JSON.stringify(machine.config, (_key, value: unknown) =>
    typeof value === 'function' ? { type: functionType(value) } : value,
  );
}

function functionType(fn: { name: string; type?: unknown }): string {
  return typeof fn.type === 'string' ? fn.type : fn.name;
}
