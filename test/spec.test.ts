import { describe, expect, it } from 'vitest';
import {
  AgentBindingError,
  DuplicateSessionError,
  SpecError,
  UnknownKernelError,
  UnknownSessionError,
  unknownDependencyError,
} from '../src/manager/errors.js';
import { normalizeSpec, normalizeSubmit } from '../src/manager/spec.js';
import { defaultPolicy } from '../src/policy/defaults.js';

const opts = { now: 1_000, newId: () => 's-new' };
const base = {
  owner: 'alice',
  image: 'python:3.12',
  kernels: [{ slots: { cpu: 1000, mem: 512 } }],
};

function rejection(input: unknown): SpecError {
  try {
    normalizeSpec(input, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return error as SpecError;
  }
  throw new Error('expected a SpecError');
}

describe('normalizeSpec', () => {
  it('fills defaults: generated id, priority 0, no dependencies, k0.., submittedAt', () => {
    const spec = normalizeSpec(
      { ...base, kernels: [{ slots: { cpu: 1000, mem: 0 } }, { slots: { 'cuda.shares': 500 } }] },
      opts,
    );
    expect(spec).toEqual({
      id: 's-new',
      owner: 'alice',
      image: 'python:3.12',
      priority: 0,
      kernels: [
        { id: 'k0', slots: { cpu: 1000 } },
        { id: 'k1', slots: { 'cuda.shares': 500 } },
      ],
      dependsOn: [],
      submittedAt: 1_000,
    });
  });

  it('keeps a given id, priority and dependencies, dropping duplicate dependencies', () => {
    const spec = normalizeSpec(
      { ...base, id: 's-1', priority: -3, dependsOn: ['s-0', 's-2', 's-0'] },
      opts,
    );
    expect(spec.id).toBe('s-1');
    expect(spec.priority).toBe(-3);
    expect(spec.dependsOn).toEqual(['s-0', 's-2']);
  });

  it('returns a valid policy override, frozen', () => {
    const { policy } = normalizeSubmit({ ...base, policy: defaultPolicy }, opts);
    expect(policy).toEqual(defaultPolicy);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(normalizeSubmit(base, opts).policy).toBeUndefined();
  });
});

describe('normalizeSpec rejections', () => {
  const cases: [string, unknown, string, unknown, string][] = [
    ['a spec that is not an object', 'x', '', 'x', 'spec must be an object, got "x"'],
    [
      'a missing image',
      { owner: 'alice', kernels: base.kernels },
      'image',
      undefined,
      'spec.image must be a non-empty string (the container image), got undefined',
    ],
    [
      'an empty image',
      { ...base, image: '' },
      'image',
      '',
      'spec.image must be a non-empty string (the container image), got ""',
    ],
    [
      'a missing owner',
      { image: 'x', kernels: base.kernels },
      'owner',
      undefined,
      'spec.owner must be a non-empty string, got undefined',
    ],
    [
      'an empty id',
      { ...base, id: '' },
      'id',
      '',
      'spec.id must be a non-empty string when given, got ""',
    ],
    [
      'an id that is not a string',
      { ...base, id: 7 },
      'id',
      7,
      'spec.id must be a non-empty string when given, got 7',
    ],
    [
      'a fractional cpu amount',
      { ...base, kernels: [{ slots: { cpu: 0.5 } }] },
      'kernels[0].slots.cpu',
      0.5,
      'spec.kernels[0].slots.cpu must be a non-negative integer (millicores), got 0.5',
    ],
    [
      'a negative mem amount in the second kernel',
      { ...base, kernels: [{ slots: { cpu: 1 } }, { slots: { cpu: 1, mem: -1 } }] },
      'kernels[1].slots.mem',
      -1,
      'spec.kernels[1].slots.mem must be a non-negative integer (MiB), got -1',
    ],
    [
      'a fractional GPU count',
      { ...base, kernels: [{ slots: { 'cuda.device': 1.5 } }] },
      'kernels[0].slots.cuda.device',
      1.5,
      'spec.kernels[0].slots.cuda.device must be a non-negative integer (whole GPUs), got 1.5',
    ],
    [
      'a GPU share given as a string',
      { ...base, kernels: [{ slots: { 'cuda.shares': '500' } }] },
      'kernels[0].slots.cuda.shares',
      '500',
      'spec.kernels[0].slots.cuda.shares must be a non-negative integer (1/1000 of a GPU), got ' +
        '"500"',
    ],
    [
      'an unknown slot name',
      { ...base, kernels: [{ slots: { cpu: 1, gpu: 1 } }] },
      'kernels[0].slots',
      'gpu',
      'spec.kernels[0].slots has an unknown slot "gpu"; allowed: cpu, mem, cuda.device, ' +
        'cuda.shares',
    ],
    [
      'missing kernels',
      { owner: 'alice', image: 'x' },
      'kernels',
      undefined,
      'spec.kernels must be a non-empty array of kernels, each { slots }, got undefined',
    ],
    [
      'an empty kernel list',
      { ...base, kernels: [] },
      'kernels',
      [],
      'spec.kernels must be a non-empty array of kernels, each { slots }, got []',
    ],
    [
      'a kernel without slots',
      { ...base, kernels: [{}] },
      'kernels[0].slots',
      undefined,
      'spec.kernels[0].slots must be an object of slot amounts (cpu, mem, cuda.device, ' +
        'cuda.shares), got undefined',
    ],
    [
      'a kernel whose slots are all zero',
      { ...base, kernels: [{ slots: { cpu: 1 } }, { slots: { cpu: 0, mem: 0 } }] },
      'kernels[1].slots',
      { cpu: 0, mem: 0 },
      'spec.kernels[1].slots must be a request of more than zero in at least one slot, got ' +
        '{"cpu":0,"mem":0}',
    ],
    [
      'a fractional priority',
      { ...base, priority: 1.5 },
      'priority',
      1.5,
      'spec.priority must be an integer, got 1.5',
    ],
    [
      'dependencies that are not an array',
      { ...base, dependsOn: 's-0' },
      'dependsOn',
      's-0',
      'spec.dependsOn must be an array of session ids, got "s-0"',
    ],
    [
      'a dependency that is not a string',
      { ...base, dependsOn: ['s-0', 5] },
      'dependsOn[1]',
      5,
      'spec.dependsOn[1] must be a non-empty string (a session id), got 5',
    ],
    [
      'a dependency on itself',
      { ...base, id: 's-1', dependsOn: ['s-0', 's-1'] },
      'dependsOn[1]',
      's-1',
      'spec.dependsOn[1] must be the id of another session (not its own), got "s-1"',
    ],
    [
      'an unknown top-level field',
      { ...base, kernel: [] },
      '',
      'kernel',
      'spec has an unknown field "kernel"; allowed: id, owner, image, priority, kernels, ' +
        'dependsOn, policy',
    ],
    [
      'a bad policy override',
      { ...base, policy: { ...defaultPolicy, pull: { ...defaultPolicy.pull, maxAttempts: 0 } } },
      'policy.pull.maxAttempts',
      0,
      'spec.policy.pull.maxAttempts must be an integer from 1 to 100, got 0',
    ],
  ];

  it.each(cases)('rejects %s', (_title, input, field, value, message) => {
    const error = rejection(input);
    expect(error.code).toBe('invalid-spec');
    expect(error.field).toBe(field);
    expect(error.value).toEqual(value);
    expect(error.message).toBe(message);
  });
});

describe('manager errors', () => {
  it('builds an unknown-dependency SpecError naming the entry and the id', () => {
    const error = unknownDependencyError('dependsOn[0]', 's-9');
    expect(error).toBeInstanceOf(SpecError);
    expect(error.field).toBe('dependsOn[0]');
    expect(error.value).toBe('s-9');
    expect(error.message).toBe(
      'spec.dependsOn[0] must be the id of an existing session, got "s-9"',
    );
  });

  it('names the unknown session and what to do', () => {
    const error = new UnknownSessionError('s-7');
    expect(error).toBeInstanceOf(UnknownSessionError);
    expect(error.code).toBe('unknown-session');
    expect(error.message).toBe(
      'unknown session "s-7": no session has this id; use the id that submit() returned',
    );
  });

  it('names the unknown kernel and the kernels the session has', () => {
    const error = new UnknownKernelError('s-1', 'k3', ['k0', 'k1']);
    expect(error).toBeInstanceOf(UnknownKernelError);
    expect(error.message).toBe(
      'session "s-1" has no kernel "k3" (its kernels: k0, k1); check the kernel id the agent ' +
        'reported',
    );
  });

  it('names the reporting agent and where the kernel is bound', () => {
    const error = new AgentBindingError({
      sessionId: 's-1',
      agentId: 'a2',
      kernelId: 'k0',
      boundTo: ['a1'],
    });
    expect(error).toBeInstanceOf(AgentBindingError);
    expect(error.code).toBe('agent-binding');
    expect(error.message).toBe(
      'agent "a2" reported on kernel "k0" of session "s-1", which is bound to a1; ' +
        'reports are accepted only from the agent a kernel is bound to',
    );
  });

  it('says when a session-wide report comes for a session not placed anywhere', () => {
    const error = new AgentBindingError({ sessionId: 's-1', agentId: 'a2', boundTo: [] });
    expect(error.message).toBe(
      'agent "a2" reported on session "s-1", which is not placed on any agent; ' +
        'reports are accepted only from the agent a kernel is bound to',
    );
  });

  it('names the duplicate session id and what to do', () => {
    const error = new DuplicateSessionError('s-1');
    expect(error).toBeInstanceOf(DuplicateSessionError);
    expect(error.message).toBe(
      'session "s-1" already exists; submit with another id, or leave id out to have one generated',
    );
  });

  it('recognizes errors from another copy of the package by their brand', () => {
    const foreign = Object.defineProperty(
      new Error('x'),
      Symbol.for('session-lifecycle.SpecError'),
      {
        value: true,
      },
    );
    expect(foreign).toBeInstanceOf(SpecError);
    expect(new UnknownSessionError('s')).not.toBeInstanceOf(SpecError);
    expect(new SpecError('id', 1, 'x')).not.toBeInstanceOf(DuplicateSessionError);
  });
});
