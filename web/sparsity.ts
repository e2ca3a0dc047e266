/**
 * The structural sparsity of a result: which entries are zero for every value of the variables,
 * read from the symbolic form rather than from numbers (a small value is not a zero, and a value
 * that happens to cancel at one point is not a structural zero).
 *
 * Each node is evaluated over booleans ("may be nonzero"): variables may be nonzero everywhere,
 * δ on its diagonal, a sum where any term may be, a product where some assignment of the summed
 * indices has every factor nonzero, an element-wise f where its argument may be unless f(0) ≠ 0.
 * This over-approximates the nonzeros, so every entry it calls zero is exactly zero.
 */
import { elemValue, mergePermutation, topoOrder, type Dim, type Node, type NodeKind, type NodeOf } from '../src/ir/node.js';

/** 1 where the entry may be nonzero, 0 where it is zero for every value of the variables; row-major. */
export type Pattern = Uint8Array;

interface Ctx {
  readonly size: number;
  readonly shape: readonly number[];
  readonly sizes: ReadonlyMap<Dim, number>;
  readonly arg: (n: Node) => Pattern;
}

const full = (c: Ctx): Pattern => new Uint8Array(c.size).fill(1);

/** One rule per node kind, so that a new kind does not compile without its rule. */
const RULES: { readonly [K in NodeKind]: (n: NodeOf<K>, c: Ctx) => Pattern } = {
  var: (_n, c) => full(c),
  const: (n, c) => new Uint8Array(c.size).fill(n.value),
  delta: (_n, c) => {
    const p = new Uint8Array(c.size);
    const k = c.shape[0]!;
    for (let i = 0; i < k; i++) p[i * k + i] = 1;
    return p;
  },
  add: (n, c) => {
    const p = new Uint8Array(c.size);
    for (const t of n.terms) {
      if (t.coef === 0) continue;
      const q = c.arg(t.node);
      for (let i = 0; i < c.size; i++) p[i]! |= q[i]!;
    }
    return p;
  },
  mul: (n, c) => mulPattern(n, c),
  // f(0) = 0 keeps the zeros (sin, tanh, relu, …); otherwise f(0) ≠ 0 (or ±∞) fills them.
  elem: (n, c) => (elemValue(n.fn, 0) === 0 ? c.arg(n.arg).slice() : full(c)),
  pow: (n, c) => (n.exp > 0 ? c.arg(n.base).slice() : full(c)),
  powv: (_n, c) => full(c),
  // The inverse (or adjugate) of a structured matrix can be dense; claim nothing.
  inv: (_n, c) => full(c),
  adj: (_n, c) => full(c),
  adj2: (_n, c) => full(c),
  adj3: (_n, c) => full(c),
  adjpart: (_n, c) => full(c),
  det: (_n, c) => full(c),
  logdet: (_n, c) => full(c),
  logsumexp: (_n, c) => full(c),
  // A matrix power (and its Fréchet derivatives) of a structured matrix fills in; claim nothing.
  mpow: (_n, c) => full(c),
  // vec, kron: the same entries, in the order of the merged axes.
  merge: (n, c) => {
    const shape = n.arg.shape.map((d) => c.sizes.get(d)!);
    const perm = mergePermutation(n.groups);
    const src = c.arg(n.arg);
    const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
    const dims = perm.map((k) => shape[k]!);
    const out = new Uint8Array(c.size);
    const idx = new Array<number>(dims.length).fill(0);
    for (let b = 0; b < out.length; b++) {
      let a = 0;
      for (let k = 0; k < dims.length; k++) a += idx[k]! * strides[perm[k]!]!;
      out[b] = src[a]!;
      for (let k = dims.length - 1; k >= 0; k--) {
        if (++idx[k]! < dims[k]!) break;
        idx[k] = 0;
      }
    }
    return out;
  },
};

interface Labeled {
  readonly labels: readonly number[];
  readonly data: Pattern;
}

/** Products over booleans, factor by factor, summing out each label once no later factor needs it. */
function mulPattern(n: NodeOf<'mul'>, c: Ctx): Pattern {
  const dims = new Map<number, number>();
  for (const f of n.factors) f.labels.forEach((l, i) => dims.set(l, c.sizes.get(f.node.shape[i]!)!));
  const output = Array.from({ length: n.shape.length }, (_, i) => i);
  let acc: Labeled = { labels: [], data: Uint8Array.of(1) };
  n.factors.forEach((f, k) => {
    const later = new Set([...output, ...n.factors.slice(k + 1).flatMap((g) => g.labels)]);
    const involved = [...new Set([...acc.labels, ...f.labels])];
    const keep = k === n.factors.length - 1 ? output : involved.filter((l) => later.has(l));
    acc = { labels: keep, data: step(acc, { labels: f.labels, data: c.arg(f.node) }, [...new Set([...involved, ...keep])], keep, dims) };
  });
  return acc.data;
}

/** out[keep] = OR over the other labels of a AND b. */
function step(a: Labeled, b: Labeled, all: readonly number[], keep: readonly number[], dims: ReadonlyMap<number, number>): Pattern {
  const L = all.length;
  const dim = all.map((l) => dims.get(l)!);
  const strides = (labels: readonly number[]): number[] => {
    const st = new Array<number>(L).fill(0);
    let s = 1;
    for (let i = labels.length - 1; i >= 0; i--) {
      st[all.indexOf(labels[i]!)]! += s;
      s *= dims.get(labels[i]!)!;
    }
    return st;
  };
  const sa = strides(a.labels);
  const sb = strides(b.labels);
  const so = strides(keep);
  const out = new Uint8Array(keep.reduce((p, l) => p * dims.get(l)!, 1));
  if (dim.some((d) => d === 0)) return out;
  const idx = new Array<number>(L).fill(0);
  for (;;) {
    let ia = 0;
    let ib = 0;
    let io = 0;
    for (let l = 0; l < L; l++) {
      ia += idx[l]! * sa[l]!;
      ib += idx[l]! * sb[l]!;
      io += idx[l]! * so[l]!;
    }
    if (a.data[ia] && b.data[ib]) out[io] = 1;
    let l = L - 1;
    while (l >= 0) {
      idx[l]!++;
      if (idx[l]! < dim[l]!) break;
      idx[l] = 0;
      l--;
    }
    if (l < 0) break;
  }
  return out;
}

/** The structural pattern of a node at concrete sizes (every size symbol of the DAG bound). */
export function sparsityPattern(root: Node, sizes: ReadonlyMap<Dim, number>): Pattern {
  const memo = new Map<Node, Pattern>();
  const arg = (n: Node): Pattern => memo.get(n)!;
  for (const n of topoOrder([root])) {
    const shape = n.shape.map((d) => sizes.get(d)!);
    const size = shape.reduce((p, k) => p * k, 1);
    const rule = RULES[n.kind] as (n: Node, c: Ctx) => Pattern;
    memo.set(n, rule(n, { size, shape, sizes, arg }));
  }
  return memo.get(root)!;
}
