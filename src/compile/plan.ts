/**
 * The planner: from the interned IR (with sizes bound) to a schedule of kernel calls.
 *
 * - Every node is computed once (the DAG is the common-sub-expression structure).
 * - Deltas and constant tensors are never materialised: a delta merges two output strides (a write
 *   onto a diagonal), a vector of ones is a broadcast; a product that only feeds a sum is written
 *   straight into the sum's buffer.
 * - Products go to BLAS-shaped kernels where their index pattern allows (contract.ts).
 * - Buffers of intermediates come from a pool and are handed back after their last use, so later
 *   nodes reuse them; they live as long as the plan, so a call allocates none. Results get fresh
 *   buffers on every call (not cleared unless a step counts on zeros: alloc.ts), or are written
 *   into the caller's (run's `outs`).
 */
import { type Dim, type Node, type NodeOf, type VarNode, InternalError, evaluatedChildren, logSigmoidOf, mergePermutation, topoOrder } from '../ir/node.js';
import { adjugateParts } from './kernels/adjugateParts.js';
import type { Tensor } from '../tensor.js';
import { sizeOf } from '../tensor.js';
import { inputError } from '../errors.js';
import { SingularMatrixError, adjugate, checkThirdCofactorsOrder, thirdCofactors, det, inverse, logAbsDet, logSumExp, mapUnary, type UnaryFn, matPow, matPowFrechet, permute, powElementwise, powScalar, singularMatrix } from './kernels/index.js';
import { planMul, type Target } from './contract.js';
import { planTransposeSum } from './sums.js';
import { inlinedFactors, inlinedProducts } from './nested.js';
import { uninitialized } from './alloc.js';

export interface Slot {
  buf: Float64Array;
}

export type Step = () => void;

/** Runs of any plan so far: a step that fills something once per run compares it with its own. */
let runs = 0;

/** Buffers by exact length, handed out and back during planning. */
export class Pool {
  private readonly free = new Map<number, Float64Array[]>();
  take(size: number): Float64Array {
    const list = this.free.get(size);
    return list && list.length > 0 ? list.pop()! : new Float64Array(Math.max(size, 1));
  }
  give(buf: Float64Array): void {
    const list = this.free.get(buf.length) ?? [];
    list.push(buf);
    this.free.set(buf.length, list);
  }
}

export interface PlanContext {
  readonly sizes: ReadonlyMap<Dim, number>;
  readonly pool: Pool;
  readonly steps: Step[];
  /** Temporaries of the node being planned, handed back once its steps are all emitted. */
  readonly temps: Float64Array[];
  /** Sums that products distribute over instead of materialising (see distributedSums). */
  readonly distributed: ReadonlySet<Node>;
  /** Nested products read into the product that uses them (nested.ts). */
  readonly inlined: ReadonlySet<Node>;
  /** Result slots whose steps count on a new (all-zero) buffer: a caller's buffer is cleared first. */
  readonly reliesOnZeros: Set<Slot>;
  /** The slot holding a node's dense value (the node must have been materialised). */
  slot(n: Node): Slot;
  /** How errors name a matrix (the argument of an inv that turns out singular). */
  matrixName(n: Node): string;
  shape(n: Node): number[];
  /** The parts of adj2(a), computed once per run for all the adjpart nodes of a. */
  adjugateParts(a: Node): AdjugateParts;
}

/** The parts of adj2 of one matrix (kernels/adjugateParts.ts), filled by the first step of a run that reads them. */
export interface AdjugateParts {
  readonly Q: Float64Array;
  readonly P: Float64Array;
  readonly R: Float64Array;
  d: number;
  k: number;
  /** The run they were computed in. */
  run: number;
}

export function rowMajorStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export interface Plan {
  /**
   * Evaluates the roots; outs[k], when given, receives root k (it must have the root's size and
   * share no memory with the inputs), else a new buffer does.
   */
  run(values: ReadonlyMap<string, Tensor>, outs?: readonly (Float64Array | undefined)[]): Tensor[];
  /** Number of kernel steps (for tests and benchmarks). */
  readonly stepCount: number;
}

