/**
 * Streams the manager's committed transitions to the Stately inspector over WebSocket, with
 * `@statelyai/inspect`'s WebSocket inspector: each session is an actor of the session machine,
 * registered with the chart's definition, then every event it took and the snapshot after it.
 */
import { createWebSocketInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { AnyEventObject, InspectionEvent, MachineContext, Observer } from 'xstate';
import type { SessionContext } from '../core/context.js';
import type { CommittedTransition, TransitionObserver } from '../manager/types.js';
import { checkInteger } from './errors.js';
import { inspectedSnapshot, machineDefinition, type Redact, redactNothing } from './view.js';

/** Events held while the socket is not open yet (the oldest are dropped beyond this). */
export const DEFAULT_MAX_DEFERRED = 10_000;
/**
 * How deep snapshots and chart definitions are serialized. `@statelyai/inspect` defaults to 10,
 * which cuts the chart's transitions short; the chart and the context need about 15.
 */
export const SERIALIZATION_DEPTH = 64;

/** The event a session's first snapshot is reported with, as XState reports actor start. */
const INIT_EVENT = { type: 'xstate.init' } as const;

export interface SessionInspectorOptions {
  /** The inspector server's WebSocket address, e.g. `ws://127.0.0.1:8080`. */
  url: string;
  /** Applied to every context before it leaves the process. Default: sends it as it is. */
  redact?: Redact;
  /** Events held until the socket opens, 1 to 10,000,000. Default 10,000. */
  maxDeferredEvents?: number;
}

export interface SessionInspector {
  /** The manager's `inspect` option: `createSessionManager({ ..., inspect: x.inspect })`. */
  readonly inspect: TransitionObserver;
  /**
   * An observer for a live XState actor of the chart:
   * `createActor(sessionMachine, { input, inspect: x.actorObserver })`. Redacts the same way.
   */
  readonly actorObserver: Observer<InspectionEvent>;
  /** The underlying `@statelyai/inspect` inspector (to send events of one's own). */
  readonly inspector: ReturnType<typeof createWebSocketInspector>;
  /** Closes the socket (what is queued is sent first). */
  stop(): void;
}

/** Connects to the inspector server at `options.url` and returns the hooks to attach. */
export function createSessionInspector(options: SessionInspectorOptions): SessionInspector {
  const redact = options.redact ?? redactNothing;
  const definition = machineDefinition();
  const inspector = createWebSocketInspector({
    url: options.url,
    serializationDepthLimit: SERIALIZATION_DEPTH,
    maxDeferredEvents: checkInteger(
      'maxDeferredEvents',
      options.maxDeferredEvents ?? DEFAULT_MAX_DEFERRED,
      1,
      1e7,
    ),
    sanitizeContext: (context: MachineContext) => redact(context as SessionContext),
    sanitizeEvent: withoutInput,
    serialize: (event) => withDefinition(event, definition),
  });
  const registered = new Set<string>();
  return {
    inspect: (transition) => report(inspector, registered, transition),
    actorObserver: inspector.inspect,
    inspector,
    stop: () => inspector.stop(),
  };
}

/**
 * A live actor's `xstate.init` event carries the machine's input (the spec, owner included):
 * it goes out without it, since `redact` sees only contexts.
 */
function withoutInput(event: AnyEventObject): AnyEventObject {
  return event.type === INIT_EVENT.type ? INIT_EVENT : event;
}

/** Actor registrations sent by id carry no definition: give them the chart's. */
function withDefinition(event: StatelyInspectionEvent, definition: string) {
  if (event.type !== '@xstate.actor' || event.definition !== undefined) return event;
  return { ...event, definition };
}

type Inspector = SessionInspector['inspector'];

/**
 * A new session: the actor, the init event and its first snapshot (the order XState uses).
 * A session first seen later (submitted before inspection began) is registered then.
 */
function report(inspector: Inspector, registered: Set<string>, transition: CommittedTransition) {
  const { sessionId } = transition;
  // `sanitizeContext` redacts the context on the way out.
  const snapshot = inspectedSnapshot(transition.snapshot);
  if (!registered.has(sessionId)) {
    registered.add(sessionId);
    inspector.actor(sessionId, snapshot);
    if (transition.event === null) {
      send(inspector, sessionId, INIT_EVENT, snapshot);
      return;
    }
  }
  send(inspector, sessionId, transition.event ?? INIT_EVENT, snapshot);
}

function send(
  inspector: Inspector,
  sessionId: string,
  event: AnyEventObject,
  snapshot: ReturnType<typeof inspectedSnapshot>,
) {
  inspector.event(sessionId, event);
  inspector.snapshot(sessionId, snapshot, { event });
}
