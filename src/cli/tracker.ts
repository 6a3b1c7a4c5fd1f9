/** Follows the sessions of a replay: submits arrivals, records status changes, ends lifetimes. */
import { FINAL_STATUSES, type Status } from '../core/types.js';
import type { SessionManager, SubmitSpec, TransitionNotice } from '../manager/types.js';
import type { Workload } from '../workload/types.js';

const FINAL: readonly Status[] = FINAL_STATUSES;

/** Submission time, first RUNNING time and last status of each submitted session. */
export class Tracker {
  readonly submittedAt = new Map<string, number>();
  readonly runningAt = new Map<string, number>();
  readonly status = new Map<string, Status>();
  /** Specs `submit` refused, with its message. */
  readonly rejected: { id: string; message: string }[] = [];
  private next = 0;
  private settledCount = 0;
  /** Pending terminations, ordered by due time. */
  private ends: { at: number; id: string }[] = [];
  private readonly lifetimes = new Map<string, number>();

  constructor(
    private readonly manager: SessionManager,
    private readonly workload: Workload,
    useLifetimes: boolean,
  ) {
    manager.subscribe((notice) => this.observe(notice));
    if (!useLifetimes) return;
    for (const session of workload.sessions) {
      if (session.lifetimeMs !== undefined && session.spec.id !== undefined) {
        this.lifetimes.set(session.spec.id, session.lifetimeMs);
      }
    }
  }

  /** Submits every session whose arrival is at or before `now`; how many. */
  async submitDue(epoch: number, now: number): Promise<number> {
    let count = 0;
    for (; this.next < this.workload.sessions.length; this.next++) {
      const session = this.workload.sessions[this.next]!;
      if (epoch + session.arrivalMs > now) break;
      count += 1;
      const id = await this.submitOne(session.spec);
      if (id === undefined) continue;
      this.submittedAt.set(id, now);
      if (!this.status.has(id)) this.status.set(id, 'PENDING');
    }
    return count;
  }

  /** Submits one spec; a spec the manager refuses is recorded and skipped. */
  private async submitOne(spec: SubmitSpec): Promise<string | undefined> {
    try {
      return await this.manager.submit(spec);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.rejected.push({ id: spec.id ?? '', message });
      this.settledCount += 1;
      return undefined;
    }
  }

  /** Terminates every session whose lifetime ended at or before `now`; how many. */
  async terminateDue(now: number): Promise<number> {
    let count = 0;
    while (this.ends.length > 0 && this.ends[0]!.at <= now) {
      const { id } = this.ends.shift()!;
      if (!FINAL.includes(this.status.get(id) ?? 'PENDING')) await this.manager.terminate(id);
      count += 1;
    }
    return count;
  }

  nextArrival(epoch: number): number | undefined {
    const session = this.workload.sessions[this.next];
    return session === undefined ? undefined : epoch + session.arrivalMs;
  }

  nextTermination(): number | undefined {
    return this.ends[0]?.at;
  }

  /** Sessions RUNNING or final. */
  settled(): number {
    return this.settledCount;
  }

  private observe(notice: TransitionNotice): void {
    const before = this.status.get(notice.sessionId);
    this.status.set(notice.sessionId, notice.to);
    const was = before !== undefined && isSettled(before);
    this.settledCount += Number(isSettled(notice.to)) - Number(was);
    if (notice.to === 'RUNNING' && !this.runningAt.has(notice.sessionId)) {
      this.runningAt.set(notice.sessionId, notice.at);
      this.scheduleEnd(notice.sessionId, notice.at);
    }
  }

  private scheduleEnd(id: string, runningAt: number): void {
    const lifetime = this.lifetimes.get(id);
    if (lifetime === undefined) return;
    const at = runningAt + lifetime;
    const index = this.ends.findIndex((end) => end.at > at);
    this.ends.splice(index === -1 ? this.ends.length : index, 0, { at, id });
  }
}

/** RUNNING or final: the session needs nothing more from the replay. */
function isSettled(status: Status): boolean {
  return status === 'RUNNING' || FINAL.includes(status);
}
