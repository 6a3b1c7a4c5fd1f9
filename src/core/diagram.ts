import type { AnyStateMachine } from 'xstate';
import { sessionMachine } from '../../machines/session.machine.js';
import { renderLifecycleDoc as renderDoc } from './lifecycle-doc.js';

export { describeState, UNDESCRIBED } from './lifecycle-doc.js';
export { guardName, mermaidId, stateNodes, toMermaid } from './mermaid.js';

/** The text of `docs/lifecycle.md`: diagram, states, failure classes, policy, jitter, timers. */
export function renderLifecycleDoc(machine: AnyStateMachine = sessionMachine): string {
  return renderDoc(machine);
}

/** The chart as JSON (the machine's definition), for Stately's visual tools. */
export function renderMachineJson(machine: AnyStateMachine = sessionMachine): string {
  return `${JSON.stringify(machine.toJSON(), null, 2)}\n`;
}
