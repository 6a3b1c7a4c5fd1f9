import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { and, not, setup } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import {
  describeState,
  mermaidId,
  renderLifecycleDoc,
  renderMachineJson,
  stateNodes,
  toMermaid,
  UNDESCRIBED,
} from '../src/core/diagram.js';

/** A small chart with every construct the diagram handles. */
const sample = setup({
  guards: { canRetry: () => true, isLate: () => false },
  delays: { retryDelay: () => 100, recheck: () => 5 },
  actions: { mark: () => {} },
}).createMachine({
  id: 'sample',
  initial: 'IDLE',
  on: { CANCEL: { target: '.DONE' }, 'xstate.error.actor.*': {} },
  states: {
    IDLE: {
      on: {
        GO: [
          { guard: { type: 'canRetry', params: { n: 1 } }, target: 'WORK' },
          { guard: not('isLate'), target: 'WORK' },
          { guard: and(['canRetry', 'isLate']), actions: 'mark' },
        ],
      },
    },
    WORK: {
      initial: 'trying',
      after: { 5000: 'DONE' },
      states: {
        trying: {
          initial: 'waiting',
          on: { FAILED: 'backoff', GAVE_UP: '#sample.DONE' },
          states: { waiting: { after: { recheck: { target: 'waiting', reenter: true } } } },
        },
        backoff: {
          after: { retryDelay: 'trying' },
          always: { guard: 'isLate', target: '#sample.DONE' },
        },
      },
    },
    DONE: { type: 'final' },
  },
});

describe('toMermaid', () => {
  test('draws nested states, guards, delays, eventless and root transitions, fixed', () => {
    expect(toMermaid(sample)).toBe(
      [
        'stateDiagram-v2',
        '  state "any non-final state" as ANY_STATE',
        '  IDLE',
        '  state WORK {',
        '    state "trying" as WORK_trying',
        '    state WORK_trying {',
        '      state "waiting" as WORK_trying_waiting',
        '      [*] --> WORK_trying_waiting',
        '      WORK_trying_waiting --> WORK_trying_waiting: after recheck',
        '    }',
        '    state "backoff" as WORK_backoff',
        '    [*] --> WORK_trying',
        '    WORK_trying --> WORK_backoff: FAILED',
        '    WORK_backoff --> WORK_trying: after retryDelay',
        '  }',
        '  DONE',
        '  [*] --> IDLE',
        '  ANY_STATE --> DONE: CANCEL',
        '  IDLE --> WORK: GO [canRetry(n=1)]',
        '  IDLE --> WORK: GO [not(isLate)]',
        '  WORK --> DONE: after 5000 ms',
        '  WORK_trying --> DONE: GAVE_UP',
        '  WORK_backoff --> DONE: always [isLate]',
        '  DONE --> [*]',
        '',
      ].join('\n'),
    );
  });

  test('gives the same text on every call', () => {
    expect(toMermaid(sample)).toBe(toMermaid(sample));
  });

  test('names nested states by their path so equal keys do not collide', () => {
    const ids = stateNodes(sample.root).map(mermaidId);
    expect(ids).toStrictEqual([
      'IDLE',
      'WORK',
      'WORK_trying',
      'WORK_trying_waiting',
      'WORK_backoff',
      'DONE',
    ]);
  });
});

describe('the session chart diagram', () => {
  const mermaid = toMermaid(sessionMachine);

  test('contains every state node of the chart', () => {
    const nodes = stateNodes(sessionMachine.root);
    const missing = nodes.filter((node) => !new RegExp(`\\b${mermaidId(node)}\\b`).test(mermaid));
    expect(missing.map((node) => node.id)).toStrictEqual([]);
    expect(nodes.length).toBeGreaterThanOrEqual(10);
  });

  test('describes every state of the chart in the lifecycle document', () => {
    const undescribed = stateNodes(sessionMachine.root)
      .filter((node) => describeState(node) === UNDESCRIBED)
      .map((node) => node.path.join('.'));
    expect(undescribed).toStrictEqual([]);
  });

  test('documents every named delay of the chart', () => {
    expect(renderLifecycleDoc(sessionMachine)).not.toContain(UNDESCRIBED);
  });
});

/** The file's text, or '' when it does not exist yet (so the failure says what to run). */
function readOrEmpty(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

describe('generated docs', () => {
  const docs = join(import.meta.dirname, '..', 'docs');
  const stale = 'is out of date: run `npm run build && npm run diagram` and commit the result';

  test('docs/lifecycle.md is what the code generates now', () => {
    const onDisk = readOrEmpty(join(docs, 'lifecycle.md'));
    expect(onDisk === renderLifecycleDoc(sessionMachine), `docs/lifecycle.md ${stale}`).toBe(true);
  });

  test('docs/session.machine.json is what the code generates now', () => {
    const onDisk = readOrEmpty(join(docs, 'session.machine.json'));
    expect(onDisk === renderMachineJson(sessionMachine), `docs/session.machine.json ${stale}`).toBe(
      true,
    );
  });
});
