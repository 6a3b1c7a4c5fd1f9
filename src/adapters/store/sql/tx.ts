/**
 * `StoreTx` over one SQL connection inside an open transaction. Claims lock rows with
 * `FOR UPDATE SKIP LOCKED`: rows another manager's transaction holds are skipped, and the locks
 * go when the transaction ends or its connection dies.
 */
import type { Slots, Status } from '../../../core/types.js';
import type {
  AgentRow,
  ApplyResult,
  ClaimCursor,
  DueWork,
  HistoryRow,
  OutboxRow,
  SessionHead,
  SessionRow,
  StoreTx,
  TimerRow,
  TransitionWrite,
} from '../../../manager/ports.js';
import { transactionClosed, unknownAgent } from '../errors.js';
import { applyWrites, type HeldSessions } from './apply.js';
import {
  decodeAgent,
  decodeHead,
  decodeHistory,
  decodeOutbox,
  decodeSession,
  decodeTimer,
  num,
  slotsFromColumns,
  slotVector,
} from './codec.js';
import type { SqlConnection } from './driver.js';
import { DeferredOutbox } from './outbox.js';
import * as q from './queries.js';

type Row = Record<string, unknown>;

export class SqlStoreTx implements StoreTx {
  private open = true;
  private readonly outbox = new DeferredOutbox();
  /** Sessions locked by this transaction, with their versions (see `HeldSessions`). */
  private readonly held: HeldSessions = new Map();

  constructor(private readonly conn: SqlConnection) {}

  /** Makes every later call throw: the transaction ended. */
  end(): void {
    this.open = false;
  }

  async putAgent(agent: Omit<AgentRow, 'reserved'>): Promise<void> {
    const sql = await this.use('putAgent');
    const labels = agent.labels === undefined ? null : JSON.stringify(agent.labels);
    await sql.query(q.PUT_AGENT, [
      agent.id,
      agent.schedulable,
      labels,
      ...slotVector(agent.capacity),
    ]);
  }

  async setSchedulable(agentId: string, schedulable: boolean): Promise<void> {
    const { rowCount } = await this.run('setSchedulable', q.SET_SCHEDULABLE, [
      agentId,
      schedulable,
    ]);
    if (rowCount === 0) throw unknownAgent('setSchedulable', agentId);
  }

  async agents(): Promise<AgentRow[]> {
    const { rows } = await this.run<Row>('agents', q.AGENTS);
    return rows.map(decodeAgent);
  }

  async getSessions(ids: string[]): Promise<SessionRow[]> {
    const { rows } = await this.run<Row>('getSessions', q.GET_SESSIONS, [ids]);
    const byId = new Map(rows.map((row) => [String(row.id), row]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row === undefined ? [] : [decodeSession(row)];
    });
  }

  async claimSessions(
    statuses: readonly Status[],
    limit: number,
    after?: ClaimCursor,
  ): Promise<SessionRow[]> {
    const sql = await this.use('claimSessions');
    const from = after === undefined ? ['-Infinity', ''] : [after.submittedAt, after.id];
    const { rows } =
      statuses.length === 1
        ? await sql.query<Row>(q.CLAIM_ONE_STATUS, [statuses[0], limit, ...from])
        : await sql.query<Row>(q.CLAIM_STATUSES, [statuses, limit, ...from]);
    const claimed = rows.map(decodeSession);
    for (const row of claimed) this.held.set(row.id, row.version);
    return claimed;
  }

  async sessionsOnAgent(agentId: string, statuses: readonly Status[]): Promise<string[]> {
    const { rows } = await this.run<Row>('sessionsOnAgent', q.SESSIONS_ON_AGENT, [
      agentId,
      statuses,
    ]);
    return rows.map((row) => String(row.id));
  }

  async ownerUsage(
    statuses: readonly Status[],
  ): Promise<Map<string, { sessions: number; slots: Slots }>> {
    const { rows } = await this.run<Row>('ownerUsage', q.OWNER_USAGE, [statuses]);
    return new Map(
      rows.map((row) => [
        String(row.owner),
        { sessions: num(row.sessions), slots: slotsFromColumns(row, 'held') },
      ]),
    );
  }

