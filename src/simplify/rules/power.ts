/**
 * Rules for matrix powers kept as powers (mpow nodes): they move the directions of a Fréchet
 * derivative P(A, k; E_1..E_m) = Σ_σ Σ_{a_0+…+a_m=k−m} A^{a_0} E_σ1 A^{a_1} ⋯ E_σm A^{a_m} to where deltas contract,
 * and collapse the sum where every direction commutes with A. With them tr(A^k) by A is
 * k*(A^(k-1))' and x'*A^k*y by A is dpow(A, k, y*x')', whatever k.
 */
import {
  type Factor,
  type Node,
  asMatPower,
  binomial,
  chainProduct,
  delta,
  makeMatPow,
  makeMul,
  ones,
  scale,
  splitCoef,
} from '../../ir/node.js';
import type { Rule } from '../rewrite.js';

const batchRank = (d: Node): number => d.shape.length - 2;

/**
 * Trace pairing: for a power factor whose first two labels are summed,
 *   Σ_ij F_ji P(A,k;E_1..E_m)_ij… = Σ_pq P(A,k;E_1..E_s−1,F,E_s+1..E_m)_qp… (E_s)_pq…
 * since tr(F A^a0 E_σ1 ⋯ E_σm A^am) = tr(E_s ⋯), rotated cyclically: over all orders σ and exponents,
 * what stands beside E_s runs over all orders of the other directions and F. F is the product of
 * the factors on those labels (δ for a trace), its other outside labels as batch axes. It moves the
 * direction with the most batch axes out, when that is more than F has: then ∂A = δδ contracts.
 */
export const movePowerAdjoint: Rule = {
  name: 'power-adjoint',
  math: 'Σ_ij F_ji P(A,k;E_1..E_m)_ij… → Σ_pq P(A,k;E_1..F..E_m)_qp… (E_s)_pq…   (F in place of E_s)',
  apply(n) {
    if (n.kind !== 'mul') return undefined;
    const r = n.shape.length;
    for (const pf of n.factors) {
      const P = pf.node;
      if (P.kind !== 'mpow' || P.dirs.length === 0) continue;
      const [i, j] = pf.labels as [number, number];
      if (i < r || j < r || pf.labels.slice(2).some((l) => l === i || l === j)) continue;
      let s = 0;
      P.dirs.forEach((d, t) => {
        if (batchRank(d) > batchRank(P.dirs[s]!)) s = t;
      });
      const moved = P.dirs[s]!;
      const others = n.factors.filter((f) => f !== pf);
      const touching = others.filter((f) => f.labels.includes(i) || f.labels.includes(j));
      const rest = others.filter((f) => !touching.includes(f));
      // F's batch axes: the labels of the touching factors that are also used outside them.
      const outside = new Set<number>([...Array.from({ length: r }, (_, l) => l), ...pf.labels, ...rest.flatMap((f) => f.labels)]);
      const fBatch: number[] = [];
      for (const f of touching) for (const l of f.labels) if (l !== i && l !== j && outside.has(l) && !fBatch.includes(l)) fBatch.push(l);
      if (fBatch.length >= batchRank(moved)) continue;
      const F = pairedFactor(touching, i, j, fBatch, P.shape[0]!);
      const next = Math.max(n.nlabels, ...n.factors.flatMap((f) => f.labels)) + 1;
      const [p, q] = [next, next + 1];
      let at = 2;
      const batchOf = P.dirs.map((d) => {
        const b = pf.labels.slice(at, at + batchRank(d));
        at += batchRank(d);
        return b;
      });
      const Q = makeMatPow(P.base, P.exp, P.dirs.map((d, t) => (t === s ? F : d)));
      const qLabels = [q, p, ...batchOf.flatMap((b, t) => (t === s ? fBatch : b))];
      return makeMul([...rest, { node: Q, labels: qLabels }, { node: moved, labels: [p, q, ...batchOf[s]!] }], r);
    }
    return undefined;
  },
};

/**
 * P is linear in each direction: the factors that contract a direction's batch axes (and nothing
 * else of P) move into that direction,
 *   Σ_β P(A,k;…,E_t,…)_ij…β… G_β… = P(A,k;…,E_t·G,…)_ij……,   (E_t·G)_pq… = Σ_β (E_t)_pqβ G_β…
 * when that leaves the direction fewer batch axes: the directional derivative of A^k by A along V
 * is then dpow(A, k, V), and a Hessian-vector product never forms the Hessian.
 */
