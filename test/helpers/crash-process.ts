/**
 * The parent's handle on one manager child process (crash-worker.ts): send a command and await
 * its answer, answer the child's agent calls, kill it with SIGKILL. A command in flight when the
 * child dies rejects with `ProcessGone`, so a driver can restart and repeat it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AgentEffect } from '../../src/core/effects.js';
import type { AgentCallResult, AgentReport, InspectResult } from '../../src/manager/ports.js';
import type { TickSummary } from '../../src/manager/types.js';
import type { FromWorker, ToWorker, WorkerCommand, WorkerError } from './crash-protocol.js';

/** The compiled worker; `npm run build` (part of `npm test`) produces it. */
export const WORKER_PATH = join(
  resolve(import.meta.dirname, '../..'),
  'dist/test/helpers/crash-worker.js',
);

/** The child died (killed or crashed) before answering. */
export class ProcessGone extends Error {
  constructor(readonly managerId: string) {
    super(`manager process ${managerId} is gone`);
    this.name = 'ProcessGone';
  }
}

/** A command the child's manager refused, with its error's name, code and message. */
export class WorkerFailure extends Error {
  readonly code: string | undefined;
  constructor(readonly error: WorkerError) {
    super(`${error.name}: ${error.message}`);
    this.name = 'WorkerFailure';
    this.code = error.code;
  }
}

/** What the parent does with one agent call of a child. */
export type CallHandler = (
  effect: AgentEffect,
  from: ManagerProcess,
) => Promise<AgentCallResult | InspectResult | 'no-answer'>;

interface Waiting {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class ManagerProcess {
  readonly child: ChildProcess;
  /** Resolves when the child has exited (for any reason). */
  readonly exited: Promise<void>;
  /** Warnings and errors the child's manager logged, by message. */
  readonly logs = new Map<string, number>();
  private alive = true;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();

  constructor(
    readonly managerId: string,
    private readonly onCall: CallHandler,
  ) {
    if (!existsSync(WORKER_PATH)) {
      throw new Error(`${WORKER_PATH} is missing: run 'npm run build' first`);
    }
    this.child = fork(WORKER_PATH, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromWorker) => this.onMessage(message));
    this.exited = new Promise((done) => {
      this.child.once('exit', () => {
        this.alive = false;
        for (const waiting of this.waiting.values()) waiting.reject(new ProcessGone(managerId));
        this.waiting.clear();
        done();
      });
    });
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /** Sends a command at virtual time `now` and resolves with the manager's answer. */
  request(now: number, command: WorkerCommand): Promise<unknown> {
    if (!this.alive) return Promise.reject(new ProcessGone(this.managerId));
    this.seq += 1;
    const seq = this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.post({ type: 'command', seq, now, command });
    });
  }

  async tick(now: number): Promise<TickSummary> {
    return (await this.request(now, { kind: 'tick' })) as TickSummary;
  }

  /** Hands an agent report to the child's manager (dropped if the child is gone). */
  report(now: number, report: AgentReport): void {
    this.post({ type: 'report', now, report });
  }

  /** SIGKILL, then waits until the child is gone. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Closes the channel; the child closes its store and exits. */
  async stop(): Promise<void> {
    if (this.alive) this.child.disconnect();
    await this.exited;
  }

  private post(message: ToWorker): void {
    if (!this.alive || !this.child.connected) return;
    this.child.send(message, (error) => {
      // A message to a child that just died is lost, as a network call would be.
      if (error) this.alive = this.child.connected;
    });
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'done' || message.type === 'failed') this.settle(message);
    else if (message.type === 'call') void this.answer(message.callId, message.effect);
    else this.logs.set(message.message, (this.logs.get(message.message) ?? 0) + 1);
  }

  private settle(message: Extract<FromWorker, { type: 'done' | 'failed' }>): void {
    const waiting = this.waiting.get(message.seq);
    this.waiting.delete(message.seq);
    if (message.type === 'done') waiting?.resolve(message.value);
    else waiting?.reject(new WorkerFailure(message.error));
  }

  private async answer(callId: number, effect: AgentEffect): Promise<void> {
    const result = await this.onCall(effect, this);
    if (result !== 'no-answer') this.post({ type: 'answer', callId, result });
  }
}
