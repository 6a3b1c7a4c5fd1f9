/**
 * Pickers: the order pending sessions are tried in. Priority always comes first (higher first).
 * - `fifo`: then oldest `submittedAt` first, then id;
 * - `lifo`: then newest `submittedAt` first, then id;
 * - `drf`: dominant resource fairness: the owner whose largest share of any slot of the
 *   schedulable capacity is smallest goes next, shares updated as the batch places sessions;
 *   within an owner, and between owners with equal shares, `fifo` order.
 */
import type { PickerName } from '../types.js';
import { Heap } from './heap.js';
import { compareIds } from './pool.js';
import type { PendingSession } from './types.js';
import type { OwnerBook } from './usage.js';
import type { Vec } from './vector.js';

/** Hands out the batch's sessions one at a time, in the picker's order. */
export interface SessionQueue {
  next(): PendingSession | undefined;
  /** Tells the queue the session it handed out last was placed (the owner's usage changed). */
  placed(session: PendingSession): void;
}

export function fifoOrder(a: PendingSession, b: PendingSession): number {
  return b.priority - a.priority || a.submittedAt - b.submittedAt || compareIds(a.id, b.id);
}

export function lifoOrder(a: PendingSession, b: PendingSession): number {
  return b.priority - a.priority || b.submittedAt - a.submittedAt || compareIds(a.id, b.id);
}

/**
 * A queue in `picker` order. `book` and `capacity` (the schedulable capacity, asked for only by
 * `drf`) feed the dominant shares.
 */
export function createQueue(
  picker: PickerName,
  sessions: readonly PendingSession[],
  book: OwnerBook,
  capacity: () => Vec,
): SessionQueue {
  if (picker === 'drf') return drfQueue(sessions, book, capacity());
  return sortedQueue([...sessions].sort(picker === 'fifo' ? fifoOrder : lifoOrder));
}

function sortedQueue(sorted: PendingSession[]): SessionQueue {
  let next = 0;
  return { next: () => sorted[next++], placed: () => {} };
}

/** The largest share `slots` takes of any slot of `total` (slots the cluster lacks are skipped). */
export function dominantShare(slots: Vec, total: Vec): number {
  let share = 0;
  for (let i = 0; i < slots.length; i++) {
    if (total[i]! > 0) share = Math.max(share, slots[i]! / total[i]!);
  }
  return share;
}

interface OwnerLine {
  owner: string;
  sessions: PendingSession[];
  head: number;
  share: number;
}

function drfQueue(sessions: readonly PendingSession[], book: OwnerBook, total: Vec): SessionQueue {
  const lines = new Map<string, OwnerLine>();
  for (const session of sessions) {
    const line = lines.get(session.owner);
    if (line) line.sessions.push(session);
    else lines.set(session.owner, { owner: session.owner, sessions: [session], head: 0, share: 0 });
  }
  const heap = new Heap<OwnerLine>(
    (a, b) => a.share - b.share || fifoOrder(a.sessions[a.head]!, b.sessions[b.head]!),
  );
  for (const line of lines.values()) {
    line.sessions.sort(fifoOrder);
    line.share = dominantShare(book.slots(line.owner), total);
    heap.push(line);
  }
  // The line handed out last goes back into the heap on the next call, with its share updated.
  let current: OwnerLine | undefined;
  return {
    next: () => {
      if (current && current.head < current.sessions.length) heap.push(current);
      current = heap.pop();
      return current?.sessions[current.head++];
    },
    placed: (session) => {
      if (current) current.share = dominantShare(book.slots(session.owner), total);
    },
  };
}
