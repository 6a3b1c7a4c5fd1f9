import { describe, expect, it } from 'vitest';
import { placeBatch } from '../src/manager/placement/batch.js';
import { createSelectorState } from '../src/manager/placement/types.js';
import type { SelectorName } from '../src/manager/types.js';
import { agent, session, summary, targets, view } from './placement-fixtures.js';

// Free cpu: a1 2000, a2 6000, a3 8000, a4 1000.
const fleet = () => [
  agent('a1', { cpu: 8_000 }, { cpu: 6_000 }),
  agent('a2', { cpu: 8_000 }, { cpu: 2_000 }),
  agent('a3', { cpu: 8_000 }),
  agent('a4', { cpu: 8_000 }, { cpu: 7_000 }),
];
const fourSessions = ['s1', 's2', 's3', 's4'].map((id, i) =>
  session(id, { submittedAt: i, kernels: [{ cpu: 1_500 }] }),
);

function place(selector: SelectorName, sessions = fourSessions, state = createSelectorState()) {
  return targets(placeBatch('fifo', selector, sessions, view(fleet()), state));
}

describe('concentrated selector', () => {
  it('fills the agent with the least free room that fits first', () => {
    expect(place('concentrated')).toEqual(['s1:a1', 's2:a2', 's3:a2', 's4:a2']);
  });

  it('ranks agents by free accelerators before cpu and memory', () => {
    const agents = [
      agent('g-many', { 'cuda.device': 4, cpu: 2_000 }),
      agent('g-one', { 'cuda.device': 1, cpu: 16_000 }),
    ];
    const results = placeBatch(
      'fifo',
      'concentrated',
      [session('s1', { kernels: [{ cpu: 1_000 }] })],
      view(agents),
      createSelectorState(),
    );
    expect(targets(results)).toEqual(['s1:g-one']);
  });

  it('breaks ties between equally free agents by id', () => {
    const agents = [agent('b', { cpu: 1_000 }), agent('a', { cpu: 1_000 })];
    const results = placeBatch('fifo', 'concentrated', [session('s1')], view(agents), {
      cursor: null,
    });
    expect(targets(results)).toEqual(['s1:a']);
  });
});

describe('dispersed selector', () => {
  it('takes the agent with the most free room first', () => {
    expect(place('dispersed')).toEqual(['s1:a3', 's2:a3', 's3:a2', 's4:a3']);
  });
});

describe('roundrobin selector', () => {
  it('walks the agents in id order, skipping those the kernel does not fit', () => {
    const state = createSelectorState();
    expect(place('roundrobin', fourSessions, state)).toEqual(['s1:a1', 's2:a2', 's3:a3', 's4:a2']);
    expect(state).toEqual({ cursor: 'a2' });
  });

  it('continues after the agent chosen last in the previous batch', () => {
    const state = { cursor: 'a2' };
    expect(place('roundrobin', [session('s5', { kernels: [{ cpu: 500 }] })], state)).toEqual([
      's5:a3',
    ]);
    expect(state).toEqual({ cursor: 'a3' });
  });

  it('wraps around past the last agent', () => {
    const state = { cursor: 'a4' };
    expect(place('roundrobin', [session('s5', { kernels: [{ cpu: 500 }] })], state)).toEqual([
      's5:a1',
    ]);
  });

  it('starts after a cursor whose agent is gone', () => {
    const state = { cursor: 'a2-retired' };
    expect(place('roundrobin', [session('s5', { kernels: [{ cpu: 500 }] })], state)).toEqual([
      's5:a3',
    ]);
  });
});

