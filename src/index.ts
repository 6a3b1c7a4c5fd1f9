/**
 * `session-lifecycle`: the session chart, its pure decision core, retry policies, the manager,
 * the memory store, the simulated agent fleet, the diagram renderers and the workload loaders.
 *
 * This entry loads no database driver and no inspector: the SQL stores live behind
 * `session-lifecycle/store/postgres` and `session-lifecycle/store/pglite`, the Stately
 * inspector behind `session-lifecycle/inspect`.
 */

// The chart and its pure decision core.
export { sessionMachine } from '../machines/session.machine.js';
// Adapters that need no driver: the memory store and the simulated fleet.
export { SimulationError } from './adapters/agents/errors.js';
export {
  AGENT_OPS,
  type AgentOp,
  type ClassRates,
  FAULT_PRESETS,
  type FaultPreset,
  type FaultRates,
  type ScriptedFault,
  type ScriptMatch,
} from './adapters/agents/faults.js';
export {
  type CallRecord,
  DEFAULT_LATENCIES,
  type Latencies,
  type LiveKernel,
  SimulatedAgents,
  type SimulatedAgentsOptions,
} from './adapters/agents/simulated.js';
export { type StoreInvariantCode, StoreInvariantError } from './adapters/store/errors.js';
export {
  MemoryStore,
  type MemoryStoreOptions,
  type MemoryStoreStats,
} from './adapters/store/memory.js';
// Drivers load on demand, only for the `pglite` and `postgres://` forms.
export {
  openStoreFromUrl,
  parseStoreSpec,
  redactStoreSpec,
  STORE_SPEC_FORMS,
  type StoreSpec,
  StoreSpecError,
} from './adapters/store/open.js';
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
// Diagrams of the chart.
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
export {
  CorruptSnapshotError,
  InvalidEventError,
  UnknownEventError,
  UnknownStateError,
} from './core/errors.js';
export * from './core/events.js';
export { effectKey, KEY_STAGES, type KeyParts, type KeyStage, parseKey } from './core/keys.js';
export { type PersistedSession, persist, restore } from './core/persist.js';
/** Slot-vector arithmetic: `slots.add`, `slots.fits`, `slots.shortfall`, ... */
export * as slots from './core/slots.js';
export { SlotsError } from './core/slots.js';
export * from './core/types.js';
// The manager, its ports and its errors.
export { ManualClock, systemClock } from './manager/clock.js';
export {
  type AgentBindingDetails,
  AgentBindingError,
  DuplicateSessionError,
  ManagerStoppedError,
  SessionBusyError,
  SpecError,
  UnknownKernelError,
  UnknownSessionError,
} from './manager/errors.js';
export { type LogEntry, recordingLogger, silentLogger } from './manager/logger.js';
export { createSessionManager } from './manager/manager.js';
export { PREDICATES, type PredicateName } from './manager/placement/types.js';
export type * from './manager/ports.js';
export * from './manager/types.js';
// Retry policies and failure classes.
export { backoffBounds, backoffDelay } from './policy/backoff.js';
export { defaultPolicy, seedPolicy } from './policy/defaults.js';
export { PolicyError } from './policy/errors.js';
export {
  FAILURE_CLASS_DOCS,
  type FailureClassDoc,
  failure,
  isFailure,
  isRetryable,
} from './policy/failures.js';
export { seededRandom } from './policy/random.js';
export * from './policy/types.js';
export {
  MAX_ATTEMPTS,
  MAX_DEADLINE_MS,
  MAX_DELAY_MS,
  MAX_MULTIPLIER,
  MAX_RESCHEDULES,
  MAX_TIMEOUT_MS,
  type PolicyOverrides,
  resolvePolicy,
  validatePolicy,
} from './policy/validate.js';

// Workloads for replays.
export {
  type GeneratorOptions,
  generateWorkload,
  loadOpenbTrace,
  OPENB_IMAGE,
  type OpenbTraceOptions,
  TraceError,
  type TraceErrorCode,
  type Workload,
  type WorkloadAgent,
  WorkloadOptionError,
  type WorkloadSession,
} from './workload/index.js';
