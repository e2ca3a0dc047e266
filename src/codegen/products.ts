/**
 * Products for the array languages (NumPy and PyTorch): an einsum step of the plan read as matrix
 * algebra where it is one (`A @ x`, `A.T @ B`, outer, trace, diagonal, sums, row and column
 * scaling), an einsum call otherwise; and inverses that never need forming. A product with
 * inv(S) on either side is a linear solve (inv(S) @ B = solve(S, B), A @ inv(S) = solve(S', A')'),
 * which is cheaper and more accurate than forming the inverse; an inverse is formed only where it
 * is also used otherwise (returned, added, inside a general einsum).
 *
 * The analysis is language-independent; a Dialect spells each operation.
 */
import { unsupported } from '../errors.js';
import type { Instr, Operand, Plan, Temp } from './plan.js';

/** A matrix or vector operand, transposed or not (a vector never is). */
export interface Mat {
  readonly name: string;
  readonly t: boolean;
  readonly rank: number;
}

/** A product that is plain matrix algebra. */
export type PlainOp =
  | { readonly k: 'operand'; readonly a: Mat }
  | { readonly k: 'trace' | 'diagonal' | 'sum'; readonly a: string }
  | { readonly k: 'sumAxis'; readonly a: string; readonly axis: number }
  | { readonly k: 'hadamard'; readonly a: Mat; readonly b: Mat }
  | { readonly k: 'outer'; readonly a: string; readonly b: string }
  | { readonly k: 'scaleRows'; readonly v: string; readonly m: Mat }
  | { readonly k: 'scaleCols'; readonly m: Mat; readonly v: string }
  | { readonly k: 'matmul'; readonly a: Mat; readonly b: Mat };

