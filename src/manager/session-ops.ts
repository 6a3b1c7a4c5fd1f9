/** The manager's per-session calls: submit, cancel, terminate, get, and recovery. */
import type { SessionEvent } from '../core/events.js';
import type { Reason } from '../core/types.js';
import { rowColumns, startSession } from './core-bridge.js';
import { dispatchAll } from './dispatch.js';
import {
  DuplicateSessionError,
  SessionBusyError,
  UnknownSessionError,
  unknownDependencyError,
} from './errors.js';
import type { AgentRow, StoreTx } from './ports.js';
import type { ReportInbox } from './reports.js';
import { Round, type Runtime } from './runtime.js';
import { sendEvents } from './send.js';
import { normalizeSubmit } from './spec.js';
import { loadRow } from './step.js';
import { planWrite } from './transition.js';
import type { SessionView, SubmitSpec } from './types.js';
import { verifyCreating } from './verify.js';
import { sessionView } from './view.js';

/** Times a user call (cancel, terminate) is retried after a write conflict. */
export const MAX_CALL_CONFLICTS = 5;
/** Length of generated session ids (base 36 characters after the `s-` prefix). */
const ID_LENGTH = 10;

export class SessionOps {
  constructor(private readonly runtime: Runtime) {}

  async registerAgent(agent: Omit<AgentRow, 'reserved'>): Promise<void> {
    await this.runtime.serial(() => this.runtime.store.transaction((tx) => tx.putAgent(agent)));
    this.runtime.placement.touch();
    this.runtime.logger.info({ agentId: agent.id }, 'agent registered');
  }

  /** Validates, freezes the policy in, and stores a new PENDING session; returns its id. */
  async submit(input: SubmitSpec): Promise<string> {
    const { runtime } = this;
    const now = runtime.clock.now();
    const { spec, policy } = normalizeSubmit(input, { now, newId: () => this.newId() });
    const round = new Round(now);
    await round.inTransaction(runtime, async (tx) => {
      await checkDependencies(tx, spec.dependsOn, input.dependsOn ?? []);
      if (await loadRow(tx, spec.id)) throw new DuplicateSessionError(spec.id);
      const seed = Math.floor(runtime.random() * 2 ** 32) >>> 0;
      const started = startSession({ spec, policy: policy ?? runtime.policy, seed, now });
      const { write, notices } = planWrite(rowColumns(started.next, now), 0, started.effects);
      const result = await tx.apply(write);
      if (!result.ok && result.conflict === 'version') throw new DuplicateSessionError(spec.id);
      if (!result.ok)
        throw new Error(`store refused the new session ${spec.id}: ${result.conflict}`);
      runtime.writes.wrote();
      round.pending.push(...notices);
      if (runtime.inspect) {
        round.observed.push({ sessionId: spec.id, event: null, snapshot: started.next, at: now });
      }
    });
    runtime.logger.info({ sessionId: spec.id, owner: spec.owner }, 'session submitted');
    return spec.id;
  }

  cancel(id: string, reason?: Reason): Promise<void> {
    const event: SessionEvent = { type: 'CANCEL', now: this.runtime.clock.now() };
    if (reason !== undefined) event.reason = reason;
    return this.userEvent(id, event);
  }

  terminate(id: string): Promise<void> {
    return this.userEvent(id, { type: 'TERMINATE', now: this.runtime.clock.now() });
  }

  async get(id: string): Promise<SessionView | undefined> {
    return this.runtime.serial(() =>
      this.runtime.store.transaction(async (tx) => {
        const row = await loadRow(tx, id);
        return row && sessionView(row, await tx.history(id), this.runtime.snapshots.of(row));
      }),
    );
  }

  /**
   * After a restart: every unfinished outbox row is dispatched now (calls are keyed, so a repeat
   * does no harm), then every CREATING session waiting for its kernels has them inspected on
   * the agents (see verify.ts), and whatever that asks for goes out. Re-sending first lets a
   * create the crash interrupted reach the agent before the inspection looks for its kernels.
   * Timers need nothing: they are rows.
   */
  async recover(inbox: ReportInbox): Promise<void> {
    const { runtime } = this;
    await inbox.idle();
    const round = new Round(runtime.clock.now());
    await dispatchAll(runtime, round);
    await verifyCreating(runtime, round);
    await dispatchAll(runtime, round);
    runtime.logger.info({ dispatched: round.dispatched, errors: round.errors }, 'recovered');
  }

  /** Sends a user's event; retries on write conflicts; unknown ids are a typed error. */
  private async userEvent(id: string, event: SessionEvent): Promise<void> {
    for (let tries = 0; tries <= MAX_CALL_CONFLICTS; tries += 1) {
      const round = new Round(event.now);
      const outcome = await round.inTransaction(this.runtime, (tx) =>
        sendEvents(this.runtime, round, tx, id, [event]),
      );
      if (outcome.kind === 'missing') throw new UnknownSessionError(id);
      if (outcome.kind !== 'conflict') return;
    }
    const fields = { sessionId: id, event: event.type };
    this.runtime.logger.warn(fields, 'user event lost to write conflicts');
    throw new SessionBusyError(id, event.type, MAX_CALL_CONFLICTS + 1);
  }

  private newId(): string {
    let id = 's-';
    for (let index = 0; index < ID_LENGTH; index += 1) {
      id += Math.floor(this.runtime.random() * 36).toString(36);
    }
    return id;
  }
}

/** Each dependency must name an existing session; the error names the input's index. */
async function checkDependencies(tx: StoreTx, dependsOn: string[], given: string[]) {
  if (dependsOn.length === 0) return;
  const known = await tx.statusOf(dependsOn);
  const missing = dependsOn.find((id) => !known.has(id));
  if (missing !== undefined) {
    throw unknownDependencyError(`dependsOn[${given.indexOf(missing)}]`, missing);
  }
}
