/**
 * The fast path of `decide`: a small interpreter over the session chart's StateNode graph. It
 * runs the same setup() implementations (guards, assign reducers, effect params, delays) with
 * XState's selection and ordering rules, restricted to what the chart uses: no parallel
 * states, no history, no invoked actors, named guards only. Per (leaf state, event type) the
 * candidate transitions, and per (transition, leaf) the exit / entry action lists, are
 * computed once and cached. `test/decide-equivalence.test.ts` checks it against
 * `machine.transition()` on random traces.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { appendEffects } from './actions-to-effects.js';
import type { Effect } from './effects.js';

/** The snapshot fields the interpreter reads and writes (an XState machine snapshot). */
export interface FastSnapshot {
  status: string;
  context: { sessionId: string } & Record<string, unknown>;
  _nodes: AnyStateNode[];
  value: unknown;
  [key: string]: unknown;
}

type Ev = { type: string; now?: number };
type Args = { context: FastSnapshot['context']; event: Ev };
type ActionDescriptor = string | { type: string; params?: unknown } | BuiltinAction;
interface BuiltinAction {
  (...args: unknown[]): unknown;
  type: string;
  assignment?: (args: Args, params: unknown) => object;
  event?: { type: string };
  id?: string;
  delay?: string | number;
  sendId?: string;
}
interface Transition {
  source: AnyStateNode;
  target: AnyStateNode[] | undefined;
  reenter: boolean;
  guard: unknown;
  actions: ActionDescriptor[];
}
/** What taking one transition from one leaf does. */
interface Plan {
  actions: ActionDescriptor[];
  leaf: Leaf;
}
/** Everything about one atomic (or final) state, computed once. */
interface Leaf {
  node: AnyStateNode;
  /** The active configuration, root first. */
  path: AnyStateNode[];
  done: boolean;
  value: unknown;
  nodes: AnyStateNode[];
  tags: Set<string>;
  candidates: Map<string, Transition[]>;
  always: Transition[];
}

/** A compiled machine: `step` is `machine.transition` for this chart, without the overhead. */
export class CompiledChart {
  private readonly leaves = new Map<AnyStateNode, Leaf>();
  private readonly plans = new Map<Transition, Map<Leaf, Plan>>();
  private readonly actions: Record<string, unknown>;
  private readonly guards: Record<string, (args: Args, params: unknown) => boolean>;
  private readonly delays: Record<string, (args: Args, params: unknown) => number>;
  private readonly methods: Record<string, unknown>;

  constructor(
    private readonly machine: AnyStateMachine,
    sample: FastSnapshot,
  ) {
    const impl = machine.implementations as unknown as Record<string, Record<string, never>>;
    this.actions = impl.actions ?? {};
    this.guards = impl.guards ?? {};
    this.delays = impl.delays ?? {};
    this.methods = {};
    for (const name of ['matches', 'hasTag', 'can', 'getMeta', 'toJSON']) {
      this.methods[name] = sample[name];
    }
  }

  /**
   * One macrostep: the event's transition (if any), then eventless transitions until stable.
   * Returns the same snapshot object when nothing was taken and no context was assigned.
   */
  step(snapshot: FastSnapshot, event: Ev, effects: Effect[]): FastSnapshot {
    const from = this.leafOf(snapshot);
    let leaf = from;
    const state = { context: snapshot.context, touched: false, leaf };
    const now = event.now as number;
    const taken = this.select(leaf.candidates.get(event.type), state.context, event);
    if (taken) this.microstep(taken, state, event, effects, now);
    while (!state.leaf.done) {
      const eventless = this.select(state.leaf.always, state.context, event);
      if (!eventless) break;
      this.microstep(eventless, state, event, effects, now);
    }
    leaf = state.leaf;
    if (!state.touched && leaf === from) return snapshot;
    return this.snapshotOf(leaf, state.context);
  }

