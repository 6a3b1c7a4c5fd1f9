import type { Status } from '../../core/types.js';

/** One indexed session: its sort key and the generation it was indexed under. */
export interface IndexEntry {
  submittedAt: number;
  id: string;
  gen: number;
}

interface List {
  items: IndexEntry[];
  /** Entries before `head` are known stale and skipped. */
  head: number;
  /** Entries known to have gone stale since the last compaction. */
  stale: number;
}

type Key = Omit<IndexEntry, 'gen'>;

const before = (a: Key, b: Key): boolean =>
  a.submittedAt < b.submittedAt || (a.submittedAt === b.submittedAt && a.id < b.id);

/**
 * Sessions per status, oldest first (submittedAt, then id), with lazy deletion: an entry is
 * live while the session still carries the entry's generation. A status change gives the
 * session a new generation and a new entry; the old one is skipped and compacted away later.
 */
export class StatusIndex {
  private readonly lists = new Map<Status, List>();

  constructor(private readonly isLive: (entry: IndexEntry) => boolean) {}

  add(status: Status, entry: IndexEntry): void {
    const list = this.list(status);
    const items = list.items;
    const last = items[items.length - 1];
    if (last === undefined || !before(entry, last)) {
      items.push(entry);
      return;
    }
    items.splice(this.position(list, entry), 0, entry);
  }

  /** An entry of `status` went stale; compacts the list when most of it is stale. */
  invalidate(status: Status): void {
    const list = this.list(status);
    list.stale += 1;
    if (list.stale > 64 && list.stale * 2 > list.items.length - list.head) this.compact(list);
  }

  /** Live entries of `status` in order, at most `limit`; with `after`, those after it only. */
  scan(status: Status, limit: number, after?: Key): IndexEntry[] {
    const list = this.lists.get(status);
    if (list === undefined) return [];
    this.skipStaleHead(list);
    const out: IndexEntry[] = [];
    const items = list.items;
    let start = list.head;
    if (after !== undefined) {
      start = this.position(list, after);
      while (start < items.length && !before(after, items[start] as IndexEntry)) start += 1;
    }
    for (let i = start; i < items.length && out.length < limit; i += 1) {
      const entry = items[i] as IndexEntry;
      if (this.isLive(entry)) out.push(entry);
    }
    return out;
  }

  private skipStaleHead(list: List): void {
    while (list.head < list.items.length && !this.isLive(list.items[list.head] as IndexEntry)) {
      list.head += 1;
      list.stale = Math.max(0, list.stale - 1);
    }
    if (list.head > 1024 && list.head * 2 > list.items.length) this.compact(list);
  }

  private compact(list: List): void {
    list.items = list.items.slice(list.head).filter((entry) => this.isLive(entry));
    list.head = 0;
    list.stale = 0;
  }

  private position(list: List, entry: Key): number {
    let low = list.head;
    let high = list.items.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (before(list.items[mid] as IndexEntry, entry)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private list(status: Status): List {
    let list = this.lists.get(status);
    if (list === undefined) {
      list = { items: [], head: 0, stale: 0 };
      this.lists.set(status, list);
    }
    return list;
  }
}
