/**
 * Weights of one label: terms of a sum that are one product but for the factors that lie on one
 * label alone (u in A'*diag(u)*B, or in X'*X*diag(u)) are that product of the sum of those
 * factors,
 *   Σ_t c_t S_{…l…} w_t^l → S_{…l…} (Σ_t c_t w_t)^l,
 * after which factor-powers factors the weights as it does on a vector's own axes. The Hessian of
 * sum(sigmoid(A*X*x)) has the two terms X'*A'*diag(t.*(1 - t).^2)*A*X and
 * -X'*A'*diag(t.^2.*(1 - t))*A*X; factor-common cannot join them, since each factor it takes out
 * alone either leaves a sum of rank > 2 or costs as much as before.
 */
import { type Dim, type Factor, type Node, type Term, makeAdd, makeMul, makeVar } from '../../ir/node.js';
import { cost } from '../cost.js';
import { type Phase, type Rule, runPhase } from '../rewrite.js';
import { type TermView, primitive, view } from './factor.js';

/** Stands for a term's weights on their label in the key that terms with equal other factors share. */
const weightMarker = (n: Dim): Node => makeVar('#weights', [n]);

/**
 * A term as the factors that lie on one label l alone (its weights), and the rest keyed with a
 * marker on l, for each label that has weights: terms with one key differ in their weights only.
 */
function weightSplits(t: TermView, r: number): { key: Node; weight: Node }[] {
  const out: { key: Node; weight: Node }[] = [];
  for (const l of new Set(t.factors.flatMap((f) => f.labels))) {
    const onL = (f: Factor): boolean => f.labels.length > 0 && f.labels.every((m) => m === l);
    const weights = t.factors.filter(onL);
    const rest = t.factors.filter((f) => !onL(f));
    // A summed l joins two or more other factors (a diag(u) between them, or a Hadamard product
    // of them): where it joins one, factor-common takes that factor out (A*u + A*v is A*(u + v)).
    // An output l: weights on a row or column of the rest (X'*X*diag(u), or diag(u) itself).
    if (weights.length === 0 || rest.filter((f) => f.labels.includes(l)).length < (l < r ? 1 : 2)) continue;
    const dim = weights[0]!.node.shape[0]!;
    const key = makeMul([...rest, { node: weightMarker(dim), labels: [l] }], r);
    const weight = makeMul(weights.map((f) => ({ node: f.node, labels: f.labels.map(() => 0) })), 1);
    out.push({ key, weight });
  }
  return out;
}

/** The terms of one key made one term: the key's product with the sum of their weights on its marker. */
function joined(n: Node & { kind: 'add' }, key: Node & { kind: 'mul' }, members: readonly { term: number; weight: Node }[]): Term {
  const r = n.shape.length;
  const marker = key.factors.find((f) => f.node.kind === 'var' && f.node.name === '#weights')!;
  const sum = primitive(makeAdd(members.map((m) => ({ coef: n.terms[m.term]!.coef, node: m.weight })), marker.node.shape), true);
  return { coef: sum.coef, node: makeMul(key.factors.map((f) => (f === marker ? { node: sum.node, labels: f.labels } : f)), r) };
}

/**
 * The sum with groups of terms of one key made one term each: the group that lowers its cost
 * most, or every group whose terms no larger group took, where that is cheaper still (the
 * Hessian of sum(sigmoid((A - 2*eye)*x).^2) has four keys, A'*_*A, A'*_, _*A and _, whose
 * weights are w, -2*w, -2*w and 4*w: only joined all together do they share their factor w).
 * Undefined where no way lowers the cost.
 */
function collected(n: Node & { kind: 'add' }): Node | undefined {
  const r = n.shape.length;
  const groups = new Map<Node, { term: number; weight: Node }[]>();
  n.terms.forEach((t, term) => {
    if (t.node.kind !== 'mul') return;
    for (const { key, weight } of weightSplits(view(t.node, t.coef, r), r)) {
      const g = groups.get(key) ?? [];
      if (!g.some((m) => m.term === term)) g.push({ term, weight });
      groups.set(key, g);
    }
  });
  const joinable = [...groups].filter(([key, members]) => members.length >= 2 && key.kind === 'mul') as [Node & { kind: 'mul' }, { term: number; weight: Node }[]][];
  const rebuilt = (chosen: typeof joinable): Node => {
    const taken = new Set(chosen.flatMap(([, members]) => members.map((m) => m.term)));
    return makeAdd([...chosen.map(([key, members]) => joined(n, key, members)), ...n.terms.filter((_, i) => !taken.has(i))], n.shape);
  };
  let best: Node | undefined;
  for (const group of joinable) {
    const out = rebuilt([group]);
    if (cost(out) < cost(best ?? n)) best = out;
  }
  const disjoint: typeof joinable = [];
  const taken = new Set<number>();
  for (const group of [...joinable].sort((a, b) => b[1].length - a[1].length)) {
    if (group[1].some((m) => taken.has(m.term))) continue;
    disjoint.push(group);
    for (const m of group[1]) taken.add(m.term);
  }
  if (disjoint.length > 1) {
    const out = rebuilt(disjoint);
    if (cost(out) < cost(best ?? n)) best = out;
  }
  return best;
}

/**
 * The rule, comparing where each way leads under `ahead` (the phase it runs in, without it): the
 * joined sum is taken only where the factoring that follows ends shorter than it does from the
 * sum as it is — joining diag(t2.*t1) and diag(t1.*sign(x)) would keep diag(t2)*(t1*t1' -
 * diag(t1)) from forming.
 */
export function collectWeights(ahead: Phase): Rule {
  return {
    name: 'collect-weights',
    math: 'Σ_t c_t S_{…l…} w_t^l → S_{…l…} (Σ_t c_t w_t)^l   (w_t the factors on label l alone)   where what follows ends shorter',
    apply(n) {
      if (n.kind !== 'add' || n.terms.length < 2) return undefined;
      const out = collected(n);
      if (!out) return undefined;
      return cost(runPhase(out, ahead)) < cost(runPhase(n, ahead)) ? out : undefined;
    },
  };
}