export const absorbIntoDirection: Rule = {
  name: 'power-absorb',
  math: 'Σ_β P(A,k;…E_t…)_ij…β… G_β… → P(A,k;…(E_t·G)…)_ij…   when E_t·G has fewer batch axes than E_t',
  apply(n) {
    if (n.kind !== 'mul') return undefined;
    const r = n.shape.length;
    for (const pf of n.factors) {
      const P = pf.node;
      if (P.kind !== 'mpow' || P.dirs.length === 0) continue;
      let at = 2;
      for (let t = 0; t < P.dirs.length; t++) {
        const d = P.dirs[t]!;
        const b = batchRank(d);
        const beta = pf.labels.slice(at, at + b);
        const otherSlots = [...pf.labels.slice(0, at), ...pf.labels.slice(at + b)];
        at += b;
        if (b === 0) continue;
        const others = n.factors.filter((f) => f !== pf);
        const touching = others.filter((f) => f.labels.some((l) => beta.includes(l)));
        if (touching.length === 0 || touching.some((f) => f.labels.some((l) => otherSlots.includes(l)))) continue;
        const rest = others.filter((f) => !touching.includes(f));
        // The new direction's batch axes: the labels of E_t and the touching factors used outside them.
        const outside = new Set<number>([...Array.from({ length: r }, (_, l) => l), ...otherSlots, ...rest.flatMap((f) => f.labels)]);
        const batch: number[] = [];
        for (const l of [...beta, ...touching.flatMap((f) => f.labels)]) if (outside.has(l) && !batch.includes(l)) batch.push(l);
        if (batch.length >= b) continue;
        const rank = 2 + batch.length;
        const map = new Map<number, number>(batch.map((l, i) => [l, 2 + i]));
        const relabel = (l: number): number => map.get(l) ?? rank + l;
        const inner = makeMul(
          [
            { node: d, labels: [0, 1, ...beta.map(relabel)] },
            ...touching.map((f) => ({ node: f.node, labels: f.labels.map(relabel) })),
          ],
          rank,
        );
        const dirs = P.dirs.map((e, u) => (u === t ? inner : e));
        const labels = [...pf.labels.slice(0, at - b), ...batch, ...pf.labels.slice(at)];
        return makeMul([...rest, { node: makeMatPow(P.base, P.exp, dirs), labels }], r);
      }
    }
    return undefined;
  },
};

/** F[j, i, batch…] = Π of the factors on the labels i and j (with δ_ji when i = j, ones where a label is alone). */
function pairedFactor(touching: readonly Factor[], i: number, j: number, batch: readonly number[], n: number): Node {
  const rank = 2 + batch.length;
  const map = new Map<number, number>([
    [j, 0],
    [i, i === j ? 0 : 1],
  ]);
  batch.forEach((l, t) => map.set(l, 2 + t));
  const factors: Factor[] = touching.map((f) => ({ node: f.node, labels: f.labels.map((l) => map.get(l) ?? rank + l) }));
  if (i === j) factors.push({ node: delta(n), labels: [0, 1] });
  else
    for (const [l, axis] of [
      [j, 0],
      [i, 1],
    ] as const)
      if (!touching.some((f) => f.labels.includes(l))) factors.push({ node: ones([n]), labels: [axis] });
  return makeMul(factors, rank);
}

/** Whether the matrix e commutes with a: δ, powers of a or of its inverse, and sums of those. */
function commutesWith(a: Node, e: Node): boolean {
  const [, core] = splitCoef(e);
  if (core.kind === 'delta') return true;
  if (core.kind === 'add') return core.terms.every((t) => commutesWith(a, t.node));
  const p = asMatPower(core);
  if (!p) return false;
  return p.base === a || (p.base.kind === 'inv' && p.base.arg === a) || (a.kind === 'inv' && a.arg === p.base);
}

/** Directions that commute with A: every term of P is A^(k−m) E_1⋯E_m, and there are m!·C(k, m) of them. */
export const collapseCommutingPower: Rule = {
  name: 'power-commute',
  math: 'P(A,k;E_1..E_m) → m!·C(k,m)·A^(k−m)·E_1⋯E_m   when every E_t is a matrix that commutes with A',
  apply(n) {
    if (n.kind !== 'mpow' || n.dirs.length === 0) return undefined;
    if (!n.dirs.every((d) => d.shape.length === 2 && commutesWith(n.base, d))) return undefined;
    const m = n.dirs.length;
    let orders = 1;
    for (let t = 2; t <= m; t++) orders *= t;
    return scale(orders * binomial(n.exp, m), chainProduct([makeMatPow(n.base, n.exp - m), ...n.dirs], n.shape[0]!));
  },
};
