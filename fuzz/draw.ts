/**
 * Drawing case i of a run: its expression, variable, order and sizes, all from (seed, i), so a
 * case is reproducible on its own (`--seed S --cases N` always gives the same N cases).
 */
import { mulberry32 } from '../src/random.js';
import { Builder, Generator, SCALAR, envVar, mat, row, sizeOfTree, varsOf, vec, type Expr, type GType } from './generate.js';
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

export function drawCase(seed: number, i: number, opts: DrawOptions = {}): Case {
  const cs = caseSeed(seed, i);
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

function hasProducts(a: Ast): boolean {
  return (a.kind === 'call' && (a.fn === 'vec' || a.fn === 'kron')) || astChildren(a).some(hasProducts);
}