  async statusOf(ids: string[]): Promise<Map<string, Status>> {
    const { rows } = await this.run<Row>('statusOf', q.STATUS_OF, [ids]);
    const found = new Map(rows.map((row) => [String(row.id), row.status as Status]));
    return new Map(ids.flatMap((id) => (found.has(id) ? [[id, found.get(id) as Status]] : [])));
  }

  async headsOf(ids: string[]): Promise<Map<string, SessionHead>> {
    const { rows } = await this.run<Row>('headsOf', q.HEADS_OF, [ids]);
    return new Map(rows.map((row) => [String(row.id), decodeHead(row)]));
  }

  async apply(write: TransitionWrite): Promise<ApplyResult> {
    const [result] = await applyWrites(await this.use('apply'), this.held, [write]);
    return result as ApplyResult;
  }

  async applyMany(writes: readonly TransitionWrite[]): Promise<ApplyResult[]> {
    return applyWrites(await this.use('applyMany'), this.held, writes);
  }

  async dueTimers(now: number, limit: number): Promise<TimerRow[]> {
    const { rows } = await this.run<Row>('dueTimers', q.DUE_TIMERS, [now, limit]);
    for (const row of rows) this.held.set(String(row.session_id), num(row.session_version));
    return rows.map(decodeTimer);
  }

  async dueOutbox(now: number, limit: number): Promise<OutboxRow[]> {
    const { rows } = await this.run<Row>('dueOutbox', q.DUE_OUTBOX, [now, limit]);
    return rows.map(decodeOutbox);
  }

  async leaseOutbox(now: number, limit: number, leaseUntil: number): Promise<OutboxRow[]> {
    const { rows } = await this.run<Row>('leaseOutbox', q.LEASE_OUTBOX, [now, limit, leaseUntil]);
    return rows.map(decodeOutbox);
  }

  /** Deferred: sent with the next statement of this transaction, or before it commits. */
  async finishOutbox(key: string): Promise<void> {
    this.check('finishOutbox');
    this.outbox.finish(key);
  }

  /** Deferred like `finishOutbox`. */
  async retryOutbox(key: string, dueAt: number): Promise<void> {
    this.check('retryOutbox');
    this.outbox.retry(key, dueAt);
  }

  /** Sends the deferred outbox changes. The store calls it before COMMIT. */
  async flush(): Promise<void> {
    await this.outbox.flush(this.conn);
  }

  async nextDue(): Promise<{ timer?: number; outbox?: number }> {
    const { rows } = await this.run<Row>('nextDue', q.NEXT_DUE);
    const due: { timer?: number; outbox?: number } = {};
    if (rows[0]?.timer != null) due.timer = num(rows[0].timer);
    if (rows[0]?.outbox != null) due.outbox = num(rows[0].outbox);
    return due;
  }

  async workDue(now: number, statuses: readonly Status[]): Promise<DueWork> {
    const { rows } = await this.run<Row>('workDue', q.WORK_DUE, [now, statuses]);
    const found = new Set(rows[0]?.statuses as string[]);
    return {
      timers: rows[0]?.timers === true,
      outbox: rows[0]?.outbox === true,
      statuses: statuses.filter((status) => found.has(status)),
    };
  }

  async history(sessionId: string): Promise<HistoryRow[]> {
    const { rows } = await this.run<Row>('history', q.HISTORY, [sessionId]);
    return rows.map(decodeHistory);
  }

  async statuses(): Promise<Map<string, Status>> {
    const { rows } = await this.run<Row>('statuses', q.STATUSES);
    return new Map(rows.map((row) => [String(row.id), row.status as Status]));
  }

  private check(method: string): void {
    if (!this.open) throw transactionClosed(method);
  }

  /** Runs one statement for `method`, after the deferred outbox changes. */
  private async run<R = Row>(method: string, text: string, params?: readonly unknown[]) {
    return (await this.use(method)).query<R>(text, params);
  }

  /** The connection for one statement, once the deferred outbox changes are sent. */
  private async use(method: string): Promise<SqlConnection> {
    this.check(method);
    await this.outbox.flush(this.conn);
    return this.conn;
  }
}
