import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * Renders a statechart as a Mermaid `stateDiagram-v2`, from the machine's own state nodes so
 * the picture cannot drift from the code. Pure: the same machine always gives the same text.
 *
 * - compound states become nested `state X { ... }` blocks with their `[*] -->` initial arrow;
 * - every transition with a target becomes an arrow labelled `EVENT [guard]`; delayed ones read
 *   `after <delay>`, eventless ones `always`; targetless (in-place) transitions are left out;
 * - an arrow is written in the block of the innermost state containing both of its ends;
 * - transitions on the machine's root are drawn from one box, "any non-final state";
 * - top-level final states get a `--> [*]` arrow.
 *
 * Nested state ids are prefixed with their path (`PREPARING_backoff`) because Mermaid ids are
 * global and the same key (`backoff`) may appear under several parents.
 */
export function toMermaid(machine: AnyStateMachine): string {
  const root = machine.root;
  const edges = collectEdges(root);
  const lines = ['stateDiagram-v2'];
  lines.push(...renderBlock(root, edges, 1));
  return `${lines.join('\n')}\n`;
}

/** The id a state node has in the Mermaid text: its path joined by `_`. */
export function mermaidId(node: AnyStateNode): string {
  if (node.path.length === 0) return ANY_STATE;
  return node.path.map((key) => key.replace(/[^A-Za-z0-9_]/g, '_')).join('_');
}

/** Every state node below the root, depth first in definition order. */
export function stateNodes(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states).flatMap((child) => [child, ...stateNodes(child)]);
}

/** The pseudo state that stands for "any non-final state" (transitions on the root). */
const ANY_STATE = 'ANY_STATE';

interface Edge {
  /** The node whose block the arrow is written in (the root for top-level arrows). */
  scope: AnyStateNode;
  line: string;
}

function renderBlock(node: AnyStateNode, edges: Edge[], depth: number): string[] {
  const pad = '  '.repeat(depth);
  const lines: string[] = [];
  if (node.path.length === 0 && edges.some((edge) => edge.line.startsWith(ANY_STATE))) {
    lines.push(`${pad}state "any non-final state" as ${ANY_STATE}`);
  }
  for (const child of Object.values(node.states)) lines.push(...renderState(child, edges, depth));
  const initial = node.initial?.target?.[0];
  if (initial) lines.push(`${pad}[*] --> ${mermaidId(initial)}`);
  for (const edge of edges) if (edge.scope === node) lines.push(pad + edge.line);
  if (node.path.length === 0) {
    for (const child of Object.values(node.states)) {
      if (child.type === 'final') lines.push(`${pad}${mermaidId(child)} --> [*]`);
    }
  }
  return lines;
}

function renderState(node: AnyStateNode, edges: Edge[], depth: number): string[] {
  const pad = '  '.repeat(depth);
  const id = mermaidId(node);
  const lines = node.path.length > 1 ? [`${pad}state "${node.key}" as ${id}`] : [];
  if (Object.keys(node.states).length === 0) {
    if (lines.length === 0) lines.push(pad + id);
    return lines;
  }
  lines.push(`${pad}state ${id} {`, ...renderBlock(node, edges, depth + 1), `${pad}}`);
  return lines;
}

function collectEdges(root: AnyStateNode): Edge[] {
  const seen = new Set<string>();
  const edges: Edge[] = [];
  for (const node of [root, ...stateNodes(root)]) {
    for (const transition of transitionsOf(node)) {
      for (const target of transition.target ?? []) {
        const edge = toEdge(root, node, target, transition);
        if (seen.has(edge.line)) continue;
        seen.add(edge.line);
        edges.push(edge);
      }
    }
  }
  return edges;
}

/** Event transitions (delayed ones included) in definition order, then eventless ones. */
function transitionsOf(node: AnyStateNode): AnyTransitionDefinition[] {
  return [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
}

function toEdge(
  root: AnyStateNode,
  source: AnyStateNode,
  target: AnyStateNode,
  transition: AnyTransitionDefinition,
): Edge {
  const guard = transition.guard === undefined ? '' : ` [${guardName(transition.guard)}]`;
  const label = `${eventLabel(source, transition)}${guard}`;
  const line = `${mermaidId(source)} --> ${mermaidId(target)}: ${label}`;
  return { scope: source === root ? root : commonScope(root, source, target), line };
}

function eventLabel(source: AnyStateNode, transition: AnyTransitionDefinition): string {
  const type = String(transition.eventType ?? '');
  if (type === '') return 'always';
  const raised = /^xstate\.after\.([^.]+)\./.exec(type);
  if (raised && !source.after.some((after) => after.eventType === type))
    return `after ${raised[1]}`;
  const delayed = source.after.find((after) => after.eventType === type);
  if (!delayed) return type;
  return typeof delayed.delay === 'number' ? `after ${delayed.delay} ms` : `after ${delayed.delay}`;
}

/** The innermost state that strictly contains both ends (the root when none does). */
function commonScope(root: AnyStateNode, source: AnyStateNode, target: AnyStateNode): AnyStateNode {
  let scope = source.parent ?? root;
  while (scope !== root && !contains(scope, target)) scope = scope.parent ?? root;
  return scope;
}

function contains(ancestor: AnyStateNode, node: AnyStateNode): boolean {
  for (let current = node.parent; current; current = current.parent) {
    if (current === ancestor) return true;
  }
  return false;
}

/** A guard's readable name: its type, or `not(x)` / `and(x, y)` for higher-order guards. */
export function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const inner = (guard as { guards?: unknown[] }).guards;
    if (!inner) return guard.name || 'inline';
    return `${guard.name}(${inner.map(guardName).join(', ')})`;
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard) {
    const params = 'params' in guard ? scalarParams(guard.params) : '';
    return params === '' ? String(guard.type) : `${String(guard.type)}(${params})`;
  }
  return 'inline';
}

/** `key=value` for the scalar params of a guard (lists and objects are left out). */
function scalarParams(params: unknown): string {
  if (typeof params !== 'object' || params === null) return '';
  return Object.entries(params)
    .filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value))
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(', ');
}
