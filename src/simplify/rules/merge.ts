/**
 * Rules for merged axes (vec, kron): a sum over a merged axis is a sum over the axes it merges.
 */
import { type Dim, type Factor, type NodeOf, labelCounts, makeMerge, makeMul, ones } from '../../ir/node.js';
import type { Rule } from '../rewrite.js';

/** Where output axis `axis` of a merge starts among its argument's axes, and how many it merges. */
function groupOf(m: NodeOf<'merge'>, axis: number): { start: number; size: number } {
  let start = 0;
  for (let k = 0; k < axis; k++) start += m.groups[k]!;
  return { start, size: m.groups[axis]! };
}

/** The factor with its merged axis `axis` split back into the axes it merges, labelled `labels`. */
function unmerged(f: Factor, axis: number, labels: readonly number[]): Factor {
  const m = f.node as NodeOf<'merge'>;
  const { start, size } = groupOf(m, axis);
  const groups = [...m.groups.slice(0, axis), ...labels.map(() => 1), ...m.groups.slice(axis + 1)];
  const shape = [...m.shape.slice(0, axis), ...m.arg.shape.slice(start, start + size), ...m.shape.slice(axis + 1)];
  return { node: makeMerge(m.arg, groups, shape), labels: [...f.labels.slice(0, axis), ...labels, ...f.labels.slice(axis + 1)] };
}

/** A tensor of ones with its axis `axis` split into axes of the sizes `dims`, labelled `labels`. */
function splitOnes(f: Factor, axis: number, dims: readonly Dim[], labels: readonly number[]): Factor {
  const shape = [...f.node.shape.slice(0, axis), ...dims, ...f.node.shape.slice(axis + 1)];
  return { node: ones(shape), labels: [...f.labels.slice(0, axis), ...labels, ...f.labels.slice(axis + 1)] };
}

/**
 * A merge summed over a merged axis alone, or contracted there with another merge that merges
 * axes of the same sizes in the same order, or with a tensor of ones: the contraction runs over those axes instead (both
 * merges number them column-major alike; ones are ones on any axes), so the delta of ∂vec(X)/∂X
 * meets X again: vec(X)'*vec(X) by X is 2*X, and x'*kron(x', B)*vector(1) by B is sum(x)*x*…, not
 * sums over merged entries. Merged axes of different sizes stay (kron(y', z')*vec(X) is defined
 * with z of 2 and X of 3×4 entries: its derivative by X is a reshape, which no form writes).
 */
export const unmergeContraction: Rule = {
  name: 'unmerge-contraction',
  math: 'merge(T)_{p…} merge(U)_{p…} → T_{qr…} U_{qr…}   (p summed, merging axes q, r of equal sizes in both)',
  apply(n) {
    if (n.kind !== 'mul') return undefined;
    const fs = n.factors;
    const rank = n.shape.length;
    const count = labelCounts(fs);
    const next = Math.max(rank, ...count.keys()) + 1;
    for (let i = 0; i < fs.length; i++) {
      const a = fs[i]!;
      if (a.node.kind !== 'merge') continue;
      for (let ai = 0; ai < a.labels.length; ai++) {
        const p = a.labels[ai]!;
        if (p < rank || a.node.groups[ai]! < 2) continue;
        const ga = groupOf(a.node, ai);
        const dims = a.node.arg.shape.slice(ga.start, ga.start + ga.size);
        const labels = dims.map((_, k) => next + k);
        // Summed here alone (a contraction with ones, which products keep implicit): over each axis.
        if (count.get(p) === 1) return makeMul([...fs.filter((_, k) => k !== i), unmerged(a, ai, labels)], rank);
        if (count.get(p) !== 2) continue;
        for (let j = 0; j < fs.length; j++) {
          const b = fs[j]!;
          const bm = b.node;
          const aj = b.labels.indexOf(p);
          if (j === i || aj < 0) continue;
          let partner: Factor | undefined;
          if (bm.kind === 'const' && bm.value === 1) partner = splitOnes(b, aj, dims, labels);
          else if (bm.kind === 'merge' && j > i) {
            const gb = groupOf(bm, aj);
            if (ga.size === gb.size && dims.every((d, k) => bm.arg.shape[gb.start + k] === d)) partner = unmerged(b, aj, labels);
          }
          if (!partner) continue;
          const rest = fs.filter((_, k) => k !== i && k !== j);
          return makeMul([...rest, unmerged(a, ai, labels), partner], rank);
        }
      }
    }
    return undefined;
  },
};
