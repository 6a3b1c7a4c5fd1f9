import { describe, expect, it } from 'vitest';
import type { FaultPreset } from '../src/adapters/agents/faults.js';
import { startInspection } from '../src/inspect/start.js';
import { recordingLogger } from '../src/manager/logger.js';
import type { SessionView } from '../src/manager/types.js';
import { generateWorkload } from '../src/workload/generator.js';
import { replay } from './inspect-helpers.js';

/** What must not change: every session's end state. */
function endStates(views: Map<string, SessionView>) {
  return [...views.values()].map(({ id, status, substate, attempts, reason, reschedules }) => ({
    id,
    status,
    substate,
    attempts,
    reason,
    reschedules,
  }));
}

describe.each<FaultPreset>(['light', 'heavy'])('a replay with %s faults', (faults) => {
  const workload = generateWorkload({ seed: 11, sessions: 60, agents: 12 });

  it('ends in identical session states with and without inspection', async () => {
    const plain = await replay(workload, faults);
    const inspection = await startInspection({ port: 0 });
    try {
      const inspected = await replay(workload, faults, inspection.inspector.inspect);
      expect(plain.views.size).toBe(60);
      expect(endStates(inspected.views)).toEqual(endStates(plain.views));
      expect(inspected.result.outcomes).toEqual(plain.result.outcomes);
      expect(inspected.result.ticks).toBe(plain.result.ticks);
      expect(inspected.result.leaks).toEqual([]);
    } finally {
      await inspection.close();
    }
  });
});

describe('an inspect hook that throws', () => {
  it('is logged and changes nothing the manager does', async () => {
    const workload = generateWorkload({ seed: 12, sessions: 20, agents: 6 });
    const plain = await replay(workload, 'light');
    let calls = 0;
    const logger = recordingLogger();
    const observer = () => {
      calls += 1;
      throw new Error('viewer gone');
    };
    const broken = await replay(workload, 'light', observer, logger);
    expect(endStates(broken.views)).toEqual(endStates(plain.views));
    const logged = logger.entries.filter((entry) => entry.message === 'inspect threw');
    expect(logged).toHaveLength(calls);
    expect(logged[0]).toMatchObject({
      level: 'error',
      fields: { err: { name: 'Error', message: 'viewer gone' } },
    });
    // One call per committed transition: the submit, then every event that moved a session.
    const transitions = [...plain.views.values()].reduce((sum, view) => sum + view.version, 0);
    expect(calls).toBe(transitions);
  });
});
