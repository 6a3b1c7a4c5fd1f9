/**
 * `StoreTx` over one SQL connection inside an open transaction. Claims lock rows with
 * `FOR UPDATE SKIP LOCKED`: rows another manager's transaction holds are skipped, and the locks
 * go when the transaction ends or its connection dies.
 */
import type { Slots, Status } from '../../../core/types.js';
import type {
  AgentRow,
  ApplyResult,
  HistoryRow,
  OutboxRow,
  SessionRow,
  StoreTx,
  TimerRow,
  TransitionWrite,
} from '../../../manager/ports.js';
import { transactionClosed, unknownAgent } from '../errors.js';
import { applyWrites } from './apply.js';
import {
  decodeAgent,
  decodeHistory,
  decodeOutbox,
  decodeSession,
  decodeTimer,
  num,
  slotsFromColumns,
  slotVector,
} from './codec.js';
import type { SqlConnection } from './driver.js';
import * as q from './queries.js';

type Row = Record<string, unknown>;

export class SqlStoreTx implements StoreTx {
  private open = true;

  constructor(private readonly conn: SqlConnection) {}

  /** Makes every later call throw: the transaction ended. */
  end(): void {
    this.open = false;
  }

  async putAgent(agent: Omit<AgentRow, 'reserved'>): Promise<void> {
    const sql = this.use('putAgent');
    const labels = agent.labels === undefined ? null : JSON.stringify(agent.labels);
    await sql.query(q.PUT_AGENT, [
      agent.id,
      agent.schedulable,
      labels,
      ...slotVector(agent.capacity),
    ]);
  }

  async setSchedulable(agentId: string, schedulable: boolean): Promise<void> {
    const { rowCount } = await this.use('setSchedulable').query(q.SET_SCHEDULABLE, [
      agentId,
      schedulable,
    ]);
    if (rowCount === 0) throw unknownAgent('setSchedulable', agentId);
  }

  async agents(): Promise<AgentRow[]> {
    const { rows } = await this.use('agents').query<Row>(q.AGENTS);
    return rows.map(decodeAgent);
  }

  async getSessions(ids: string[]): Promise<SessionRow[]> {
    const { rows } = await this.use('getSessions').query<Row>(q.GET_SESSIONS, [ids]);
    const byId = new Map(rows.map((row) => [String(row.id), row]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row === undefined ? [] : [decodeSession(row)];
    });
  }

  async claimSessions(statuses: readonly Status[], limit: number): Promise<SessionRow[]> {
    const sql = this.use('claimSessions');
    const { rows } =
      statuses.length === 1
        ? await sql.query<Row>(q.CLAIM_ONE_STATUS, [statuses[0], limit])
        : await sql.query<Row>(q.CLAIM_STATUSES, [statuses, limit]);
    return rows.map(decodeSession);
  }

  async ownerUsage(
    statuses: readonly Status[],
  ): Promise<Map<string, { sessions: number; slots: Slots }>> {
    const { rows } = await this.use('ownerUsage').query<Row>(q.OWNER_USAGE, [statuses]);
    return new Map(
      rows.map((row) => [
        String(row.owner),
        { sessions: num(row.sessions), slots: slotsFromColumns(row, 'held') },
      ]),
    );
  }

  async statusOf(ids: string[]): Promise<Map<string, Status>> {
    const { rows } = await this.use('statusOf').query<Row>(q.STATUS_OF, [ids]);
    const found = new Map(rows.map((row) => [String(row.id), row.status as Status]));
    return new Map(ids.flatMap((id) => (found.has(id) ? [[id, found.get(id) as Status]] : [])));
  }

  async apply(write: TransitionWrite): Promise<ApplyResult> {
    const [result] = await applyWrites(this.use('apply'), [write]);
    return result as ApplyResult;
  }

  applyMany(writes: readonly TransitionWrite[]): Promise<ApplyResult[]> {
    return applyWrites(this.use('applyMany'), writes);
  }

  async dueTimers(now: number, limit: number): Promise<TimerRow[]> {
    const { rows } = await this.use('dueTimers').query<Row>(q.DUE_TIMERS, [now, limit]);
    return rows.map(decodeTimer);
  }

  async dueOutbox(now: number, limit: number): Promise<OutboxRow[]> {
    const { rows } = await this.use('dueOutbox').query<Row>(q.DUE_OUTBOX, [now, limit]);
    return rows.map(decodeOutbox);
  }

  async finishOutbox(key: string): Promise<void> {
    await this.use('finishOutbox').query(q.FINISH_OUTBOX, [key]);
  }

  async retryOutbox(key: string, dueAt: number): Promise<void> {
    await this.use('retryOutbox').query(q.RETRY_OUTBOX, [key, dueAt]);
  }

  async nextDue(): Promise<{ timer?: number; outbox?: number }> {
    const { rows } = await this.use('nextDue').query<Row>(q.NEXT_DUE);
    const due: { timer?: number; outbox?: number } = {};
    if (rows[0]?.timer != null) due.timer = num(rows[0].timer);
    if (rows[0]?.outbox != null) due.outbox = num(rows[0].outbox);
    return due;
  }

  async history(sessionId: string): Promise<HistoryRow[]> {
    const { rows } = await this.use('history').query<Row>(q.HISTORY, [sessionId]);
    return rows.map(decodeHistory);
  }

  async statuses(): Promise<Map<string, Status>> {
    const { rows } = await this.use('statuses').query<Row>(q.STATUSES);
    return new Map(rows.map((row) => [String(row.id), row.status as Status]));
  }

  private use(method: string): SqlConnection {
    if (!this.open) throw transactionClosed(method);
    return this.conn;
  }
}