/** A product that only feeds one sum is written straight into the sum's buffer. */
function inlineTerms(roots: readonly Node[], order: readonly Node[]): Set<Node> {
  const uses = useCounts(roots, order);
  const inline = new Set<Node>();
  for (const n of order)
    if (n.kind === 'add') for (const t of n.terms) if (t.node.kind === 'mul' && uses.get(t.node) === 1) inline.add(t.node);
  return inline;
}

/** How many times each node is used (as a child, or as a result). */
function useCounts(roots: readonly Node[], order: readonly Node[]): Map<Node, number> {
  const uses = new Map<Node, number>();
  for (const r of roots) uses.set(r, (uses.get(r) ?? 0) + 1);
  for (const n of order) for (const c of evaluatedChildren(n)) uses.set(c, (uses.get(c) ?? 0) + 1);
  return uses;
}

/**
 * Sums that a product should not materialise: (A + A')*v is A*v + A'*v, which never forms the
 * n×n sum. A sum factor qualifies when this product is its only use, it is at least as large as
 * the product's result, and its terms are variables or products of variables (so distributing
 * needs nothing that is not already there).
 */
function distributedSums(roots: readonly Node[], order: readonly Node[], sizes: ReadonlyMap<Dim, number>): Set<Node> {
  const uses = useCounts(roots, order);
  const size = (n: Node): number => n.shape.reduce((p, d) => p * sizes.get(d)!, 1);
  const leafy = (t: Node): boolean =>
    t.kind === 'var' ||
    t.kind === 'delta' ||
    (t.kind === 'mul' && t.factors.every((f) => f.node.kind === 'var' || f.node.kind === 'delta' || f.node.kind === 'const'));
  const out = new Set<Node>();
  for (const n of order) {
    if (n.kind !== 'mul') continue;
    for (const f of n.factors) {
      const a = f.node;
      if (a.kind === 'add' && uses.get(a) === 1 && size(a) >= size(n) && a.terms.every((t) => leafy(t.node))) out.add(a);
    }
  }
  return out;
}

/** Nodes whose dense value a node's steps read. */
function operandsOf(n: Node, inline: ReadonlySet<Node>, distributed: ReadonlySet<Node>, inlined: ReadonlySet<Node>): readonly Node[] {
  const fromMul = (m: NodeOf<'mul'>): Node[] =>
    inlinedFactors(m.factors, inlined)
      .flatMap((f) => (distributed.has(f.node) ? (f.node as NodeOf<'add'>).terms.flatMap((t) => (t.node.kind === 'mul' ? t.node.factors.map((g) => g.node) : [t.node])) : [f.node]))
      .filter((c) => c.kind !== 'delta' && c.kind !== 'const');
  switch (n.kind) {
    case 'add':
      return n.terms.flatMap((t) => (inline.has(t.node) ? fromMul(t.node as NodeOf<'mul'>) : t.node.kind === 'delta' || t.node.kind === 'const' ? [] : [t.node]));
    case 'mul':
      return fromMul(n);
    default:
      return evaluatedChildren(n);
  }
}

