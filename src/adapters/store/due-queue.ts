import { MinHeap } from './heap.js';

interface Entry {
  dueAt: number;
  key: string;
  seq: number;
}

const before = (a: Entry, b: Entry): boolean =>
  a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.key < b.key);

/**
 * Keyed rows with a due time, listed earliest first (ties by key). A min-heap with lazy
 * deletion: replacing or deleting a row leaves its old heap entry behind, recognized as stale
 * by its sequence number and dropped when it surfaces or when the heap is compacted.
 */
export class DueQueue<V extends { dueAt: number }> {
  private readonly live = new Map<string, { value: V; seq: number }>();
  private readonly heap = new MinHeap<Entry>(before);
  private seq = 0;

  get size(): number {
    return this.live.size;
  }

  /** Heap entries, live and stale (for tests of compaction). */
  get heapSize(): number {
    return this.heap.size;
  }

  get(key: string): V | undefined {
    return this.live.get(key)?.value;
  }

  /** Sets (or with `undefined` deletes) the row under `key`; returns the previous row. */
  set(key: string, value: V | undefined): V | undefined {
    const previous = this.live.get(key)?.value;
    if (value === undefined) {
      this.live.delete(key);
    } else {
      this.seq += 1;
      this.live.set(key, { value, seq: this.seq });
      this.heap.push({ dueAt: value.dueAt, key, seq: this.seq });
    }
    this.compactIfSparse();
    return previous;
  }

  /** Rows with `dueAt <= now`, earliest first, at most `limit`. Rows stay in the queue. */
  due(now: number, limit: number): V[] {
    const taken: Entry[] = [];
    const rows: V[] = [];
    while (rows.length < limit) {
      const top = this.heap.peek();
      if (top === undefined) break;
      const current = this.live.get(top.key);
      if (current?.seq !== top.seq) {
        this.heap.pop();
        continue;
      }
      if (top.dueAt > now) break;
      taken.push(this.heap.pop() as Entry);
      rows.push(current.value);
    }
    for (const entry of taken) this.heap.push(entry);
    return rows;
  }

  /** The earliest due time, or undefined when empty. */
  earliest(): number | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined) return undefined;
      if (this.live.get(top.key)?.seq === top.seq) return top.dueAt;
      this.heap.pop();
    }
  }

  private compactIfSparse(): void {
    if (this.heap.size <= 2 * this.live.size + 64) return;
    const entries: Entry[] = [];
    for (const [key, { value, seq }] of this.live) entries.push({ dueAt: value.dueAt, key, seq });
    this.heap.reset(entries);
  }
}
