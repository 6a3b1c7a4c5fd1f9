/** A real WebSocket viewer of the local inspector server, and a short replay to watch. */
import WebSocket from 'ws';
import type { FaultPreset } from '../src/adapters/agents/faults.js';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { runReplay } from '../src/cli/replay.js';
import type { RunResult } from '../src/cli/result.js';
import type { SessionInspector } from '../src/inspect/session-inspector.js';
import type { Logger } from '../src/manager/ports.js';
import type { SessionView, TransitionObserver } from '../src/manager/types.js';
import type { Workload } from '../src/workload/types.js';

/** One inspection message as the viewer receives it. */
export interface Message {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  sessionId: string;
  name?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { status: string; value: unknown; context: { spec: { owner: string } } };
}

/** Collects every message the server relays to it, raw and parsed. */
export class Viewer {
  readonly raw: string[] = [];
  private readonly socket: WebSocket;

  private constructor(url: string, headers: Record<string, string>) {
    this.socket = new WebSocket(url, { headers });
    this.socket.on('message', (data) => this.raw.push(data.toString()));
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<Viewer> {
    const viewer = new Viewer(url, headers);
    await new Promise((resolve, reject) => {
      viewer.socket.once('open', resolve);
      viewer.socket.once('error', reject);
    });
    return viewer;
  }

  get messages(): Message[] {
    return this.raw.map((text) => JSON.parse(text) as Message).filter((m) => m.sessionId !== END);
  }

  /**
   * Sends a marker through `inspector` and waits for it: one socket keeps its order, so every
   * message sent before the marker has arrived when it does.
   */
  async drain(inspector: SessionInspector): Promise<void> {
    inspector.inspector.event(END, { type: 'END' });
    for (let waited = 0; !this.raw.some((text) => text.includes(`"${END}"`)); waited += 10) {
      if (waited > 10_000) throw new Error('the end marker never arrived');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.socket.close();
  }
}

const END = 'end-of-test';

/** What a short replay left behind: its result and every session's view. */
export interface Replayed {
  result: RunResult;
  views: Map<string, SessionView>;
}

/** Replays `workload` with the given faults, optionally inspected; reads every session back. */
export async function replay(
  workload: Workload,
  faults: FaultPreset,
  inspect?: TransitionObserver,
  logger?: Logger,
): Promise<Replayed> {
  const views = new Map<string, SessionView>();
  const result = await runReplay({
    workload,
    policy: 'guarded',
    seed: 7,
    makeFleet: (clock, seed) => new SimulatedAgents({ clock, seed, faults }),
    ...(inspect ? { inspect } : {}),
    ...(logger ? { logger } : {}),
    onDone: async (manager) => {
      for (const { spec } of workload.sessions) {
        const view = await manager.get(spec.id as string);
        if (view) views.set(view.id, view);
      }
    },
  });
  return { result, views };
}

/** The messages of one session, in order. */
export function of(messages: Message[], sessionId: string): Message[] {
  return messages.filter((message) => message.sessionId === sessionId);
}

/** The top-level state of a snapshot value (the session's status). */
export function statusOfValue(value: unknown): string {
  return typeof value === 'string' ? value : Object.keys(value as object)[0]!;
}