export function buildPlan(
  roots: readonly Node[],
  vars: readonly VarNode[],
  sizes: ReadonlyMap<Dim, number>,
  matrixName: (n: Node) => string = () => 'a matrix',
): Plan {
  const order = topoOrder(roots);
  for (const n of order) if (n.kind === 'adj3') checkThirdCofactorsOrder(sizes.get(n.shape[0]!)!);
  const inline = inlineTerms(roots, order);
  const distributed = distributedSums(roots, order, sizes);
  const inlined = inlinedProducts(order, useCounts(roots, order), sizes);
  // What has to be materialised: the roots and every operand of a materialised node.
  const needed = new Set<Node>(roots);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (needed.has(n)) for (const c of operandsOf(n, inline, distributed, inlined)) needed.add(c);
  }
  const schedule = order.filter((n) => needed.has(n));
  const lastUse = new Map<Node, number>();
  schedule.forEach((n, i) => {
    for (const c of operandsOf(n, inline, distributed, inlined)) lastUse.set(c, i);
  });

  const pool = new Pool();
  const steps: Step[] = [];
  const slots = new Map<Node, Slot>();
  const varSlots = new Map<string, Slot>();
  const rootSet = new Set(roots);
  const shape = (n: Node): number[] => n.shape.map((d) => sizes.get(d)!);
  const temps: Float64Array[] = [];
  const reliesOnZeros = new Set<Slot>();
  const adjugates = new Map<Node, AdjugateParts>();
  const ctx: PlanContext = {
    sizes,
    pool,
    steps,
    temps,
    distributed,
    inlined,
    reliesOnZeros,
    slot(n) {
      const s = slots.get(n);
      if (!s) throw new Error(`internal: ${n.kind} node used before it was planned`);
      return s;
    },
    shape,
    matrixName,
    adjugateParts(a) {
      let parts = adjugates.get(a);
      if (!parts) {
        const size = sizeOf(shape(a));
        parts = { Q: new Float64Array(size), P: new Float64Array(size), R: new Float64Array(size), d: 0, k: 0, run: -1 };
        adjugates.set(a, parts);
      }
      return parts;
    },
  };

  for (const v of vars) varSlots.set(v.name, { buf: new Float64Array(0) });
  schedule.forEach((n, i) => {
    const size = sizeOf(shape(n));
    if (n.kind === 'var') {
      slots.set(n, varSlots.get(n.name) ?? { buf: new Float64Array(0) });
      varSlots.set(n.name, slots.get(n)!);
      return;
    }
    if (n.kind === 'const' || n.kind === 'delta') {
      const buf = new Float64Array(size);
      if (n.kind === 'const') buf.fill(n.value);
      else for (let k = 0, d = shape(n)[0]!; k < d; k++) buf[k * d + k] = 1;
      slots.set(n, { buf });
      return;
    }
    // Results get a fresh buffer per call (assigned in run); intermediates one from the pool.
    const slot: Slot = { buf: rootSet.has(n) ? new Float64Array(size) : pool.take(size) };
    slots.set(n, slot);
    planNode(n, slot, ctx, inline, rootSet.has(n));
    for (const t of temps.splice(0)) pool.give(t);
    // Each operand once: a node read by two terms of a sum must not go back to the pool twice.
    for (const c of new Set(operandsOf(n, inline, distributed, inlined))) {
      if (lastUse.get(c) === i && !rootSet.has(c) && c.kind !== 'var' && c.kind !== 'const' && c.kind !== 'delta') pool.give(slots.get(c)!.buf);
    }
  });

  const rootSlots = roots.map((r) => slots.get(r)!);
  const rootShapes = roots.map(shape);
  const isComputed = roots.map((r) => r.kind !== 'var' && r.kind !== 'const' && r.kind !== 'delta');
  const rootSizes = rootShapes.map(sizeOf);
  const zeroFirst = rootSlots.map((s) => reliesOnZeros.has(s));
  // A node that is two roots (f = exp(a): value, gradient and Hessian are one node) is computed
  // once, into the first root's buffer; the others get a copy.
  const firstOfSlot = rootSlots.map((s) => rootSlots.indexOf(s));
  return {
    stepCount: steps.length,
    run(values, outs) {
      runs++;
      for (const [name, slot] of varSlots) {
        const v = values.get(name);
        if (v) slot.buf = v.data;
      }
      if (outs) checkOuts(outs, rootSizes, values);
      for (let k = 0; k < roots.length; k++) {
        if (!isComputed[k] || firstOfSlot[k] !== k) continue;
        const o = outs?.[k];
        if (o && zeroFirst[k]) o.fill(0);
        // A new buffer: zeroed where the steps count on zeros, else left as the allocator gives it
        // (the steps write every entry, as they do into a caller's buffer).
        rootSlots[k]!.buf = o ?? (zeroFirst[k] ? new Float64Array(rootSizes[k]!) : uninitialized(rootSizes[k]!));
      }
      for (const s of steps) s();
      return roots.map((r, k) => {
        let data = rootSlots[k]!.buf;
        if (!isComputed[k] || firstOfSlot[k] !== k) {
          // A root that is an input (or a constant), or repeats an earlier root, is a copy.
          const o = outs?.[k];
          data = o ? (o.set(data), o) : Float64Array.from(data);
        }
        return { shape: rootShapes[k]!, data };
      });
    },
  };
}