  private microstep(
    transition: Transition,
    state: { context: FastSnapshot['context']; touched: boolean; leaf: Leaf },
    event: Ev,
    effects: Effect[],
    now: number,
  ): void {
    const plan = this.planFor(transition, state.leaf);
    for (const action of plan.actions) this.run(action, state, event, effects, now);
    state.leaf = plan.leaf;
  }

  private run(
    action: ActionDescriptor,
    state: { context: FastSnapshot['context']; touched: boolean },
    event: Ev,
    effects: Effect[],
    now: number,
  ): void {
    const args: Args = { context: state.context, event };
    if (typeof action === 'function') {
      this.runBuiltin(action, args, undefined, state, effects, now);
      return;
    }
    const type = typeof action === 'string' ? action : action.type;
    const raw = typeof action === 'string' ? undefined : action.params;
    const params = typeof raw === 'function' ? raw(args) : raw;
    const impl = this.actions[type] as BuiltinAction | undefined;
    if (impl && typeof impl.type === 'string' && impl.type.startsWith('xstate.')) {
      this.runBuiltin(impl, args, params, state, effects, now);
      return;
    }
    appendEffects(effects, { type, params }, state.context.sessionId, now);
  }

  private runBuiltin(
    action: BuiltinAction,
    args: Args,
    params: unknown,
    state: { context: FastSnapshot['context']; touched: boolean },
    effects: Effect[],
    now: number,
  ): void {
    if (action.type === 'xstate.assign' && action.assignment) {
      // The chart's assignments return whole contexts; XState would copy the result shallowly.
      state.context = action.assignment(args, params) as FastSnapshot['context'];
      state.touched = true;
      return;
    }
    if (action.type === 'xstate.raise' && action.event) {
      const delay =
        typeof action.delay === 'string' ? this.delays[action.delay]?.(args, params) : action.delay;
      if (typeof delay !== 'number')
        throw new Error('compiled chart: immediate raise outside start()');
      const raised = {
        type: 'xstate.raise',
        params: { event: action.event, id: action.id, delay },
      };
      appendEffects(effects, raised, state.context.sessionId, now);
      return;
    }
    if (action.type === 'xstate.cancel' && typeof action.sendId === 'string') {
      appendEffects(
        effects,
        { type: 'xstate.cancel', params: { sendId: action.sendId } },
        state.context.sessionId,
        now,
      );
      return;
    }
    throw new Error(`compiled chart: unsupported built-in action ${action.type}`);
  }

  /** The first enabled transition in priority order (innermost state first, then document). */
  private select(list: Transition[] | undefined, context: Args['context'], event: Ev) {
    if (!list) return undefined;
    for (const transition of list)
      if (this.passes(transition.guard, { context, event })) return transition;
    return undefined;
  }

  private passes(guard: unknown, args: Args): boolean {
    if (guard === undefined) return true;
    if (typeof guard === 'string') return this.guard(guard)(args, undefined);
    const { type, params } = guard as { type: string; params?: unknown };
    const resolved = typeof params === 'function' ? params(args) : params;
    return this.guard(type)(args, resolved);
  }

  private guard(name: string) {
    const guard = this.guards[name];
    if (!guard) throw new Error(`compiled chart: guard ${name} is not implemented`);
    return guard;
  }

  private snapshotOf(leaf: Leaf, context: FastSnapshot['context']): FastSnapshot {
    return {
      status: leaf.done ? 'done' : 'active',
      output: undefined,
      error: undefined,
      machine: this.machine,
      context,
      _nodes: leaf.nodes,
      value: leaf.value,
      tags: leaf.tags,
      children: {},
      historyValue: {},
      ...this.methods,
    };
  }

  /**
   * The snapshot `machine.resolveState({ value, context })` gives, for a `value` that names a
   * leaf (an atomic or final state; `restore` checks that first), built from the leaf's cached
   * nodes instead of resolving the configuration again.
   */
  resolve(value: unknown, context: FastSnapshot['context']): FastSnapshot {
    let node: AnyStateNode = this.machine.root;
    let rest = value;
    while (typeof rest === 'object' && rest !== null) {
      const [name, inner] = Object.entries(rest)[0] as [string, unknown];
      node = node.states[name] as AnyStateNode;
      rest = inner;
    }
    return this.snapshotOf(this.leaf(node.states[rest as string] as AnyStateNode), context);
  }

