/**
 * Shrinking a failing case to a minimal one by delta debugging over the syntax tree: lower the
 * order, then replace a sub-expression by a leaf of its type (the variable differentiated by,
 * another variable, a constant) or by a smaller sub-expression of its own of the same type; keep
 * the first replacement that still fails the same check, and start again from the root, until no
 * replacement fails or the budget of checks is spent.
 */
import type { Ast } from '../src/syntax/ast.js';
import { Builder, ENV, childrenOf, kindOf, sameType, sizeOfTree, varsOf, type Expr, type GType } from './generate.js';
import { prepare, type Failure, type FailureKind, type Outcome, type CaseSpec } from './case.js';
import type { Drawn } from './draw.js';
import { toInput } from './text.js';

export interface Shrunk {
  readonly drawn: Drawn;
  /** The failure as the minimal case shows it. */
  readonly failure: Failure;
  readonly checks: number;
}

export type Check = (spec: CaseSpec) => Promise<Outcome>;

const matches = (f: Failure, kind: FailureKind, signature: string | undefined): boolean =>
  f.kind === kind && (signature === undefined || kind === 'wrong' || kind === 'stopped' || kind === 'compiled' || kind === 'exported' || kind === 'roundtrip' || f.signature === signature);

export async function shrink(drawn: Drawn, failure: Failure, check: Check, budget: number): Promise<Shrunk> {
  let best = drawn;
  let bestFailure = failure;
  let checks = 0;
  // The builder shares the tree's types, so that new leaves and rebuilt nodes are typed too.
  const b = new Builder(() => 0.5);
  for (const [a, t] of drawn.expr.types) b.types.set(a, t);

  /** Whether a candidate fails the same way (and then it becomes the best). */
  const tryCandidate = async (cand: Drawn): Promise<boolean> => {
    if (checks >= budget) return false;
    const p = prepare(cand.expr, cand.wrt, cand.order, cand.sizes, -1, cand.seed);
    let found: Failure | undefined;
    if (!p.ok) {
      if (p.unbound) return false;
      found = matches(p.failure, failure.kind, failure.signature) ? p.failure : undefined;
    } else {
      checks++;
      const o = await check(p.spec);
      found = o.failures.find((f) => matches(f, failure.kind, failure.signature));
    }
    if (found) {
      best = cand;
      bestFailure = found;
    }
    return found !== undefined;
  };

  for (let order = 1; order < drawn.order; order++) if (await tryCandidate({ ...drawn, order })) break;

  let progress = true;
  while (progress && checks < budget) {
    progress = false;
    const root = best.expr.ast;
    for (const node of preorder(root)) {
      for (const repl of replacements(b, node, best)) {
        const ast = replaceAt(b, root, node, repl);
        if (!varsOf(ast).has(best.wrt) || !smaller(ast, root)) continue;
        const expr: Expr = { ast, types: b.types };
        if (await tryCandidate({ ...best, expr })) {
          progress = true;
          break;
        }
      }
      if (progress || checks >= budget) break;
    }
  }
  return { drawn: best, failure: bestFailure, checks };
}

function* preorder(a: Ast): Generator<Ast> {
  yield a;
  for (const c of childrenOf(a)) yield* preorder(c);
}

/** Leaves of the node's type first (the variable differentiated by first), then smaller sub-expressions of that type. */
function replacements(b: Builder, node: Ast, drawn: Drawn): Ast[] {
  const t = b.type(node);
  const out: Ast[] = [];
  const present = varsOf(drawn.expr.ast);
  const vars = ENV.filter((v) => sameType(v.type, t) && present.has(v.name)).sort((x, y) => Number(y.name === drawn.wrt) - Number(x.name === drawn.wrt));
  for (const v of vars) out.push(b.name(v.name, v.type));
  out.push(...constants(b, t));
  const inner = [...preorder(node)].slice(1).filter((a) => sameType(b.type(a), t));
  inner.sort((x, y) => sizeOfTree(x) - sizeOfTree(y));
  out.push(...inner);
  return out;
}

/** Shrinking order: fewer nodes, then fewer distinct variables, then shorter text. */
function smaller(a: Ast, b: Ast): boolean {
  const key = (x: Ast): number[] => [sizeOfTree(x), varsOf(x).size, toInput(x).length];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]!;
  return false;
}

function constants(b: Builder, t: GType): Ast[] {
  switch (kindOf(t)) {
    case 'scalar':
      return [b.num(1), b.num(2)];
    case 'vector':
      return [b.call('vector', b.num(1), t)];
    case 'row':
      return [b.transpose(b.call('vector', b.num(1), { r: t.c, c: 1 }))];
    case 'matrix':
      return t.r === t.c ? [b.name('eye', t), b.call('matrix', b.num(1), t)] : [b.call('matrix', b.num(1), t)];
  }
}

function replaceAt(b: Builder, root: Ast, target: Ast, repl: Ast): Ast {
  if (root === target) return repl;
  const cs = childrenOf(root);
  const next = cs.map((c) => replaceAt(b, c, target, repl));
  return next.every((c, i) => c === cs[i]) ? root : b.rebuild(root, next);
}
