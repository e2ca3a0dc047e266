/**
 * Drawing case i of a run: its expression, variable, order and sizes, all from (seed, i), so a
 * case is reproducible on its own (`--seed S --cases N` always gives the same N cases).
 */
import { mulberry32 } from '../src/random.js';
import { Builder, Generator, SCALAR, envVar, kindOf, mat, row, sizeOfTree, varsOf, vec, type Expr, type GType } from './generate.js';
import { prepare, sizeOfSym, type Failure, type CaseSpec, type Sizes } from './case.js';
import { type Ast, astChildren } from '../src/syntax/ast.js';

export interface Drawn {
  readonly expr: Expr;
  readonly wrt: string;
  readonly order: number;
  readonly sizes: Sizes;
  readonly seed: number;
}

export interface DrawOptions {
  /** A fixed order, or undefined for a mix of 1 (50 %), 2 (35 %) and 3 (15 %). */
  readonly order?: number;
}

/** murmur3's finalizer: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of (seed, i) for the case's own random stream. */
export function caseSeed(seed: number, i: number): number {
  return fmix32((fmix32(seed >>> 0) + Math.imul(i + 1, 0x9e3779b9)) >>> 0);
}

const ROOTS: readonly [number, GType][] = [
  [55, SCALAR],
  [20, vec('n')],
  [5, vec('m')],
  [3, row('n')],
  [10, mat('n', 'n')],
  [5, mat('m', 'n')],
  [2, mat('n', 'm')],
];
const DEPTHS = [1, 2, 3, 3, 4, 4, 5];
const N_SIZES = [1, 2, 2, 2, 3, 3, 3, 4, 4, 5, 8];
const M_SIZES = [1, 2, 2, 3, 3, 4];
/** Derivatives with more entries than this get smaller sizes (the reference evaluator is plain loops). */
const MAX_ENTRIES = 20_000;

export type Case = { readonly drawn: Drawn; readonly spec: CaseSpec } | { readonly drawn: Drawn; readonly failure: Failure };

/**
 * Networks: of every hundred cases about this many are layers named by a where clause, t1 = L(v),
 * t2 = L(t1), …, differentiated by v. They are drawn from a stream of their own, so the other cases
 * are those a seed drew before networks were.
 */
const NETWORK_SHARE = 0.04;
const NETWORK_SALT = 0x6e657477;
/** Layer types, each with the variables a layer may stand on (vectors most often). */
const LAYER_TYPES: readonly [readonly string[], GType][] = [
  [['x', 'y'], vec('n')],
  [['x', 'y'], vec('n')],
  [['x', 'y'], vec('n')],
  [['a', 'b'], SCALAR],
  [['A', 'B'], mat('n', 'n')],
];
const LAYER_DEPTHS = [2, 3, 4, 5];
const MAX_LAYER_SIZE = 16;

export function drawCase(seed: number, i: number, opts: DrawOptions = {}): Case {
  const cs = caseSeed(seed, i);
  const own = mulberry32(caseSeed((seed ^ NETWORK_SALT) >>> 0, i));
  if (own() < NETWORK_SHARE) {
    const net = drawNetwork(i, cs, own, opts);
    if (net) return net;
  }
  const rand = mulberry32(cs);
  for (;;) {
    const b = new Builder(rand);
    const g = new Generator(b);
    let total = 0;
    for (const [w] of ROOTS) total += w;
    let r = rand() * total;
    let t = ROOTS[0]![1];
    for (const [w, ty] of ROOTS) {
      r -= w;
      if (r < 0) {
        t = ty;
        break;
      }
    }
    const ast = g.expr(t, b.pick(DEPTHS));
    const present = [...varsOf(ast)];
    if (present.length === 0 || sizeOfTree(ast) > 80) continue;
    const wrt = b.pick(present);
    const order = opts.order ?? (rand() < 0.5 ? 1 : rand() < 0.7 ? 2 : 3);
    const sizes = fitSizes({ n: b.pick(N_SIZES), m: b.pick(M_SIZES) }, t, wrt, order, hasProducts(ast));
    const drawn: Drawn = { expr: { ast, types: b.types }, wrt, order, sizes, seed: cs };
    const p = prepare(drawn.expr, wrt, order, sizes, i, cs);
    if (p.ok) return { drawn, spec: p.spec };
    if (!p.unbound) return { drawn, failure: p.failure };
  }
}