  /** The leaf of a snapshot's configuration (the chart has no parallel states). */
  leafOf(snapshot: FastSnapshot): Leaf {
    for (const node of snapshot._nodes) {
      if (node.type === 'atomic' || node.type === 'final') return this.leaf(node);
    }
    throw new Error('compiled chart: snapshot has no atomic state');
  }

  private leaf(node: AnyStateNode): Leaf {
    let leaf = this.leaves.get(node);
    if (leaf) return leaf;
    const path: AnyStateNode[] = [];
    for (let n: AnyStateNode | undefined = node; n; n = n.parent) path.unshift(n);
    const resolved = this.machine.resolveState({ value: stateValueOf(path) as never, context: {} });
    leaf = {
      node,
      path,
      done: node.type === 'final' && node.parent === this.machine.root,
      value: resolved.value,
      nodes: resolved._nodes,
      tags: resolved.tags,
      candidates: candidatesOf(path),
      always: path.toReversed().flatMap((n) => (n.always ?? []) as unknown as Transition[]),
    };
    this.leaves.set(node, leaf);
    return leaf;
  }

  private planFor(transition: Transition, from: Leaf): Plan {
    let byLeaf = this.plans.get(transition);
    if (!byLeaf) {
      byLeaf = new Map();
      this.plans.set(transition, byLeaf);
    }
    let plan = byLeaf.get(from);
    if (!plan) {
      plan = this.plan(transition, from);
      byLeaf.set(from, plan);
    }
    return plan;
  }

  /** Exit actions (deepest first), transition actions, entry actions (outermost first). */
  private plan(transition: Transition, from: Leaf): Plan {
    if (!transition.target) return { actions: transition.actions, leaf: from };
    const target = transition.target[0] as AnyStateNode;
    const domain = domainOf(transition, target);
    const exited = from.path.filter((n) => isDescendant(n, domain)).reverse();
    let leafNode = target;
    while (leafNode.type === 'compound') leafNode = leafNode.initial.target[0] as AnyStateNode;
    const to = this.leaf(leafNode);
    const entered = to.path.filter((n) => isDescendant(n, domain));
    const actions = [
      ...exited.flatMap((n) => n.exit as ActionDescriptor[]),
      ...transition.actions,
      ...entered.flatMap((n) => n.entry as ActionDescriptor[]),
    ];
    if (to.done) actions.push(...to.path.toReversed().flatMap((n) => n.exit as ActionDescriptor[]));
    return { actions, leaf: to };
  }
}

/** XState's transition domain, for one target and no history states. */
function domainOf(transition: Transition, target: AnyStateNode): AnyStateNode {
  const source = transition.source;
  if (!transition.reenter && (target === source || isDescendant(target, source))) return source;
  for (let a = target.parent; a; a = a.parent) if (isDescendant(source, a)) return a;
  return source.machine.root;
}

function isDescendant(node: AnyStateNode, ancestor: AnyStateNode): boolean {
  for (let n = node.parent; n; n = n.parent) if (n === ancestor) return true;
  return false;
}

/** Per event type, the leaf's transitions then its ancestors', in priority order. */
function candidatesOf(path: AnyStateNode[]): Map<string, Transition[]> {
  const map = new Map<string, Transition[]>();
  for (const node of path.toReversed()) {
    for (const [type, list] of node.transitions as unknown as Map<string, Transition[]>) {
      if (type.includes('*')) continue;
      map.set(type, [...(map.get(type) ?? []), ...list]);
    }
  }
  return map;
}

function stateValueOf(path: AnyStateNode[]): unknown {
  const keys = path.slice(1).map((n) => n.key);
  let value: unknown = keys.pop();
  while (keys.length > 0) value = { [keys.pop() as string]: value };
  return value;
}