/** Caller buffers: the results' sizes, and no memory shared with an input or another result. */
function checkOuts(outs: readonly (Float64Array | undefined)[], sizes: readonly number[], values: ReadonlyMap<string, Tensor>): void {
  const overlaps = (a: Float64Array, b: Float64Array): boolean =>
    a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
  outs.forEach((o, k) => {
    if (!o) return;
    if (!(o instanceof Float64Array)) throw inputError('out: expected a Float64Array');
    if (o.length !== sizes[k]) throw inputError(`out: the result has ${sizes[k]} entries, but the buffer given has ${o.length}`);
    for (const [name, v] of values) if (overlaps(o, v.data)) throw inputError(`out: the buffer shares memory with the input ${name}`);
    for (let j = 0; j < k; j++) if (outs[j] && overlaps(o, outs[j]!)) throw inputError('out: two results share one buffer');
  });
}

function planNode(n: Node, out: Slot, ctx: PlanContext, inline: ReadonlySet<Node>, fresh: boolean): void {
  const shape = ctx.shape(n);
  const size = sizeOf(shape);
  const steps = ctx.steps;
  switch (n.kind) {
    case 'var':
    case 'const':
    case 'delta':
      return;
    case 'mul':
      planMul(ctx, n, { slot: out, off: 0, strides: rowMajorStrides(shape), fresh }, 1, false);
      return;
    case 'add':
      if (!planTransposeSum(ctx, n, out, inline)) planAdd(ctx, n, out, shape, inline, fresh);
      return;
    case 'elem': {
      // log(sigmoid(u)) as -softplus(-u), log(1 - sigmoid(u)) as -softplus(u): -800, not log(0), at u = ∓800.
      const l = logSigmoidOf(n);
      const a = ctx.slot(l?.arg ?? n.arg);
      const fn: UnaryFn = l?.fn ?? n.fn;
      steps.push(() => mapUnary(fn, size, a.buf, 0, out.buf, 0));
      return;
    }
    case 'pow': {
      const a = ctx.slot(n.base);
      const p = n.exp;
      steps.push(() => powScalar(size, a.buf, 0, p, out.buf, 0));
      return;
    }
    case 'powv': {
      const a = ctx.slot(n.base);
      const e = ctx.slot(n.exponent);
      steps.push(() => powElementwise(size, a.buf, 0, e.buf, 0, out.buf, 0));
      return;
    }
    case 'inv': {
      const a = ctx.slot(n.arg);
      const d = shape[0]!;
      const arg = n.arg;
      steps.push(() => {
        try {
          inverse(d, a.buf, 0, d, out.buf, 0, d);
        } catch (e) {
          throw e instanceof SingularMatrixError ? singularMatrix('inv', ctx.matrixName(arg)) : e;
        }
      });
      return;
    }
    case 'adj': {
      const a = ctx.slot(n.arg);
      const d = shape[0]!;
      steps.push(() => adjugate(d, a.buf, 0, d, out.buf, 0, d));
      return;
    }
    case 'det': {
      const a = ctx.slot(n.arg);
      const d = ctx.shape(n.arg)[0]!;
      steps.push(() => {
        out.buf[0] = det(d, a.buf, 0, d);
      });
      return;
    }
    case 'adjpart': {
      // One factorisation per run serves every part of the same matrix.
      const a = ctx.slot(n.arg);
      const d = ctx.shape(n.arg)[0]!;
      const parts = ctx.adjugateParts(n.arg);
      const part = n.part;
      steps.push(() => {
        if (parts.run !== runs) {
          const s = adjugateParts(d, a.buf, 0, d, parts.Q, parts.P, parts.R);
          parts.d = s.d;
          parts.k = s.k;
          parts.run = runs;
        }
        if (part === 'd' || part === 'k') out.buf[0] = parts[part];
        else out.buf.set(parts[part].subarray(0, size));
      });
      return;
    }
    case 'adj2':
      throw new InternalError('adj2 is written in its parts before planning (compile/adjugates.ts)');
    case 'adj3': {
      const a = ctx.slot(n.arg);
      const d = shape[0]!;
      steps.push(() => thirdCofactors(d, a.buf, 0, out.buf, 0));
      return;
    }
    case 'merge': {
      // vec, kron: reverse the axes within each group, then the row-major data is the merged tensor.
      const a = ctx.slot(n.arg);
      const argShape = ctx.shape(n.arg);
      const perm = mergePermutation(n.groups);
      steps.push(() => permute(argShape, perm, a.buf, 0, out.buf, 0));
      return;
    }
    case 'logsumexp': {
      const a = ctx.slot(n.arg);
      const size = sizeOf(ctx.shape(n.arg));
      steps.push(() => {
        out.buf[0] = logSumExp(a.buf, 0, size);
      });
      return;
    }
    case 'logdet': {
      const a = ctx.slot(n.arg);
      const d = ctx.shape(n.arg)[0]!;
      const arg = n.arg;
      steps.push(() => {
        const r = logAbsDet(d, a.buf, 0, d);
        // log(det(X)): undefined (NaN) for a negative determinant; at a singular matrix an error.
        if (r.sign === 0) throw singularMatrix('logdet', ctx.matrixName(arg));
        out.buf[0] = r.sign > 0 ? r.logAbs : NaN;
      });
      return;
    }
    case 'mpow': {
      // A^k by repeated squaring; P(A, k; E…) by squaring on the blocks over subsets of the directions.
      const a = ctx.slot(n.base);
      const d = shape[0]!;
      const k = n.exp;
      if (n.dirs.length === 0) {
        steps.push(() => matPow(d, k, a.buf, 0, out.buf, 0));
        return;
      }
      const dirs = n.dirs.map((e) => ({ slot: ctx.slot(e), size: sizeOf(ctx.shape(e).slice(2)) }));
      steps.push(() => matPowFrechet(d, k, a.buf, 0, dirs.map((e) => ({ data: e.slot.buf, off: 0, size: e.size })), out.buf, 0));
      return;
    }
  }
}

