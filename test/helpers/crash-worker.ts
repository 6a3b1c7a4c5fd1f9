/**
 * A manager in a child process, for crash and multi-manager tests. Started with
 * `child_process.fork` on its compiled form (dist/test/helpers/crash-worker.js); it opens the
 * PostgreSQL store, runs the commands the parent sends (see crash-protocol.ts) and forwards
 * every agent call to the parent. It holds nothing the parent needs after a SIGKILL: the store
 * holds the sessions, the parent holds the agents and the clock.
 */
import { openPostgresStore } from '../../src/adapters/store/sql/postgres.js';
import type { AgentEffect } from '../../src/core/effects.js';
import { ManualClock } from '../../src/manager/clock.js';
import { createSessionManager } from '../../src/manager/manager.js';
import type {
  AgentCallResult,
  AgentClient,
  InspectResult,
  Logger,
  SessionStore,
} from '../../src/manager/ports.js';
import type { SessionManager } from '../../src/manager/types.js';
import { seededRandom } from '../../src/policy/random.js';
import type { FromWorker, ToWorker, WorkerCommand, WorkerError } from './crash-protocol.js';

const clock = new ManualClock(0);
const calls = new Map<number, (result: AgentCallResult | InspectResult) => void>();
let nextCallId = 0;
let manager: SessionManager | undefined;
let store: SessionStore | undefined;

function send(message: FromWorker): void {
  process.send?.(message);
}

/** Forwards one agent call to the parent and waits for its answer. */
function forward<R extends AgentCallResult | InspectResult>(effect: AgentEffect): Promise<R> {
  return new Promise((resolve) => {
    nextCallId += 1;
    calls.set(nextCallId, resolve as (result: AgentCallResult | InspectResult) => void);
    send({ type: 'call', callId: nextCallId, effect });
  });
}

const agents: AgentClient = {
  pullImages: (effect) => forward(effect),
  createKernels: (effect) => forward(effect),
  inspectKernels: (effect) => forward(effect),
  destroyKernels: (effect) => forward(effect),
  // Reports arrive as messages from the parent and go to `manager.receive` directly.
  onReport: () => {},
};

/** Warnings and errors go to the parent (it counts them); the rest is dropped. */
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (fields, message) => send({ type: 'log', level: 'warn', message, fields: plain(fields) }),
  error: (fields, message) => send({ type: 'log', level: 'error', message, fields: plain(fields) }),
};

function plain(fields: object): object {
  return JSON.parse(JSON.stringify(fields)) as object;
}

async function open(command: Extract<WorkerCommand, { kind: 'open' }>): Promise<void> {
  store = await openPostgresStore({ connectionString: command.url, maxConnections: 2 });
  manager = createSessionManager({
    store,
    agents,
    clock,
    logger,
    random: seededRandom(command.seed),
    batchSize: command.batchSize,
    managerId: command.managerId,
  });
}

function opened(): SessionManager {
  if (manager === undefined) throw new Error('the worker got a command before open');
  return manager;
}

async function run(command: WorkerCommand) {
  switch (command.kind) {
    case 'open':
      return open(command);
    case 'register':
      return opened().registerAgent({ ...command.agent, schedulable: true });
    case 'submit':
      return opened().submit(command.spec);
    case 'terminate':
      return opened().terminate(command.id);
    case 'recover':
      return opened().recover();
    case 'tick':
      return opened().tick();
  }
}

function describe(error: unknown): WorkerError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  const described: WorkerError = { name: error.name, message: error.message };
  if (typeof code === 'string') described.code = code;
  return described;
}

async function onCommand(message: Extract<ToWorker, { type: 'command' }>): Promise<void> {
  clock.set(Math.max(clock.now(), message.now));
  try {
    const value = await run(message.command);
    send({ type: 'done', seq: message.seq, ...(value === undefined ? {} : { value }) });
  } catch (error) {
    send({ type: 'failed', seq: message.seq, error: describe(error) });
  }
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'command') {
    void onCommand(message);
  } else if (message.type === 'report') {
    clock.set(Math.max(clock.now(), message.now));
    // A report the session no longer fits (stale binding) is refused: the agent moves on.
    opened()
      .receive(message.report)
      .catch(() => {});
  } else {
    const resolve = calls.get(message.callId);
    calls.delete(message.callId);
    resolve?.(message.result);
  }
});

// The parent went away: nothing more will come.
process.on('disconnect', () => {
  void store?.close().finally(() => process.exit(0));
});