export interface Dialect {
  readonly trace: (a: string) => string;
  readonly diagonal: (a: string) => string;
  readonly sum: (a: string) => string;
  readonly sumAxis: (a: string, axis: number) => string;
  readonly outer: (a: string, b: string) => string;
  readonly einsum: (spec: string, operands: readonly string[]) => string;
  /** inv(a) @ b; `name` says which matrix (as the user wrote it) in a singular-matrix error. */
  readonly solve: (a: string, b: string, name: string) => string;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The operand with its axes in the order of `want` (labels), where that is the identity or a transpose. */
function oriented(f: Operand, want: readonly number[]): Mat | undefined {
  const ls = f.labels;
  if (ls.length !== want.length) return undefined;
  if (ls.every((l, i) => l === want[i])) return { name: f.src.name, t: false, rank: ls.length };
  if (ls.length === 2 && ls[0] === want[1] && ls[1] === want[0]) return { name: f.src.name, t: true, rank: 2 };
  return undefined;
}

/** The step's product as matrix algebra, or undefined where only an einsum says it. */
export function plainOp(factors: readonly Operand[], r: number): PlainOp | undefined {
  if (r > 2 || factors.some((f) => f.labels.length > 2)) return undefined;
  const outLabels = Array.from({ length: r }, (_, i) => i);
  const distinct = (f: Operand): boolean => new Set(f.labels).size === f.labels.length;
  if (factors.length === 1) {
    const f = factors[0]!;
    const name = f.src.name;
    if (!distinct(f)) return r === 0 ? { k: 'trace', a: name } : r === 1 ? { k: 'diagonal', a: name } : undefined;
    const summed = f.labels.filter((l) => l >= r);
    if (summed.length === 0) {
      const a = oriented(f, outLabels);
      return a && { k: 'operand', a };
    }
    if (r === 0) return { k: 'sum', a: name };
    if (f.labels.length === 2 && r === 1) return { k: 'sumAxis', a: name, axis: f.labels.indexOf(summed[0]!) };
    return undefined;
  }
  if (factors.length !== 2) return undefined;
  const [a, b] = factors as [Operand, Operand];
  if (!distinct(a) || !distinct(b)) return undefined;
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const summed = [...new Set([...a.labels, ...b.labels])].filter((l) => l >= r);
  if (summed.length === 0) return elementwiseOp(a, b, shared, outLabels);
  if (summed.length === 1 && shared.length === 1 && shared[0] === summed[0]) return matmulOp(a, b, summed[0]!, r);
  return undefined;
}

/** Products without a sum: Hadamard, outer, a vector scaling the rows or columns of a matrix. */
function elementwiseOp(a: Operand, b: Operand, shared: readonly number[], outLabels: readonly number[]): PlainOp | undefined {
  if (shared.length === a.labels.length && shared.length === b.labels.length) {
    const x = oriented(a, outLabels);
    const y = oriented(b, outLabels);
    return x && y ? { k: 'hadamard', a: x, b: y } : undefined;
  }
  if (shared.length === 0 && a.labels.length === 1 && b.labels.length === 1)
    return a.labels[0] === 0 ? { k: 'outer', a: a.src.name, b: b.src.name } : { k: 'outer', a: b.src.name, b: a.src.name };
  const [big, small] = a.labels.length === 2 && b.labels.length === 1 ? [a, b] : b.labels.length === 2 && a.labels.length === 1 ? [b, a] : [];
  if (!big || !small || shared.length !== 1) return undefined;
  const m = oriented(big, outLabels);
  if (!m) return undefined;
  return small.labels[0] === 0 ? { k: 'scaleRows', v: small.src.name, m } : { k: 'scaleCols', m, v: small.src.name };
}

/** One summed label shared by both factors: a matrix or vector product. */
function matmulOp(a: Operand, b: Operand, k: number, r: number): PlainOp | undefined {
  // A matrix times a vector reads best matrix first: A @ x, A.T @ x.
  if (r === 1 && a.labels.length === 1 && b.labels.length === 2) {
    const m = oriented(b, [0, k]);
    return m && { k: 'matmul', a: m, b: { name: a.src.name, t: false, rank: 1 } };
  }
  if (r === 1 && a.labels.length === 2 && b.labels.length === 1) {
    const m = oriented(a, [0, k]);
    return m && { k: 'matmul', a: m, b: { name: b.src.name, t: false, rank: 1 } };
  }
  const ao = a.labels.filter((l) => l !== k);
  const bo = b.labels.filter((l) => l !== k);
  const [first, second, fo, so] = [...ao, ...bo].every((l, i) => l === i) ? [a, b, ao, bo] : [b, a, bo, ao];
  const x = oriented(first, [...fo, k]);
  const y = oriented(second, [k, ...so]);
  return x && y ? { k: 'matmul', a: x, b: y } : undefined;
}

/** Names of the temporaries an instruction reads (not the sum's own array that a term adds to). */
export function reads(ins: Instr): string[] {
  switch (ins.op) {
    case 'fill':
    case 'eye':
      return [];
    case 'add':
      return ins.terms.map((t) => t.src.name);
    case 'einsum':
      return [...ins.factors.map((f) => f.src.name), ...ins.scalars.map((s) => s.name)];
    case 'elem':
    case 'pow':
    case 'inv':
    case 'det':
    case 'adj':
    case 'adj2':
    case 'adj3':
    case 'logdet':
    case 'logsumexp':
    case 'permute':
      return [ins.src.name];
    case 'powv':
      return [ins.base.name, ins.exponent.name];
    case 'mpow':
      return [ins.src.name, ...ins.dirs.map((d) => d.name)];
  }
}

/** An inverse that is solved with, never formed: the temporary of its matrix, and its name for errors. */
export interface Solved {
  readonly src: string;
  readonly name: string;
}

/**
 * Which inverses are solves: inv(S) by the name of its temporary → S, for every inverse whose
 * only uses are as one side of a matrix product. Where both sides of a product are inverses, the
 * right one is formed.
 */
export function solvedInverses(plan: Plan, ops: ReadonlyMap<Instr, PlainOp | undefined>): Map<string, Solved> {
  const solvable = new Map<string, Solved>();
  for (const ins of plan.body) if (ins.op === 'inv') solvable.set(ins.out.name, { src: ins.src.name, name: `inv(${ins.name})` });
  const formed = new Set<string>(plan.outputs.map((o) => o.temp.name));
  for (const ins of plan.body) {
    const op = ops.get(ins);
    if (op?.k === 'matmul') continue;
    for (const n of reads(ins)) formed.add(n);
  }
  for (const ins of plan.body) {
    const op = ops.get(ins);
    if (op?.k === 'matmul' && op.a.name === op.b.name) formed.add(op.a.name);
  }
  for (const ins of plan.body) {
    const op = ops.get(ins);
    if (op?.k !== 'matmul') continue;
    const open = (n: string): boolean => solvable.has(n) && !formed.has(n);
    if (open(op.a.name) && open(op.b.name)) formed.add(op.b.name);
  }
  for (const n of formed) solvable.delete(n);
  return solvable;
}

/** An einsum step in a dialect: matrix algebra or a solve where it is one, else the dialect's einsum. */
export function renderProduct(
  ins: Instr & { op: 'einsum' },
  op: PlainOp | undefined,
  d: Dialect,
  solved: ReadonlyMap<string, Solved>,
  ref: (t: Temp) => string,
): string {
  const scal = ins.scalars.map(ref);
  if (ins.factors.length === 0) return scal.join(' * ');
  const core = op ? renderOp(op, d, solved) : einsumCall(ins.factors, ins.out.dims.length, ins.labelDims.length, d);
  if (scal.length === 0) return core;
  return `${scal.join(' * ')} * ${/^[\w.]+(\[[^\]]*\])?$|^[\w.]+\([^()]*\)$/.test(core) ? core : `(${core})`}`;
}

function einsumCall(factors: readonly Operand[], r: number, nlabels: number, d: Dialect): string {
  if (nlabels > LETTERS.length) throw unsupported(`a product with ${nlabels} indices is beyond einsum's ${LETTERS.length} subscripts`);
  const sub = (ls: readonly number[]): string => ls.map((l) => LETTERS[l]).join('');
  const spec = `${factors.map((f) => sub(f.labels)).join(',')}->${sub(Array.from({ length: r }, (_, i) => i))}`;
  return d.einsum(spec, factors.map((f) => f.src.name));
}

const mat = (m: Mat): string => (m.t ? `${m.name}.T` : m.name);

function renderOp(op: PlainOp, d: Dialect, solved: ReadonlyMap<string, Solved>): string {
  switch (op.k) {
    case 'operand':
      return mat(op.a);
    case 'trace':
      return d.trace(op.a);
    case 'diagonal':
      return d.diagonal(op.a);
    case 'sum':
      return d.sum(op.a);
    case 'sumAxis':
      return d.sumAxis(op.a, op.axis);
    case 'hadamard':
      return `${mat(op.a)} * ${mat(op.b)}`;
    case 'outer':
      return d.outer(op.a, op.b);
    case 'scaleRows':
      return `${op.v}[:, None] * ${mat(op.m)}`;
    case 'scaleCols':
      return `${mat(op.m)} * ${op.v}`;
    case 'matmul':
      return renderMatmul(op.a, op.b, d, solved);
  }
}

/** a @ b, with an unformed inverse on either side turned into a solve. */
function renderMatmul(a: Mat, b: Mat, d: Dialect, solved: ReadonlyMap<string, Solved>): string {
  const sa = solved.get(a.name);
  if (sa !== undefined) return d.solve(a.t ? `${sa.src}.T` : sa.src, mat(b), sa.name); // inv(S) B; inv(S)' B = inv(S') B
  const sb = solved.get(b.name);
  if (sb === undefined) return `${mat(a)} @ ${mat(b)}`;
  // x inv(S) = inv(S') x; A inv(S) = (inv(S') A')'; and with inv(S)' = inv(S') in place of inv(S).
  const s = b.t ? sb.src : `${sb.src}.T`;
  if (a.rank === 1) return d.solve(s, a.name, sb.name);
  return `${d.solve(s, a.t ? a.name : `${a.name}.T`, sb.name)}.T`;
}
