/**
 * The rewriting engine: rules are named data; a phase applies its rules bottom-up at every node
 * until none applies anywhere (a fixed point). Constructors keep every intermediate canonical, so
 * "no change" is object identity.
 */
import { type Node, keepHeld, mapChildren } from '../ir/node.js';

export interface Rule {
  readonly name: string;
  /** The identity the rule applies, in one line. */
  readonly math: string;
  /** The rewritten node, or undefined when the rule does not apply here. */
  apply(n: Node): Node | undefined;
}

export interface Phase {
  readonly name: string;
  readonly rules: readonly Rule[];
}

export interface RewriteStep {
  readonly rule: string;
  readonly before: Node;
  readonly after: Node;
}

const MAX_PASSES = 12;
const MAX_STEPS_AT_NODE = 50;

/** Applies a phase to a fixed point. `trace` receives every rewrite (for tests of each rule). */
export function runPhase(root: Node, phase: Phase, trace?: RewriteStep[]): Node {
  let cur = root;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const next = pass1(cur, phase, trace);
    if (next === cur) return cur;
    cur = next;
  }
  return cur;
}

/**
 * Rules are pure functions of the node they look at (nodes are immutable and interned), so each
 * rule's answer for a node is computed once per process: later passes and later simplifications
 * of a DAG that shares the node only look it up. null records "does not apply".
 */
const answers = new WeakMap<Rule, WeakMap<Node, Node | null>>();

function applyRule(rule: Rule, n: Node): Node | undefined {
  let memo = answers.get(rule);
  if (!memo) answers.set(rule, (memo = new WeakMap()));
  const hit = memo.get(n);
  if (hit !== undefined) return hit ?? undefined;
  const out = rule.apply(n);
  memo.set(n, out ?? null);
  return out;
}

function pass1(root: Node, phase: Phase, trace: RewriteStep[] | undefined): Node {
  const memo = new Map<Node, Node>();
  const active = new Set<Node>();
  const visit = (n: Node): Node => {
    const hit = memo.get(n);
    if (hit) return hit;
    // A rule that rebuilt a node around the one being visited must not recurse forever.
    if (active.has(n)) return n;
    active.add(n);
    let cur = mapChildren(n, visit);
    for (let steps = 0; steps < MAX_STEPS_AT_NODE; steps++) {
      let applied = false;
      for (const rule of phase.rules) {
        const out = applyRule(rule, cur);
        if (out === undefined || out === cur) continue;
        // The rewrite may have built new children: simplify them before trying rules again here.
        // A where clause's node stays held whatever form its rules give it (keepHeld).
        const next = keepHeld(n, out === n ? out : mapChildren(out, visit));
        if (next === cur) continue;
        trace?.push({ rule: rule.name, before: cur, after: out });
        cur = next;
        applied = true;
        break;
      }
      if (!applied) break;
    }
    active.delete(n);
    memo.set(n, cur);
    return cur;
  };
  return visit(root);
}

