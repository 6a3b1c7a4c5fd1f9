/** Requests known to fit on no agent, so placement can fail them without a search. */
import { dominates, sameVec, type Vec } from './vector.js';

/**
 * What outlives a batch: the first kernels, by session, that fit nowhere in an earlier batch.
 * It must forget them as soon as any agent may have more free than when they failed.
 */
export interface MissMemory {
  /** True when `sessionId`'s first kernel, asking `need`, is known to fit nowhere. */
  knows(sessionId: string, need: Vec): boolean;
  /** `sessionId`'s first kernel, asking `need`, fit nowhere. */
  note(sessionId: string, need: Vec): void;
}

/** How many failed requests a batch remembers for the dominance check. */
const MAX_MISSES = 8;

/**
 * Requests that fit on no agent earlier in the batch. Free slots only shrink within a batch,
 * so a request at least as large in every slot cannot fit either: it fails without a search.
 * With a `memory`, a session whose first kernel failed in an earlier batch fails again without
 * a search while the memory holds it. Only first kernels are recorded (later ones failed
 * against the session's own earlier kernels).
 */
export class Misses {
  private readonly needs: Vec[] = [];

  constructor(private readonly memory?: MissMemory) {}

  covers(sessionId: string, need: Vec): boolean {
    if (this.needs.some((miss) => dominates(need, miss))) return true;
    return this.memory?.knows(sessionId, need) ?? false;
  }

  add(sessionId: string, need: Vec): void {
    if (this.needs.length >= MAX_MISSES) this.needs.shift();
    this.needs.push(need);
    this.memory?.note(sessionId, need);
  }
}

/** A memory of misses by session id; `forget()` when free slots may have grown. */
export class SessionMisses implements MissMemory {
  private readonly bySession = new Map<string, Vec>();

  knows(sessionId: string, need: Vec): boolean {
    const known = this.bySession.get(sessionId);
    return known !== undefined && sameVec(known, need);
  }

  note(sessionId: string, need: Vec): void {
    this.bySession.set(sessionId, need);
  }

  forget(): void {
    this.bySession.clear();
  }
}
