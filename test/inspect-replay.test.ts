import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { substateOf } from '../src/core/decide.js';
import { type Inspection, startInspection } from '../src/inspect/start.js';
import { hideOwner, machineDefinition } from '../src/inspect/view.js';
import { generateWorkload } from '../src/workload/generator.js';
import {
  type Message,
  of,
  type Replayed,
  replay,
  statusOfValue,
  Viewer,
} from './inspect-helpers.js';

const HAPPY_EVENTS = [
  'xstate.init',
  'SCHEDULE',
  'PREPARE',
  'IMAGE_PULLING',
  'IMAGE_PULLED',
  'START',
  'KERNEL_CREATING',
  'KERNEL_STARTED',
];

describe('a replay watched through the local inspector server', () => {
  const workload = generateWorkload({ seed: 3, sessions: 6, agents: 4 });
  const ids = workload.sessions.map(({ spec }) => spec.id as string);
  let inspection: Inspection;
  let messages: Message[];
  let replayed: Replayed;

  beforeAll(async () => {
    inspection = await startInspection({ port: 0 });
    const viewer = await Viewer.connect(inspection.server.socketUrl);
    replayed = await replay(workload, 'none', inspection.inspector.inspect);
    await viewer.drain(inspection.inspector);
    messages = viewer.messages;
    viewer.close();
  });
  afterAll(() => inspection.close());

  it('registers one actor per session, named by its id and carrying the chart', () => {
    const actors = messages.filter((m) => m.type === '@xstate.actor');
    expect(actors.map((m) => m.sessionId)).toEqual(ids);
    expect(actors.map((m) => m.name)).toEqual(ids);
    for (const actor of actors) expect(actor.definition).toBe(machineDefinition());
    const chart = JSON.parse(actors[0]!.definition!) as { id: string; states: object };
    expect(chart.id).toBe('session');
    expect(Object.keys(chart.states)).toEqual([
      'PENDING',
      'SCHEDULED',
      'PREPARING',
      'PREPARED',
      'CREATING',
      'RUNNING',
      'TERMINATING',
      'TERMINATED',
      'CANCELLED',
      'ERROR',
    ]);
  });

  it('sends each event a session took, in order, from its start to RUNNING', () => {
    expect(replayed.result.reachedRunning).toBe(6);
    for (const id of ids) {
      const events = of(messages, id).filter((m) => m.type === '@xstate.event');
      expect(events.map((m) => m.event?.type)).toEqual(HAPPY_EVENTS);
    }
  });

  it('follows the registration and every event with the snapshot it led to', () => {
    const first = of(messages, ids[0]!);
    expect(first.map((m) => m.type)).toEqual([
      '@xstate.actor',
      ...HAPPY_EVENTS.flatMap(() => ['@xstate.event', '@xstate.snapshot']),
    ]);
    for (const [index, message] of first.entries()) {
      if (message.type === '@xstate.snapshot') {
        expect(message.event?.type).toBe(first[index - 1]?.event?.type);
      }
    }
    expect(
      first.filter((m) => m.type === '@xstate.snapshot').map((m) => m.snapshot?.value),
    ).toEqual([
      'PENDING',
      'SCHEDULED',
      { PREPARING: { pulling: 'waiting' } },
      { PREPARING: { pulling: 'waiting' } },
      'PREPARED',
      { CREATING: 'creating' },
      { CREATING: 'creating' },
      'RUNNING',
    ]);
  });

  it("ends every session's snapshots in the status and substate the manager records", () => {
    for (const id of ids) {
      const view = replayed.views.get(id)!;
      const snapshots = of(messages, id).filter((m) => m.type === '@xstate.snapshot');
      const last = snapshots.at(-1)!.snapshot!;
      expect(statusOfValue(last.value)).toBe(view.status);
      expect(substateOf({ value: last.value } as never)).toBe(view.substate);
      expect(last.status).toBe('active');
      // Each status change the manager recorded shows as a change between snapshots.
      const statuses = snapshots.map((m) => statusOfValue(m.snapshot!.value));
      const changes = statuses.filter((status, at) => at === 0 || status !== statuses[at - 1]);
      expect(changes).toEqual(view.history.map((row) => row.to));
    }
  });
});

describe('a redacted inspection', () => {
  it('sends every context through redact before it leaves the process', async () => {
    const inspection = await startInspection({ port: 0, redact: hideOwner });
    try {
      const viewer = await Viewer.connect(inspection.server.socketUrl);
      const workload = generateWorkload({ seed: 4, sessions: 3, agents: 2 });
      await replay(workload, 'none', inspection.inspector.inspect);
      await viewer.drain(inspection.inspector);
      const withContext = viewer.messages.filter((m) => m.type !== '@xstate.event');
      expect(withContext).toHaveLength(3 * 9);
      for (const message of withContext) {
        expect(message.snapshot?.context.spec.owner).toBe('hidden');
      }
      const owners = new Set(workload.sessions.map(({ spec }) => spec.owner));
      for (const owner of owners) expect(viewer.raw.join('\n')).not.toContain(`"${owner}"`);
      viewer.close();
    } finally {
      await inspection.close();
    }
  });
});
