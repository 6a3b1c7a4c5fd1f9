/**
 * A deep copy of plain JSON data (objects, arrays, primitives), several times faster than
 * `structuredClone` for the small rows the store keeps. `undefined` properties are kept as is.
 */
export function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = copyJson((value as Record<string, unknown>)[key]);
  return out as T;
}
