/** Per-owner usage during a batch: the view's figures plus the sessions placed so far. */
import type { OwnerUsage } from './types.js';
import { addInto, toVec, type Vec } from './vector.js';

interface Entry {
  sessions: number;
  slots: Vec;
}

export class OwnerBook {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly base: ReadonlyMap<string, OwnerUsage>) {}

  /** Live sessions of `owner`, including those placed earlier in the batch. */
  sessions(owner: string): number {
    return this.entry(owner).sessions;
  }

  /** Slots `owner` holds, including sessions placed earlier in the batch. */
  slots(owner: string): Vec {
    return this.entry(owner).slots;
  }

  /** Records a session placed in this batch. */
  add(owner: string, slots: Vec): void {
    const entry = this.entry(owner);
    entry.sessions += 1;
    addInto(entry.slots, slots);
  }

  private entry(owner: string): Entry {
    let entry = this.entries.get(owner);
    if (entry === undefined) {
      const usage = this.base.get(owner);
      entry = { sessions: usage?.sessions ?? 0, slots: toVec(usage?.slots ?? {}) };
      this.entries.set(owner, entry);
    }
    return entry;
  }
}
