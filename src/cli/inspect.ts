/**
 * `replay --inspect`: a local inspector server for the run. `@statelyai/inspect` is an optional
 * peer dependency, so it is loaded only when the option is given.
 */

import type { Inspection } from '../inspect/start.js';
import type { TransitionObserver } from '../manager/types.js';
import { CliOptionError } from './errors.js';

export { INSPECT_OPTION } from './inspect-option.js';

import type { PolicyChoice } from './result.js';

/** The inspection of one `replay` invocation. */
export interface CliInspection {
  /** The manager hook for one policy's run (ids prefixed by the policy when there are two). */
  observer(policy: PolicyChoice): TransitionObserver;
  /** Keeps serving the page until SIGINT or SIGTERM. */
  serveUntilStopped(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the server on `port` (0: any free one) and prints the page's address to stderr. */
export async function openInspection(port: number, policies: number): Promise<CliInspection> {
  const inspection = await startInspection(port);
  process.stderr.write(
    `inspector: open ${inspection.pageUrl} in a browser ` +
      "(the page loads Stately's inspector UI; session data goes only to this local server)\n",
  );
  return {
    observer: (policy) => {
      const inspect = inspection.inspector.inspect;
      if (policies === 1) return inspect;
      return (transition) =>
        inspect({ ...transition, sessionId: `${policy}/${transition.sessionId}` });
    },
    serveUntilStopped: () => serveUntilStopped(inspection),
    close: () => inspection.close(),
  };
}

async function startInspection(port: number): Promise<Inspection> {
  let inspect: typeof import('../inspect/start.js');
  try {
    inspect = await import('../inspect/start.js');
  } catch (error) {
    if (!isMissingModule(error)) throw error;
    const message =
      '--inspect needs the optional package @statelyai/inspect: npm install @statelyai/inspect';
    throw new CliOptionError('--inspect', port, message);
  }
  try {
    return await inspect.startInspection({ port });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    throw new CliOptionError('--inspect', port, `--inspect is ${port}: that port is in use`);
  }
}

function isMissingModule(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
}

function serveUntilStopped(inspection: Inspection): Promise<void> {
  const dropped = inspection.server.dropped();
  if (dropped > 0) {
    process.stderr.write(
      `inspector: the ${dropped} oldest messages did not fit the buffer; ` +
        'a browser that connects now misses them (replay fewer sessions to see all)\n',
    );
  }
  process.stderr.write(`inspector: serving ${inspection.pageUrl} until Ctrl+C\n`);
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
