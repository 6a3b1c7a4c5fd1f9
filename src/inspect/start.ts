/** One call for the usual setup: a local inspector server and a session inspector on it. */
import { InspectorConnectError } from './errors.js';
import {
  type InspectorServer,
  type InspectorServerOptions,
  startInspectorServer,
} from './server.js';
import { createSessionInspector, type SessionInspector } from './session-inspector.js';
import type { Redact } from './view.js';

/** How long `startInspection` waits for its own WebSocket to open, ms. */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface InspectionOptions extends InspectorServerOptions {
  /** Applied to every context before it leaves the process. Default: sends it as it is. */
  redact?: Redact;
}

export interface Inspection {
  /** The page to open in a browser. */
  readonly pageUrl: string;
  readonly server: InspectorServer;
  readonly inspector: SessionInspector;
  /** Stops the inspector, then the server (a viewer still connected is disconnected). */
  close(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1, connects a session inspector to it and resolves once that
 * connection is open, so nothing sent afterwards waits in a deferred queue.
 */
export async function startInspection(options: InspectionOptions = {}): Promise<Inspection> {
  const server = await startInspectorServer(options);
  const inspector = createSessionInspector({
    url: server.socketUrl,
    ...(options.redact ? { redact: options.redact } : {}),
  });
  const close = async () => {
    inspector.stop();
    await server.close();
  };
  try {
    await withTimeout(server.whenClients(1), server.socketUrl);
  } catch (error) {
    await close();
    throw error;
  }
  return { pageUrl: server.pageUrl, server, inspector, close };
}

async function withTimeout(connected: Promise<void>, url: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new InspectorConnectError(url, CONNECT_TIMEOUT_MS)),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([connected, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