describe('failed-agent penalty', () => {
  const same = () => [
    agent('a1', { cpu: 4_000 }),
    agent('a2', { cpu: 4_000 }),
    agent('a3', { cpu: 4_000 }),
  ];

  function placeOne(selector: SelectorName, avoid: Record<string, number>, agents = same()) {
    const sessions = [session('s1', { avoid })];
    return targets(placeBatch('fifo', selector, sessions, view(agents), createSelectorState()));
  }

  it.each(['concentrated', 'dispersed', 'roundrobin'] as const)(
    'passes over an agent that failed the session when another fits (%s)',
    (selector) => {
      expect(placeOne(selector, { a1: 2 })).toEqual(['s1:a2']);
    },
  );

  it('falls back to a failed agent when nothing else fits', () => {
    const agents = [
      agent('a1', { cpu: 4_000 }),
      agent('a2', { cpu: 4_000 }, { cpu: 4_000 }),
      agent('a3', { cpu: 500 }),
    ];
    expect(placeOne('concentrated', { a1: 3 }, agents)).toEqual(['s1:a1']);
  });

  it('prefers the agent with fewer failures among failed agents', () => {
    expect(placeOne('concentrated', { a1: 2, a2: 1, a3: 3 })).toEqual(['s1:a2']);
  });

  it('orders failed agents with equal failures by the selector', () => {
    const agents = [
      agent('a1', { cpu: 4_000 }, { cpu: 1_000 }),
      agent('a2', { cpu: 4_000 }),
      agent('a3', { cpu: 4_000 }, { cpu: 2_000 }),
    ];
    const avoid = { a1: 1, a2: 1, a3: 1 };
    expect(placeOne('concentrated', avoid, agents)).toEqual(['s1:a3']);
    expect(placeOne('dispersed', avoid, agents)).toEqual(['s1:a2']);
    expect(placeOne('roundrobin', avoid, agents)).toEqual(['s1:a1']);
  });

  it('ignores penalties of zero and penalties on unknown agents', () => {
    expect(placeOne('concentrated', { a1: 0, gone: 4 })).toEqual(['s1:a1']);
  });

  it('does not fall back to a failed agent the kernel does not fit', () => {
    const agents = [agent('a1', { cpu: 500 }), agent('a2', { cpu: 4_000 }, { cpu: 4_000 })];
    expect(placeOne('dispersed', { a1: 1 }, agents)).toEqual(['s1:-']);
  });
});

describe('multi-kernel sessions', () => {
  const pair = () => [agent('a1', { cpu: 3_000 }), agent('a2', { cpu: 8_000 })];
  const three = [{ cpu: 2_000 }, { cpu: 2_000 }, { cpu: 2_000 }];

  it('places kernels one by one, concentrated: the tightest fit for each', () => {
    const results = placeBatch(
      'fifo',
      'concentrated',
      [session('s1', { kernels: three })],
      view(pair()),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['s1 k0@a1 k1@a2 k2@a2']);
  });

  it('places kernels one by one, dispersed: all on one agent while it stays the roomiest', () => {
    const results = placeBatch(
      'fifo',
      'dispersed',
      [session('s1', { kernels: three })],
      view(pair()),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['s1 k0@a2 k1@a2 k2@a2']);
  });

  it('spreads kernels over agents with roundrobin', () => {
    const results = placeBatch(
      'fifo',
      'roundrobin',
      [session('s1', { kernels: [{ cpu: 1_000 }, { cpu: 1_000 }, { cpu: 1_000 }] })],
      view(pair()),
      createSelectorState(),
    );
    expect(summary(results)).toEqual(['s1 k0@a1 k1@a2 k2@a1']);
  });

  it('takes back the kernels already placed when a later one does not fit', () => {
    const sessions = [
      session('s1', { submittedAt: 1, kernels: [{ cpu: 2_000 }, { cpu: 9_000 }] }),
      session('s2', { submittedAt: 2, kernels: [{ cpu: 3_000 }] }),
    ];
    const results = placeBatch('fifo', 'concentrated', sessions, view(pair()), {
      cursor: null,
    });
    expect(results).toEqual([
      {
        sessionId: 's1',
        predicate: 'capacity',
        message:
          'kernel "k1" needs cpu=9000; no schedulable agent has that free once the ' +
          "session's earlier kernels are placed (schedulable agents: 2)",
      },
      { sessionId: 's2', placement: { k0: 'a1' } },
    ]);
  });

  it('restores the roundrobin cursor when a session is taken back', () => {
    const state = createSelectorState();
    const sessions = [session('s1', { kernels: [{ cpu: 1_000 }, { cpu: 9_000 }] })];
    placeBatch('fifo', 'roundrobin', sessions, view(pair()), state);
    expect(state).toEqual({ cursor: null });
  });
});
