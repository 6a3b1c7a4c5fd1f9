/**
 * Rows to values and back. Decoding is defensive: a column that does not hold what this code
 * wrote raises `CorruptRowError` naming the row, never a TypeError deep in the manager.
 */
import type { Slots, Status } from '../../../core/types.js';
import { STATUSES } from '../../../core/types.js';
import type {
  AgentRow,
  HistoryRow,
  OutboxRow,
  SessionHead,
  SessionRow,
  TimerRow,
} from '../../../manager/ports.js';
import { CorruptRowError } from './errors.js';

/** Slot name -> column stem (`cuda.device` -> `cuda_device`), in `SLOT_NAMES` order. */
export const SLOT_COLUMNS = [
  ['cpu', 'cpu'],
  ['mem', 'mem'],
  ['cuda.device', 'cuda_device'],
  ['cuda.shares', 'cuda_shares'],
] as const;

const STATUS_SET: ReadonlySet<string> = new Set(STATUSES);

/** Driver values for BIGINT arrive as number, string or bigint; all become numbers. */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** Slots from `<stem>_<suffix>` columns, without zero entries. */
export function slotsFromColumns(row: Record<string, unknown>, suffix: string): Slots {
  const out: Record<string, number> = {};
  for (const [slot, stem] of SLOT_COLUMNS) {
    const amount = num(row[`${stem}_${suffix}`]);
    if (amount !== 0) out[slot] = amount;
  }
  return out as Slots;
}

/** The four slot amounts of a vector, in column order (absent = 0). */
export function slotVector(slots: Slots): [number, number, number, number] {
  return [slots.cpu ?? 0, slots.mem ?? 0, slots['cuda.device'] ?? 0, slots['cuda.shares'] ?? 0];
}

export function decodeAgent(row: Record<string, unknown>): AgentRow {
  const agent: AgentRow = {
    id: String(row.id),
    capacity: slotsFromColumns(row, 'capacity'),
    reserved: slotsFromColumns(row, 'reserved'),
    schedulable: row.schedulable === true,
  };
  if (row.labels !== null && row.labels !== undefined) {
    agent.labels = row.labels as Record<string, string>;
  }
  return agent;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const isAmount = (value: unknown) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function checkHolds(id: string, holds: unknown): Record<string, Slots> {
  if (!isPlainObject(holds)) {
    throw new CorruptRowError('sessions', id, 'holds', `must be an object, got ${shown(holds)}`);
  }
  for (const [agentId, slots] of Object.entries(holds)) {
    if (!isPlainObject(slots) || !Object.values(slots).every(isAmount)) {
      const problem = `must hold non-negative integer slot amounts, got ${shown(slots)}`;
      throw new CorruptRowError('sessions', id, `holds.${agentId}`, problem);
    }
  }
  return holds as Record<string, Slots>;
}

function checkStatus(id: string, status: unknown): Status {
  if (typeof status !== 'string' || !STATUS_SET.has(status)) {
    const allowed = `must be one of ${STATUSES.join(', ')}, got ${shown(status)}`;
    throw new CorruptRowError('sessions', id, 'status', allowed);
  }
  return status as Status;
}

/** Context keys that never change after submit: kept once per session, in `fixed`. */
const FIXED_KEYS = ['spec', 'policy'] as const;

/**
 * A snapshot as the store writes it: without its fixed context keys, and those keys apart
 * (null when the context has none). Both stay objects, so the batch's JSON embeds them as they
 * are; the statement stores each as text.
 */
export function splitSnapshot(snapshot: unknown): { snapshot: unknown; fixed: object | null } {
  if (!isPlainObject(snapshot) || !isPlainObject(snapshot.context)) {
    return { snapshot, fixed: null };
  }
  const { context } = snapshot;
  const fixed: Record<string, unknown> = {};
  const rest: Record<string, unknown> = { ...context };
  for (const key of FIXED_KEYS) {
    if (!(key in context)) continue;
    fixed[key] = context[key];
    rest[key] = undefined;
  }
  if (Object.keys(fixed).length === 0) return { snapshot, fixed: null };
  return { snapshot: { ...snapshot, context: rest }, fixed };
}

/**
 * A stored snapshot, parsed on first read, with its fixed keys put back. The columns hold JSON
 * text; most reads never need it parsed (the manager keeps the version it wrote), so parsing
 * waits until someone asks. A value that is plainly not a JSON object is refused at once; text
 * that only looks like one is refused, with the same error, when it is read.
 */
function lazySnapshot(id: string, stored: unknown, fixed: unknown): () => unknown {
  if (typeof stored !== 'string') return () => checkSnapshot(id, stored);
  const text = stored.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) {
    checkSnapshot(id, parseOrSelf(text));
  }
  let parsed: Record<string, unknown> | undefined;
  return () => {
    if (parsed === undefined) {
      const snapshot = checkSnapshot(id, parseColumn(id, 'snapshot', text));
      if (typeof fixed === 'string' && isPlainObject(snapshot.context)) {
        const keys = parseColumn(id, 'fixed', fixed);
        if (!isPlainObject(keys)) {
          throw new CorruptRowError(
            'sessions',
            id,
            'fixed',
            `must be an object, got ${shown(keys)}`,
          );
        }
        Object.assign(snapshot.context, keys);
      }
      parsed = snapshot;
    }
    return parsed;
  };
}