function planAdd(ctx: PlanContext, n: NodeOf<'add'>, out: Slot, shape: number[], inline: ReadonlySet<Node>, fresh: boolean): void {
  const size = sizeOf(shape);
  const strides = rowMajorStrides(shape);
  let first = true;
  for (const t of n.terms) {
    const c = t.coef;
    const node = t.node;
    const accumulate = !first;
    const target: Target = { slot: out, off: 0, strides, fresh: fresh && first };
    first = false;
    if (inline.has(node) || node.kind === 'delta') {
      planMul(ctx, node, target, c, accumulate);
    } else if (node.kind === 'const') {
      const v = c * node.value;
      ctx.steps.push(accumulate ? () => addConstant(out.buf, size, v) : () => out.buf.fill(v, 0, size));
    } else {
      const src = ctx.slot(node);
      ctx.steps.push(accumulate ? () => axpyDense(size, c, src.buf, out.buf) : () => scaleDense(size, c, src.buf, out.buf));
    }
  }
}

function addConstant(buf: Float64Array, size: number, v: number): void {
  for (let i = 0; i < size; i++) buf[i] += v;
}

function axpyDense(size: number, c: number, x: Float64Array, y: Float64Array): void {
  if (c === 1) for (let i = 0; i < size; i++) y[i] += x[i]!;
  else if (c === -1) for (let i = 0; i < size; i++) y[i] -= x[i]!;
  else for (let i = 0; i < size; i++) y[i] += c * x[i]!;
}

function scaleDense(size: number, c: number, x: Float64Array, y: Float64Array): void {
  if (c === 1) y.set(x.subarray(0, size));
  else for (let i = 0; i < size; i++) y[i] = c * x[i]!;
}
