/**
 * `session-lifecycle/inspect`: watch sessions in the Stately inspector. Needs the optional
 * peer dependencies `@statelyai/inspect` and `ws` (install both, as the README says).
 */

export { DEFAULT_INSPECTOR_PORT, INSPECTOR_HOST } from './defaults.js';
export { InspectOptionError, InspectorConnectError } from './errors.js';
export { bridgePage, STATELY_INSPECTOR_URL } from './page.js';
export {
  DEFAULT_BUFFER_SIZE,
  type InspectorServer,
  type InspectorServerOptions,
  startInspectorServer,
} from './server.js';
export {
  createSessionInspector,
  DEFAULT_MAX_DEFERRED,
  SERIALIZATION_DEPTH,
  type SessionInspector,
  type SessionInspectorOptions,
} from './session-inspector.js';
export {
  CONNECT_TIMEOUT_MS,
  type Inspection,
  type InspectionOptions,
  startInspection,
} from './start.js';
export {
  hideOwner,
  type InspectedSnapshot,
  inspectedSnapshot,
  machineDefinition,
  type Redact,
  redactNothing,
} from './view.js';