/**
 * A network: a layer L drawn over a variable v (which it uses at least once), then
 * `tD where t1 = L(v), t2 = L(t1), …` (or the sum of tD), by v. Undefined where no layer is found
 * in a few draws.
 */
function drawNetwork(i: number, cs: number, rand: () => number, opts: DrawOptions): Case | undefined {
  for (let tries = 0; tries < 20; tries++) {
    const b = new Builder(rand);
    const g = new Generator(b);
    const [names, t] = b.pick(LAYER_TYPES);
    const v = b.pick(names);
    const layer = g.expr(t, b.pick(DEPTHS.slice(1, 5)));
    // Layers that use the one below twice (t + tanh(A*t)) most often: every path doubles there.
    const uses = usesOf(layer, v);
    if (uses === 0 || (uses === 1 && b.chance(0.6)) || sizeOfTree(layer) > MAX_LAYER_SIZE) continue;
    const bindings: { name: string; value: Ast }[] = [];
    let below = v;
    for (let k = 1, depth = b.pick(LAYER_DEPTHS); k <= depth; k++) {
      bindings.push({ name: `t${k}`, value: k === 1 ? layer : b.renamed(layer, v, below) });
      below = `t${k}`;
    }
    const top = b.name(below, t);
    const body = t !== SCALAR && b.chance(0.5) ? b.call('sum', top, SCALAR) : top;
    const ast = b.where(body, bindings);
    // By a matrix, orders 1 and 2: a third derivative is a tensor of order 6 or more, which has
    // an index form alone, spelt term by term (130,000 characters for five layers A'.*relu(A.^1.5)).
    const drawnOrder = opts.order ?? (rand() < 0.5 ? 1 : rand() < 0.7 ? 2 : 3);
    const order = opts.order === undefined && kindOf(t) === 'matrix' ? Math.min(drawnOrder, 2) : drawnOrder;
    const sizes = fitSizes({ n: b.pick(N_SIZES), m: b.pick(M_SIZES) }, b.type(body), v, order, hasProducts(ast));
    const drawn: Drawn = { expr: { ast, types: b.types }, wrt: v, order, sizes, seed: cs };
    const p = prepare(drawn.expr, v, order, sizes, i, cs);
    if (p.ok) return { drawn, spec: p.spec };
    if (!p.unbound) return { drawn, failure: p.failure };
  }
  return undefined;
}

/** Smaller sizes where the derivative would have more than MAX_ENTRIES entries. */
function fitSizes(sizes: Sizes, t: GType, wrt: string, order: number, products: boolean): Sizes {
  const entries = (s: Sizes): number => {
    const dim = (d: GType['r']): number => sizeOfSym(d, s);
    const w = envVar(wrt)!.type;
    return dim(t.r) * dim(t.c) * (dim(w.r) * dim(w.c)) ** order;
  };
  // With vec or kron inside, sizes of up to 3 (products up to 9): an intermediate of a derivative
  // has a product size on every axis that meets one.
  let s = products ? { n: Math.min(sizes.n, 3), m: Math.min(sizes.m, 3) } : sizes;
  while (entries(s) > MAX_ENTRIES && (s.n > 1 || s.m > 1)) s = { n: Math.max(1, s.n - 1), m: Math.max(1, s.m - 1) };
  return s;
}

/** How many times a tree reads the name v. */
function usesOf(a: Ast, v: string): number {
  return (a.kind === 'name' && a.name === v ? 1 : 0) + astChildren(a).reduce((n, c) => n + usesOf(c, v), 0);
}

function hasProducts(a: Ast): boolean {
  return (a.kind === 'call' && (a.fn === 'vec' || a.fn === 'kron')) || astChildren(a).some(hasProducts);
}

