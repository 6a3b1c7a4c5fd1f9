/**
 * Validation of submitted session specs: `SubmitSpec` (untrusted input) in, a normalized
 * `SessionSpec` out, or a `SpecError` that names the first offending field.
 */
import { z } from 'zod';
import { type SessionSpec, SLOT_NAMES, type SlotName } from '../core/types.js';
import { PolicyError } from '../policy/errors.js';
import type { RetryPolicy } from '../policy/types.js';
import { validatePolicy } from '../policy/validate.js';
import { SpecError, showSpecValue, specLabel } from './errors.js';

/** What `normalizeSpec` needs from the manager. */
export interface NormalizeOptions {
  /** Epoch ms, recorded as `submittedAt`. */
  now: number;
  /** Makes a session id when the spec has none. */
  newId: () => string;
}

/** A normalized spec together with the policy override it carried, if any (validated). */
export interface NormalizedSubmit {
  spec: SessionSpec;
  policy?: RetryPolicy;
}

/** Each slot's unit, as the error messages state it. */
const SLOT_UNITS: Record<SlotName, string> = {
  cpu: 'millicores',
  mem: 'MiB',
  'cuda.device': 'whole GPUs',
  'cuda.shares': '1/1000 of a GPU',
};

const NON_EMPTY_STRING = 'a non-empty string';
const SLOTS_OBJECT = `an object of slot amounts (${SLOT_NAMES.join(', ')})`;
const NON_ZERO_SLOTS = 'a request of more than zero in at least one slot';

function nonEmptyString(text: string) {
  return z.string({ error: text }).min(1, { error: text });
}

function slotAmount(slot: SlotName) {
  const text = `a non-negative integer (${SLOT_UNITS[slot]})`;
  return z.number({ error: text }).int({ error: text }).min(0, { error: text }).optional();
}

const slotsSchema = z
  .strictObject(
    Object.fromEntries(SLOT_NAMES.map((slot) => [slot, slotAmount(slot)])) as Record<
      SlotName,
      ReturnType<typeof slotAmount>
    >,
    { error: SLOTS_OBJECT },
  )
  .refine((slots) => Object.values(slots).some((amount) => (amount ?? 0) > 0), {
    error: NON_ZERO_SLOTS,
  });

const KERNEL_OBJECT = 'an object { slots }';
const KERNELS_ARRAY = 'a non-empty array of kernels, each { slots }';
const DEPENDS_ARRAY = 'an array of session ids';

const submitSchema = z.strictObject(
  {
    id: nonEmptyString(`${NON_EMPTY_STRING} when given`).optional(),
    owner: nonEmptyString(NON_EMPTY_STRING),
    image: nonEmptyString(`${NON_EMPTY_STRING} (the container image)`),
    priority: z.number({ error: 'an integer' }).int({ error: 'an integer' }).optional(),
    kernels: z
      .array(z.strictObject({ slots: slotsSchema }, { error: KERNEL_OBJECT }), {
        error: KERNELS_ARRAY,
      })
      .min(1, { error: KERNELS_ARRAY }),
    dependsOn: z
      .array(nonEmptyString(`${NON_EMPTY_STRING} (a session id)`), { error: DEPENDS_ARRAY })
      .optional(),
    policy: z.unknown().optional(),
  },
  { error: 'an object' },
);

/** Top-level fields of a submitted spec, for the unknown-field message. */
const SUBMIT_FIELDS = Object.keys(submitSchema.shape);

/**
 * Validates a submitted spec and normalizes it: kernel ids `k0`, `k1`, ...; priority 0 and no
 * dependencies when absent; duplicate dependencies dropped; an id from `newId` when absent.
 * Throws `SpecError` naming the first offending field. Dependencies are checked for shape here;
 * whether they name known sessions is for the caller (see `unknownDependencyError`).
 */
export function normalizeSpec(input: unknown, opts: NormalizeOptions): SessionSpec {
  return normalizeSubmit(input, opts).spec;
}

/** Like `normalizeSpec`, and also returns the spec's policy override, validated. */
export function normalizeSubmit(input: unknown, opts: NormalizeOptions): NormalizedSubmit {
  const result = submitSchema.safeParse(input);
  if (!result.success) throw fromIssue(input, result.error.issues[0]!);
  const data = result.data;
  const id = data.id ?? opts.newId();
  const spec: SessionSpec = {
    id,
    owner: data.owner,
    image: data.image,
    priority: data.priority ?? 0,
    kernels: data.kernels.map((kernel, index) => ({ id: `k${index}`, slots: compact(kernel) })),
    dependsOn: checkDependencies(id, data.dependsOn ?? []),
    submittedAt: opts.now,
  };
  if (data.policy === undefined) return { spec };
  return { spec, policy: checkPolicy(data.policy) };
}

function compact(kernel: { slots: Partial<Record<SlotName, number | undefined>> }) {
  const slots: Partial<Record<SlotName, number>> = {};
  for (const slot of SLOT_NAMES) {
    const amount = kernel.slots[slot];
    if (amount !== undefined && amount > 0) slots[slot] = amount;
  }
  return slots;
}

function checkDependencies(id: string, dependsOn: string[]): string[] {
  const index = dependsOn.indexOf(id);
  if (index >= 0) {
    throw new SpecError(`dependsOn[${index}]`, id, 'the id of another session (not its own)');
  }
  return [...new Set(dependsOn)];
}

function checkPolicy(policy: unknown): RetryPolicy {
  try {
    return validatePolicy(policy);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    const field = error.field === '' ? 'policy' : `policy.${error.field}`;
    throw new SpecError(field, error.value, error.allowed, `spec.${error.message}`);
  }
}

function fieldOf(path: PropertyKey[]): string {
  let field = '';
  for (const key of path) {
    if (typeof key === 'number') field += `[${key}]`;
    else field += field === '' ? String(key) : `.${String(key)}`;
  }
  return field;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function fromIssue(input: unknown, issue: z.core.$ZodIssue): SpecError {
  const field = fieldOf(issue.path);
  if (issue.code === 'unrecognized_keys') return unknownKey(field, issue.keys[0]!);
  return new SpecError(field, valueAt(input, issue.path), issue.message);
}

function unknownKey(field: string, key: string): SpecError {
  const isSlots = field.endsWith('.slots');
  const names = isSlots ? SLOT_NAMES.join(', ') : field === '' ? SUBMIT_FIELDS.join(', ') : 'slots';
  const what = isSlots ? 'slot names' : 'fields';
  const text = `an object with only the ${what} ${names}`;
  const kind = isSlots ? 'slot' : 'field';
  const unknown = `${specLabel(field)} has an unknown ${kind} ${showSpecValue(key)}`;
  const message = `${unknown}; allowed: ${names}`;
  return new SpecError(field, key, text, message);
}
