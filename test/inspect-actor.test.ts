import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import type { SessionSpec } from '../src/core/types.js';
import { startInspection } from '../src/inspect/start.js';
import { hideOwner } from '../src/inspect/view.js';
import { defaultPolicy } from '../src/policy/defaults.js';
import { ROOT, runScript } from './helpers/cli-process.js';
import { statusOfValue, Viewer } from './inspect-helpers.js';

const spec: SessionSpec = {
  id: 'live',
  owner: 'alice',
  image: 'python:3.12',
  priority: 0,
  kernels: [{ id: 'main', slots: { cpu: 1_000, mem: 1_024 } }],
  dependsOn: [],
  submittedAt: 1_000,
};

describe('a live actor of the chart with the session inspector attached', () => {
  it('shows the actor with its full chart, its events and redacted snapshots', async () => {
    const inspection = await startInspection({ port: 0, redact: hideOwner });
    try {
      const viewer = await Viewer.connect(inspection.server.socketUrl);
      const actor = createActor(sessionMachine, {
        input: { spec, policy: defaultPolicy, seed: 1, now: 1_000 },
        inspect: inspection.inspector.actorObserver,
      });
      actor.start();
      actor.send({ type: 'SCHEDULE', now: 2_000, placement: { main: 'agent-1' } });
      actor.send({ type: 'PREPARE', now: 3_000 });
      actor.send({ type: 'CANCEL', now: 4_000 });
      actor.stop();
      // The observer hands events over on a zero-delay timer; let it run before draining.
      await new Promise((done) => setTimeout(done, 50));
      await viewer.drain(inspection.inspector);
      const messages = viewer.messages.filter((m) => m.sessionId === actor.sessionId);

      const [registration] = messages.filter((m) => m.type === '@xstate.actor');
      const chart = JSON.parse(registration!.definition!) as { id: string; states: object };
      expect(chart.id).toBe('session');
      expect(Object.keys(chart.states)).toHaveLength(10);
      expect(registration!.definition).not.toMatch(/"\[(Object|Array)\]"/);

      const events = messages.filter((m) => m.type === '@xstate.event');
      expect(events.map((m) => m.event?.type)).toEqual([
        'xstate.init',
        'SCHEDULE',
        'PREPARE',
        'CANCEL',
      ]);
      const snapshots = messages.filter((m) => m.type === '@xstate.snapshot');
      expect(snapshots.map((m) => statusOfValue(m.snapshot!.value))).toEqual([
        'PENDING',
        'SCHEDULED',
        'PREPARING',
        'CANCELLED',
      ]);
      for (const m of snapshots) expect(m.snapshot?.context.spec.owner).toBe('hidden');
      expect(viewer.raw.join('\n')).not.toContain('alice');
      viewer.close();
    } finally {
      await inspection.close();
    }
  });
});

describe('examples/live-session.mjs', () => {
  it('plays one session from PENDING through a pull retry to TERMINATED', async () => {
    const main = join(ROOT, 'dist/src/inspect/index.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run 'npm run build' first`);
    const run = await runExample('0', '--fast', '--no-wait');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^open http:\/\/127\.0\.0\.1:\d+\/ \(Ctrl\+C to stop\)\n$/);
    expect(run.stdout.split('\n')).toEqual([
      'PENDING',
      'SCHEDULED',
      'PREPARING (pulling.waiting)',
      'PREPARING (pulling.waiting)',
      'PREPARING (backoff)',
      'PREPARING (pulling.waiting)',
      'PREPARING (pulling.waiting)',
      'PREPARED',
      'CREATING (creating)',
      'CREATING (creating)',
      'RUNNING',
      'TERMINATING',
      'TERMINATED',
      '',
    ]);
  });
});

function runExample(...args: string[]) {
  return runScript('examples/live-session.mjs', args);
}
