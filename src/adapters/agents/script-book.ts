import type { AgentReport } from '../../manager/ports.js';
import type { AgentOp, InjectedFailure, ScriptedFault, ScriptMatch } from './faults.js';

/** What a scripted fault does to one report. */
export type ReportFault = { drop: true } | { drop: false; delayMs: number };

const matches = (match: ScriptMatch, agentId: string, sessionId: string | undefined): boolean =>
  (match.agentId === undefined || match.agentId === agentId) &&
  (match.sessionId === undefined || match.sessionId === sessionId);

const reportSession = (report: AgentReport): string | undefined =>
  'sessionId' in report ? report.sessionId : undefined;

const reportKernel = (report: AgentReport): string | undefined =>
  'kernelId' in report ? report.kernelId : undefined;

/** Scripted one-off faults, each used up by the first call or report it matches. */
export class ScriptBook {
  private faults: ScriptedFault[] = [];

  add(fault: ScriptedFault): void {
    this.faults.push(fault);
  }

  get pending(): number {
    return this.faults.length;
  }

  /** The scripted failure for this call, if one matches (and removes it). */
  takeCallFault(op: AgentOp, agentId: string, sessionId: string): InjectedFailure | undefined {
    const fault = this.take((f) => 'op' in f && f.op === op && matches(f, agentId, sessionId));
    if (fault === undefined || !('op' in fault)) return undefined;
    const performed = fault.performed ?? fault.failure.class === 'ambiguous';
    return { failure: fault.failure, performed };
  }

  /** The scripted drop or delay for this report, if one matches (and removes it). */
  takeReportFault(report: AgentReport): ReportFault | undefined {
    const fault = this.take((f) => this.matchesReport(f, report));
    if (fault === undefined) return undefined;
    if ('dropReport' in fault) return { drop: true };
    if ('delayReport' in fault) return { drop: false, delayMs: fault.byMs };
    return undefined;
  }

  /** The scripted start delay for this create, if one matches (and removes it). */
  takeSlowCreate(agentId: string, sessionId: string): number | undefined {
    const fault = this.take((f) => 'slowCreate' in f && matches(f, agentId, sessionId));
    return fault !== undefined && 'slowCreate' in fault ? fault.slowCreate : undefined;
  }

  private matchesReport(fault: ScriptedFault, report: AgentReport): boolean {
    const type =
      'dropReport' in fault
        ? fault.dropReport
        : 'delayReport' in fault
          ? fault.delayReport
          : undefined;
    if (type !== report.type) return false;
    if (!matches(fault, report.agentId, reportSession(report))) return false;
    const kernelId = 'kernelId' in fault ? fault.kernelId : undefined;
    return kernelId === undefined || kernelId === reportKernel(report);
  }

  private take(test: (fault: ScriptedFault) => boolean): ScriptedFault | undefined {
    const index = this.faults.findIndex(test);
    if (index < 0) return undefined;
    return this.faults.splice(index, 1)[0];
  }
}
