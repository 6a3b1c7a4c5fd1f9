export { sessionMachine } from '../machines/session.machine.js';
export {
  FAULT_PRESETS,
  type FaultPreset,
  type FaultRates,
  type ScriptedFault,
} from './adapters/agents/faults.js';
export {
  type CallRecord,
  type LiveKernel,
  SimulatedAgents,
  type SimulatedAgentsOptions,
} from './adapters/agents/simulated.js';
export { MemoryStore, type MemoryStoreOptions } from './adapters/store/memory.js';
export * from './core/context.js';
export {
  contextOf,
  type Decision,
  decide,
  decideWithXState,
  type SessionSnapshot,
  start,
  statusOf,
  substateOf,
} from './core/decide.js';
export {
  describeState,
  guardName,
  mermaidId,
  renderLifecycleDoc,
  renderMachineJson,
  stateNodes,
  toMermaid,
} from './core/diagram.js';
export * from './core/effects.js';
export * from './core/errors.js';
export * from './core/events.js';
export { effectKey, KEY_STAGES, type KeyParts, type KeyStage, parseKey } from './core/keys.js';
export { type PersistedSession, persist, restore } from './core/persist.js';
export * from './core/types.js';
export { ManualClock, systemClock } from './manager/clock.js';
export * from './manager/errors.js';
export { type LogEntry, recordingLogger, silentLogger } from './manager/logger.js';
export { createSessionManager } from './manager/manager.js';
export type * from './manager/ports.js';
export * from './manager/types.js';
export * from './policy/backoff.js';
export * from './policy/defaults.js';
export * from './policy/errors.js';
export * from './policy/failures.js';
export * from './policy/random.js';
export * from './policy/types.js';
export * from './policy/validate.js';