function parseColumn(id: string, column: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CorruptRowError('sessions', id, column, `is not JSON: ${shown(text)}`);
  }
}

function parseOrSelf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function checkSnapshot(id: string, snapshot: unknown): Record<string, unknown> {
  if (!isPlainObject(snapshot)) {
    const problem = `must be a JSON object (the chart's snapshot), got ${shown(snapshot)}`;
    throw new CorruptRowError('sessions', id, 'snapshot', problem);
  }
  return snapshot;
}

/**
 * Decodes a `sessions` row; throws `CorruptRowError` naming the session for bad columns. The
 * snapshot is parsed when first read (see `lazySnapshot`).
 */
export function decodeSession(row: Record<string, unknown>): SessionRow {
  const id = String(row.id);
  const snapshot = lazySnapshot(id, row.snapshot, row.fixed);
  const session = {
    id,
    owner: String(row.owner),
    priority: num(row.priority),
    status: checkStatus(id, row.status),
    substate: String(row.substate),
    version: num(row.version),
    submittedAt: num(row.submitted_at),
    updatedAt: num(row.updated_at),
    holds: checkHolds(id, row.holds),
  } as SessionRow;
  Object.defineProperty(session, 'snapshot', { get: snapshot, enumerable: true });
  return session;
}

/** The version, status and substate columns of a `sessions` row. */
export function decodeHead(row: Record<string, unknown>): SessionHead {
  const id = String(row.id);
  return {
    version: num(row.version),
    status: checkStatus(id, row.status),
    substate: String(row.substate),
  };
}

export function decodeHistory(row: Record<string, unknown>): HistoryRow {
  const out: HistoryRow = {
    sessionId: String(row.session_id),
    at: num(row.at),
    from: row.from_status as Status,
    to: row.to_status as Status,
    substate: String(row.substate),
  };
  if (row.reason !== null && row.reason !== undefined) out.reason = String(row.reason);
  return out;
}

export function decodeOutbox(row: Record<string, unknown>): OutboxRow {
  const key = String(row.key);
  if (!isPlainObject(row.effect) || typeof row.effect.type !== 'string') {
    const problem = `must be an agent effect object, got ${shown(row.effect)}`;
    throw new CorruptRowError('outbox', key, 'effect', problem);
  }
  const out: OutboxRow = {
    key,
    sessionId: String(row.session_id),
    agentId: String(row.agent_id),
    effect: row.effect as unknown as OutboxRow['effect'],
    dueAt: num(row.due_at),
    tries: num(row.tries),
  };
  if (row.session_version !== null && row.session_version !== undefined) {
    out.sessionVersion = num(row.session_version);
  }
  return out;
}

export function decodeTimer(row: Record<string, unknown>): TimerRow {
  return {
    sessionId: String(row.session_id),
    timerId: String(row.timer_id),
    event: String(row.event),
    dueAt: num(row.due_at),
  };
}
