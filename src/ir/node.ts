/**
 * The index IR: one representation for everything after lowering.
 *
 * Every node is a tensor with an ordered list of axes (its free indices); `shape` gives the size
 * symbol of each axis. Products are einsum-like: a `mul` node lists factors, each with one label
 * per axis; labels 0..rank-1 are the node's own axes in order, every other label is summed over.
 * One generic product thus is matrix product, inner, outer and Hadamard product, trace, diag and
 * transpose at once (transpose is only a renaming of labels).
 *
 * Nodes are immutable and interned: `make*` constructors bring a node into a canonical form
 * (flattened products and sums, summed labels renamed canonically, identity deltas contracted,
 * constants folded) and return the one object for that form, so equal sub-expressions — also
 * those that differ only in the names of summed indices — are the same object.
 *
 * Ricci positions (upper/lower) are not stored: all spaces here are Euclidean, so a position is a
 * matter of presentation; print/index.ts assigns them (vectors x^i, covectors x_i, A^i_j).
 */
import type { ElementwiseFn } from '../syntax/ops.js';

export type Dim = number;

/** Element-wise functions as IR nodes (sqrt is a power). */
export type ElemFn = Exclude<ElementwiseFn, 'sqrt'>;

interface Common {
  /** Identity: creation order (differs between processes; never used for ordering). */
  readonly id: number;
  /**
   * A hash of the node's structure (not of ids), so that canonical orders — of the terms of a sum,
   * the factors of a product — and hence printed forms are the same in every process.
   */
  readonly h: number;
  readonly shape: readonly Dim[];
  readonly key: string;
}

export interface VarNode extends Common {
  readonly kind: 'var';
  readonly name: string;
  readonly symmetric: boolean;
}
/** A tensor filled with 0 or 1 (other constants are scaled ones). */
export interface ConstNode extends Common {
  readonly kind: 'const';
  readonly value: 0 | 1;
}
/** The identity δ^i_j (shape [n, n]). */
export interface DeltaNode extends Common {
  readonly kind: 'delta';
}
export interface Term {
  readonly coef: number;
  readonly node: Node;
}
/** Why a sum or product is held: a where clause names it ('layer'), or differentiation shares it ('derived'). */
export type Held = 'layer' | 'derived';
export interface AddNode extends Common {
  readonly kind: 'add';
  readonly terms: readonly Term[];
  /**
   * A sum that a where clause names (t2 = t1 + a*tanh(A*t1)): it stays one term of the sums it is
   * used in rather than being flattened into them, so that the layers the input wrote stay nodes
   * of their own and the chain rule can pass through them (src/diff/derivative.ts). Differentiation
   * holds sums too (Jacobians and adjoints it shares): those are 'derived'.
   */
  readonly held?: Held;
}
export interface Factor {
  readonly node: Node;
  readonly labels: readonly number[];
}
export interface MulNode extends Common {
  readonly kind: 'mul';
  readonly factors: readonly Factor[];
  /** Number of distinct labels; labels ≥ rank are summed. */
  readonly nlabels: number;
  /** A product that a where clause names (t.*sigmoid(A*t)): a factor of its own in other products (see AddNode.held). */
  readonly held?: Held;
}
export interface ElemNode extends Common {
  readonly kind: 'elem';
  readonly fn: ElemFn;
  readonly arg: Node;
}
/** Element-wise power with a constant exponent. */
export interface PowNode extends Common {
  readonly kind: 'pow';
  readonly base: Node;
  readonly exp: number;
}
/** Element-wise power base.^exponent with a tensor exponent of the same shape. */
export interface PowvNode extends Common {
  readonly kind: 'powv';
  readonly base: Node;
  readonly exponent: Node;
}
export interface InvNode extends Common {
  readonly kind: 'inv';
  readonly arg: Node;
}
export interface DetNode extends Common {
  readonly kind: 'det';
  readonly arg: Node;
}
export interface LogdetNode extends Common {
  readonly kind: 'logdet';
  readonly arg: Node;
}
/** log Σ exp(u) over every entry of u, computed with the largest entry taken out (no overflow). */
export interface LogsumexpNode extends Common {
  readonly kind: 'logsumexp';
  readonly arg: Node;
}
/** The adjugate adj(A) = det(A)·A⁻¹ where A is invertible, and defined (a polynomial) everywhere. */
export interface AdjNode extends Common {
  readonly kind: 'adj';
  readonly arg: Node;
}
/**
 * The derivative of the adjugate as a tensor: adj2(A)^i_j^p_q = ∂adj(A)^i_j/∂A^p_q, shape
 * [n, n, n, n]. Defined (a polynomial) everywhere; where A is invertible it is
 * adj(A)^i_j (A⁻¹)^q_p − adj(A)^i_p (A⁻¹)^q_j. Only the singular-safe derivative rule of adj
 * builds it (differentiate's `singularSafe`), for the evaluators; the printed derivative is the
 * one written with A⁻¹ (see derive.ts).
 */
export interface Adj2Node extends Common {
  readonly kind: 'adj2';
  readonly arg: Node;
}
/**
 * adj3(A) = ∂adj2(A)/∂A, the third derivative of det: adj3(A)^i_j^p_q^r_s = ∂³det(A)/∂A^j_i
 * ∂A^p_q ∂A^r_s, a signed minor of order n − 3, shape [n, n, n, n, n, n]. Defined everywhere.
 * Only the cofactor derivation (differentiate's `cofactors`) builds it: the evaluators fall back to
 * it where the form with A⁻¹ meets a singular matrix (see derive.ts, `singularNode`).
 */
export interface Adj3Node extends Common {
  readonly kind: 'adj3';
  readonly arg: Node;
}
/**
 * A part of adj2(A) as the compiled evaluator computes it (compile/kernels/adjugateParts.ts):
 * the matrices Q, P, R and the scalars d = det(A), k of
 * adj2 = d·f(Q, Q) + f(Q, P) + f(P, Q) + k·f(R, R). They depend on the pivoting, so they are not
 * functions of A alone that could be differentiated or printed: only the planner's expansion of
 * adj2 (compile/adjugates.ts) builds them, after simplification.
 */
export interface AdjPartNode extends Common {
  readonly kind: 'adjpart';
  readonly arg: Node;
  readonly part: AdjPart;
}
export type AdjPart = 'Q' | 'P' | 'R' | 'd' | 'k';

/**
 * A matrix power kept as a power. Without directions it is base^exp (exp ≥ 2). With directions
 * E_1..E_m (each of shape [n, n, …batch_t]) it is the m-th Fréchet derivative of A^k in them,
 *   P(A, k; E_1..E_m) = Σ_σ Σ_{a_0+…+a_m = k−m} A^{a_0} E_σ1 A^{a_1} ⋯ E_σm A^{a_m}
 * over the orders σ of the directions, of shape [n, n, batch_1…, batch_m]: its derivative adds one
 * direction (one term, where the ordered sums would need one per place). Built only by makeMatPow,
 * which keeps exp > m and the directions in canonical order.
 */
export interface MatPowNode extends Common {
  readonly kind: 'mpow';
  readonly base: Node;
  readonly exp: number;
  readonly dirs: readonly Node[];
}

/**
 * Reshaping for vec and kron: each output axis is a group of consecutive axes of arg, merged
 * column-major (the group's first axis varies fastest: index i0 + n0·i1), as vec() stacks columns.
 */
export interface MergeNode extends Common {
  readonly kind: 'merge';
  readonly arg: Node;
  /** How many axes of arg make each output axis (each ≥ 1; they add up to arg's rank). */
  readonly groups: readonly number[];
}

export type Node =
  | MergeNode
  | VarNode
  | ConstNode
  | DeltaNode
  | AddNode
  | MulNode
  | ElemNode
  | PowNode
  | PowvNode
  | InvNode
  | DetNode
  | LogdetNode
  | LogsumexpNode
  | AdjNode
  | Adj2Node
  | Adj3Node
  | AdjPartNode
  | MatPowNode;

export type NodeKind = Node['kind'];
export type NodeOf<K extends NodeKind> = Extract<Node, { kind: K }>;

// ---------------------------------------------------------------------------------------------
// Interning

const table = new Map<string, Node>();
let nextId = 1;

type Fields<N extends Node> = N extends Node ? Omit<N, 'id' | 'key' | 'h'> : never;

function intern<N extends Node>(key: string, fields: Fields<N>): N {
  const hit = table.get(key);
  if (hit) return hit as N;
  const node = { ...fields, id: nextId++, key, h: structuralHash(fields as Fields<Node>) } as unknown as N;
  table.set(key, node);
  return node;
}

/** 53-bit string hash (two 32-bit multiplicative lanes). */
function hashString(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The mark of a held node in keys and hashes ('' where not held). */
const heldMark = (h: Held | undefined): string => (h === undefined ? '' : h === 'layer' ? 'h' : 'hd');

function structuralHash(f: Fields<Node>): number {
  const shape = f.shape.join('x');
  switch (f.kind) {
    case 'var':
      return hashString(`v|${f.name}|${f.symmetric}|${shape}`);
    case 'const':
      return hashString(`c|${f.value}|${shape}`);
    case 'delta':
      return hashString(`d|${shape}`);
    case 'add':
      return hashString(`+${f.held ? 'h' : ''}|${shape}|${f.terms.map((t) => `${t.coef}*${t.node.h}`).join(',')}`);
    case 'mul':
      return hashString(`*${f.held ? 'h' : ''}|${shape}|${f.factors.map((g) => `${g.node.h}:${g.labels.join('.')}`).join(',')}`);
    case 'elem':
      return hashString(`f|${f.fn}|${f.arg.h}`);
    case 'pow':
      return hashString(`^|${f.base.h}|${f.exp}`);
    case 'powv':
      return hashString(`^v|${f.base.h}|${f.exponent.h}`);
    case 'inv':
    case 'det':
    case 'logdet':
    case 'logsumexp':
    case 'adj':
    case 'adj2':
    case 'adj3':
      return hashString(`${f.kind}|${f.arg.h}`);
    case 'adjpart':
      return hashString(`adjpart|${f.part}|${f.arg.h}`);
    case 'merge':
      return hashString(`merge|${f.arg.h}|${f.groups.join('.')}|${shape}`);
    case 'mpow':
      return hashString(`mp|${f.base.h}|${f.exp}|${f.dirs.map((d) => d.h).join(',')}`);
  }
}

/** The canonical order of nodes: by structure, then (only for hash collisions) by identity. */
export function compareNodes(a: Node, b: Node): number {
  return a.h - b.h || a.id - b.id;
}

/** Number of interned nodes (for tests and benchmarks). */
export function internedCount(): number {
  return table.size;
}

export function rank(n: Node): number {
  return n.shape.length;
}

function shapeKey(shape: readonly Dim[]): string {
  return shape.join('x');
}

export function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export class InternalError extends Error {
  constructor(message: string) {
    super(`internal: ${message}`);
    this.name = 'InternalError';
  }
}

// ---------------------------------------------------------------------------------------------
// Leaves

export function makeVar(name: string, shape: readonly Dim[], symmetric = false): VarNode {
  const sym = symmetric && shape.length === 2 && shape[0] === shape[1];
  return intern(`v|${name}|${sym ? 1 : 0}|${shapeKey(shape)}`, {
    kind: 'var', name, shape: [...shape], symmetric: sym,
  });
}

export function ones(shape: readonly Dim[]): ConstNode {
  return intern(`c1|${shapeKey(shape)}`, { kind: 'const', value: 1, shape: [...shape] });
}

export function zeros(shape: readonly Dim[]): ConstNode {
  return intern(`c0|${shapeKey(shape)}`, { kind: 'const', value: 0, shape: [...shape] });
}

export function delta(n: Dim): DeltaNode {
  return intern(`d|${n}`, { kind: 'delta', shape: [n, n] });
}

export function isZero(n: Node): boolean {
  return n.kind === 'const' && n.value === 0;
}

/**
 * A negative power of an exact zero (1/(a - a) is 0^-1), itself or as a factor of a product: a
 * zero times it is undefined (0/0), not 0.
 */
function hasZeroPole(n: Node): boolean {
  if (n.kind === 'pow') return n.exp < 0 && isZero(n.base);
  if (n.kind !== 'mul') return false;
  // Memoized: nested products share their parts (a chain's derivative is a DAG of them).
  let hit = zeroPoleFactors.get(n);
  if (hit === undefined) zeroPoleFactors.set(n, (hit = n.factors.some((f) => hasZeroPole(f.node))));
  return hit;
}

const zeroPoleFactors = new WeakMap<Node, boolean>();

const poles = new WeakMap<Node, boolean>();

/**
 * Whether a node holds, anywhere, a negative power or the inverse of an exact zero: then it is
 * undefined everywhere (1/(x'*x - x'*x) is 0^-1, inv(A - A) is inv(matrix(0))).
 */
export function holdsZeroPole(n: Node): boolean {
  const hit = poles.get(n);
  if (hit !== undefined) return hit;
  const here = (n.kind === 'pow' && n.exp < 0 && isZero(n.base)) || (n.kind === 'inv' && isZero(n.arg));
  const r = here || children(n).some(holdsZeroPole);
  poles.set(n, r);
  return r;
}

/** The scalar zero kept as a factor next to a zero pole, so that 0·0^-1 stays 0/0. */
const ZERO_FACTOR = (): MFactor => ({ node: zeros([]), labels: [] });

/** A scalar constant c (as c times the scalar one). */
export function scalar(c: number): Node {
  return scale(c, ones([]));
}

/** The numeric value of a constant scalar node, or undefined. */
export function constantValue(n: Node): number | undefined {
  if (n.kind === 'const' && n.shape.length === 0) return n.value;
  if (n.kind === 'add' && n.terms.length === 1) {
    const t = n.terms[0]!;
    if (t.node.kind === 'const' && t.node.shape.length === 0) return t.coef * t.node.value;
  }
  return undefined;
}

/** Splits a node into coefficient × core (the core is never a one-term sum). */
export function splitCoef(n: Node): [number, Node] {
  if (n.kind === 'add' && n.terms.length === 1) return [n.terms[0]!.coef, n.terms[0]!.node];
  return [1, n];
}

/**
 * The factors of a product with nested products (also scaled ones, c·P) written out, their summed
 * labels renamed apart; keep(f) leaves a nested product f whole. makeMul keeps long products
 * nested, so that deep chains stay a DAG; a reader of the product graph wants every factor.
 */
export function expandedFactors(n: MulNode, keep: (f: Factor) => boolean = () => false): Factor[] {
  return expandFactorList(n.factors, n.nlabels, keep)!;
}

/** expandedFactors of a list of factors whose labels are all below next. */
function expandFactorList(factors: readonly Factor[], next: number, keep: (f: Factor) => boolean = () => false, limit = Infinity): Factor[] | undefined {
  const out: Factor[] = [];
  const visit = (fac: Factor): void => {
    if (out.length > limit) return;
    const [c, core] = splitCoef(fac.node);
    if (core.kind !== 'mul' || core.held || keep(fac)) {
      out.push(fac);
      return;
    }
    if (c !== 1) out.push({ node: scalar(c), labels: [] });
    const map = new Map<number, number>(fac.labels.map((l, i) => [i, l]));
    const relabel = (l: number): number => {
      let m = map.get(l);
      if (m === undefined) map.set(l, (m = next++));
      return m;
    };
    for (const g of core.factors) visit({ node: g.node, labels: g.labels.map(relabel) });
  };
  for (const fac of factors) visit(fac);
  return out.length > limit ? undefined : out;
}

/**
 * The scalar s where n is s broadcast over its axes (s·1: the exponent of x.^a is a·1), or
 * undefined: a constant, a product of scalar factors and ones on distinct axes, or a sum of such.
 */
export function broadcastScalar(n: Node): Node | undefined {
  const rank = n.shape.length;
  if (rank === 0) return n;
  if (n.kind === 'const') return scalar(n.value);
  if (n.kind === 'add') {
    const terms = n.terms.map((t) => ({ coef: t.coef, s: broadcastScalar(t.node) }));
    if (terms.some((t) => t.s === undefined)) return undefined;
    return makeAdd(terms.map((t) => ({ coef: t.coef, node: t.s! })), []);
  }
  if (n.kind !== 'mul' || n.nlabels !== rank) return undefined;
  const scalars = n.factors.filter((f) => f.labels.length === 0);
  const rest = n.factors.filter((f) => f.labels.length > 0);
  const onesOnAxes = rest.every((f) => f.node.kind === 'const' && f.node.value === 1 && f.labels.length === 1);
  if (!onesOnAxes || new Set(rest.map((f) => f.labels[0])).size !== rest.length) return undefined;
  return makeMul(scalars.map((f) => ({ node: f.node, labels: [] })), 0);
}

// ---------------------------------------------------------------------------------------------
// Sums

export function makeAdd(terms: readonly Term[], shape: readonly Dim[], held?: Held): Node {
  const out = pairComplements(collectTerms(terms, shape), shape);
  // A transposed (or otherwise re-indexed) sum among the terms is expanded where its terms then
  // cancel or merge with the others: (A - A') + (A - A')' is 0.
  if (out.some((t) => isViewOfSum(t.node))) {
    const flat = collectTerms(out.flatMap(expandView), shape);
    if (flat.length < out.length) return finishAdd(flat, shape, held);
  }
  return finishAdd(out, shape, held);
}

/**
 * A where clause's sum or product, held whole where it is used in other sums or products
 * (AddNode.held, MulNode.held); any other node as it is.
 */
export function hold(n: Node, why: Held = 'layer'): Node {
  if (n.kind === 'add' && !n.held && n.terms.length > 1) return makeAdd(n.terms, n.shape, why);
  if (n.kind === 'mul' && !n.held) return intern(`${heldMark(why)}${n.key}`, { kind: 'mul', factors: n.factors, nlabels: n.nlabels, shape: n.shape, held: why });
  return n;
}

/**
 * A where clause's value held (hold); where it is a multiple of a product, the product:
 * (exp(A').^A - t'./S')*t lowers as -(t'./S' - exp(A').^A)*t, a one-term sum that hold leaves as
 * it is, and the layers above then multiply out the product they use (the Hessian of five such
 * layers printed 24,158 characters, 2,363 with the product held).
 */
export function holdLayer(n: Node, why: Held = 'layer'): Node {
  const [only] = n.kind === 'add' && n.terms.length === 1 ? n.terms : [];
  return only?.node.kind === 'mul' ? makeAdd([{ coef: only.coef, node: hold(only.node, why) }], n.shape) : hold(n, why);
}

/** Whether a node is a held sum or product (a where clause's layer, or one that differentiation shares). */
export function isHeld(n: Node): n is (AddNode | MulNode) & { readonly held: Held } {
  return (n.kind === 'add' || n.kind === 'mul') && n.held !== undefined;
}

const chained = new WeakMap<Node, boolean>();

/** Whether a node holds, anywhere below itself, a held sum or product (a where clause's layer). */
function holdsHeld(n: Node): boolean {
  const hit = chained.get(n);
  if (hit !== undefined) return hit;
  const r = children(n).some((c) => isHeld(c) || holdsHeld(c));
  chained.set(n, r);
  return r;
}

/**
 * Whether the factors of a product may be spread out of it (by a power, abs or sign): always,
 * but for a where clause's product whose factors hold an earlier layer. That one stays whole, a
 * link of a chain: t.*t with t = t0.^2.*exp(softmax(t0)) spread into t0.^4.*exp(softmax(t0)).^2
 * makes every layer a product of all the layers below it, whose derivatives then have a term per
 * layer. A layer of factors of its own (y.^-2.*x.^-2, b./(B'.*A)) still spreads, so that the next
 * layer's factors merge and cancel with it.
 */
function spreads(n: MulNode): boolean {
  return !n.held || !holdsHeld(n);
}

/**
 * `out` held where `from` is (a node rebuilt from a held one, by mapChildren or by a rewrite rule:
 * the layer t + tanh(A*t).*t factored into (1 + tanh(A*t)).*t stays one node).
 */
export function keepHeld(from: Node, out: Node): Node {
  return isHeld(from) ? holdLayer(out, from.held) : out;
}

/** A product with one factor, a sum: a transpose, diagonal, trace or axis sum of it. */
function isViewOfSum(n: Node): n is MulNode {
  return n.kind === 'mul' && n.factors.length === 1 && n.factors[0]!.node.kind === 'add';
}

/** The terms of a re-indexed sum, each re-indexed (any other term as it is). */
function expandView(t: Term): Term[] {
  if (!isViewOfSum(t.node)) return [t];
  const { node: sum, labels } = t.node.factors[0]!;
  return viewTerms(sum as AddNode, labels, t.node.shape.length, t.coef);
}

/** coef · (the terms of `sum`, each taken on `labels` in a product of rank `rank`). */
function viewTerms(sum: AddNode, labels: readonly number[], rank: number, coef: number): Term[] {
  return sum.terms.map((u) => ({ coef: coef * u.coef, node: makeMul([{ node: u.node, labels }], rank) }));
}

function finishAdd(out: Term[], shape: readonly Dim[], held: Held | undefined): Node {
  if (out.length === 0) return zeros(shape);
  if (out.length === 1 && out[0]!.coef === 1) return out[0]!.node;
  out.sort((a, b) => compareNodes(a.node, b.node));
  const kept = out.length > 1 ? held : undefined;
  const key = `+${heldMark(kept)}|${shapeKey(shape)}|${out.map((t) => `${t.coef}*${t.node.id}`).join(',')}`;
  return intern(key, kept ? { kind: 'add', terms: out, shape: [...shape], held: kept } : { kind: 'add', terms: out, shape: [...shape] });
}

/**
 * Functions of u and -u that add up to what does not need them: c·sigmoid(u) + c·sigmoid(-u) is
 * c, c·softplus(u) - c·softplus(-u) and c·relu(u) - c·relu(-u) are c·u, c·relu(u) + c·relu(-u) is
 * c·abs(u) (the derivative of softplus(a) - softplus(-a), which is a, was sigmoid(-a) +
 * sigmoid(a)). The terms as they were where no pair is found.
 */
function pairComplements(out: Term[], shape: readonly Dim[]): Term[] {
  const fnOf = (t: Term): ElemFn | undefined => (t.node.kind === 'elem' && COMPLEMENTS.has(t.node.fn) ? t.node.fn : undefined);
  if (out.filter((t) => fnOf(t) !== undefined).length < 2) return out;
  for (let i = 0; i < out.length; i++) {
    const fn = fnOf(out[i]!);
    if (!fn) continue;
    const { coef, node } = out[i]!;
    const u = (node as ElemNode).arg;
    const other = makeElem(fn as ElementwiseFn, neg(u));
    for (const [sign, pair] of COMPLEMENTS.get(fn)!) {
      const j = out.findIndex((t, k) => k !== i && t.node === other && t.coef === sign * coef);
      if (j < 0) continue;
      const rest = out.filter((_, k) => k !== i && k !== j);
      return pairComplements(collectTerms([...rest, { coef, node: pair(u, shape) }], shape), shape);
    }
  }
  return out;
}

/** f(u) + s·f(-u) for each f: the sign s of the pair and what c·f(u) + s·c·f(-u) is over c. */
const COMPLEMENTS = new Map<ElemFn, readonly (readonly [1 | -1, (u: Node, shape: readonly Dim[]) => Node])[]>([
  ['sigmoid', [[1, (_, shape) => ones(shape)]]],
  ['softplus', [[-1, (u) => u]]],
  ['relu', [[-1, (u) => u], [1, (u) => makeElem('abs', u)]]],
]);

/** Nested sums flattened, like terms collected (round-off of cancelling coefficients dropped). */
function collectTerms(terms: readonly Term[], shape: readonly Dim[]): Term[] {
  const coefs = new Map<Node, number>();
  // Σ|c| of the coefficients collected onto each node, to tell round-off from a small coefficient.
  const magnitude = new Map<Node, number>();
  const push = (coef: number, node: Node): void => {
    // 0·(x/0) is undefined, not 0: the zero stays a factor of the term.
    if (coef === 0 && hasZeroPole(node)) [coef, node] = [1, makeMul([ZERO_FACTOR(), { node, labels: node.shape.map((_, i) => i) }], node.shape.length)];
    if (coef === 0 || isZero(node)) return;
    if (!sameShape(node.shape, shape)) throw new InternalError(`add: term shape ${node.shape} differs from ${shape}`);
    if (node.kind === 'add' && !node.held) {
      for (const t of node.terms) push(coef * t.coef, t.node);
      return;
    }
    coefs.set(node, (coefs.get(node) ?? 0) + coef);
    magnitude.set(node, (magnitude.get(node) ?? 0) + Math.abs(coef));
  };
  for (const t of terms) push(t.coef, t.node);
  const out: Term[] = [];
  for (const [node, coef] of coefs) {
    // What is left of cancelling coefficients (0.1 + 0.2 - 0.3) is round-off, not a term; a small
    // coefficient next to large ones of other terms (1e20*a + b) is a term.
    if (!isRoundOff(coef, magnitude.get(node)!)) out.push({ coef, node });
  }
  return out;
}

/** Whether a sum of coefficients whose magnitudes add up to `magnitude` is 0 up to round-off. */
export function isRoundOff(sum: number, magnitude: number): boolean {
  return Math.abs(sum) <= 16 * Number.EPSILON * magnitude;
}

export function scale(c: number, n: Node): Node {
  if (c === 1) return n;
  return makeAdd([{ coef: c, node: n }], n.shape);
}

export function plus(...ns: Node[]): Node {
  if (ns.length === 0) throw new InternalError('plus of nothing');
  return makeAdd(
    ns.map((node) => ({ coef: 1, node })),
    ns[0]!.shape,
  );
}

export function minus(a: Node, b: Node): Node {
  return makeAdd(
    [
      { coef: 1, node: a },
      { coef: -1, node: b },
    ],
    a.shape,
  );
}

export function neg(a: Node): Node {
  return scale(-1, a);
}

// ---------------------------------------------------------------------------------------------
// Products

interface MFactor {
  node: Node;
  labels: number[];
}

function labelSizes(fs: readonly Factor[]): Map<number, Dim> {
  const sizes = new Map<number, Dim>();
  for (const f of fs) {
    if (f.labels.length !== f.node.shape.length)
      throw new InternalError(`mul: factor of rank ${f.node.shape.length} has ${f.labels.length} labels`);
    f.labels.forEach((l, i) => {
      const d = f.node.shape[i]!;
      const prev = sizes.get(l);
      if (prev === undefined) sizes.set(l, d);
      else if (prev !== d) throw new InternalError(`mul: label ${l} has sizes ${prev} and ${d}`);
    });
  }
  return sizes;
}

/**
 * The product of factors, einsum-style: the result's axis r is label r (r < rank); every other
 * label is summed. Labels of the input may be any integers.
 */
/**
 * A nested product is flattened into its parent while the parent has at most this many factors.
 * Below it, equal products are one node whatever their grouping; above it, a long chain stays a
 * product of products, so that a derivative shares the chain's parts instead of copying them.
 */
const MAX_FLAT_FACTORS = 8;
/** How many factors of nested products mergeScalarParts reads at most. */
const MAX_SCALAR_PART_FACTORS = 48;
/**
 * mergeScalarParts reads the scalars inside nested products, merges them and makes the product
 * flat, only where the product has at most this many factors (deltas and ones not counted); a
 * longer one keeps its nested products, which the terms of a chain's derivative share. Merging
 * there made every term a flat product of its own, the third derivative of sum(log(vector(1) +
 * a*(…).^2)) of depth 32 337,809 characters long (91 s). Measured on the first 10,000 fuzz draws
 * of seed 1 and the chains of test/ir/chains.test.ts: at 12, 4 forms change (1 shorter, 3 longer,
 * 31 characters in all); at 16, 2 (9 characters), the chains 18 % longer; at 24, none, the chains
 * 74 % longer.
 */
const MAX_MERGED_FLAT_FACTORS = 12;

/** makeMul's results by their exact input: canonicalizing is far dearer than looking up. */
const mulMemo = new Map<string, Node>();

export function makeMul(input: readonly Factor[], rank: number): Node {
  const memoKey = `${rank}|${input.map((f) => `${f.node.id}:${f.labels.join('.')}`).join(',')}`;
  const hit = mulMemo.get(memoKey);
  if (hit) return hit;
  const out = viewOfSumCancelled(input, rank) ?? buildMul(input, rank);
  mulMemo.set(memoKey, out);
  return out;
}

/**
 * A diagonal, trace or transpose of a sum whose re-indexed terms cancel or merge: that shorter
 * sum (diag(A' - A) is 0, tr(A - A') is 0); null where they do not, and the view stays whole.
 */
function viewOfSumCancelled(input: readonly Factor[], rank: number): Node | null {
  if (input.length !== 1 || input[0]!.node.kind !== 'add') return null;
  const { node: sum, labels } = input[0]!;
  const viewed = viewTerms(sum as AddNode, labels, rank, 1);
  const shape = viewed[0]!.node.shape;
  const flat = collectTerms(viewed, shape);
  return flat.length < viewed.length ? finishAdd(flat, shape, undefined) : null;
}

function buildMul(input: readonly Factor[], rank: number): Node {
  const sizes = labelSizes(input);
  const outShape: Dim[] = [];
  for (let r = 0; r < rank; r++) {
    const d = sizes.get(r);
    if (d === undefined) throw new InternalError(`mul: output label ${r} is in no factor`);
    outShape.push(d);
  }
  let next = rank;
  for (const l of sizes.keys()) next = Math.max(next, l + 1);

  // 1. Flatten nested products (up to a size, so that deep chains stay a DAG of nested products
  //    instead of being copied into ever longer flat ones), pull coefficients out, split constant
  //    tensors into vectors of ones.
  let coef = 1;
  let zero = false;
  const fs: MFactor[] = [];
  let work: MFactor[] = input.map((f) => ({ node: f.node, labels: [...f.labels] }));
  while (work.length > 0) {
    const nested: { f: MFactor; n: MulNode }[] = [];
    const powered = work.some((f) => f.node.kind === 'mul') ? poweredBases(work) : NO_KEYS;
    for (let w = 0; w < work.length; w++) {
      const f = work[w]!;
      const n = f.node;
      // A merge of zeros (kron(z', 0*y'), which stays a merge for its sizes) is a zero factor too.
      const zeroMerge = n.kind === 'merge' && isZero(n.arg);
      if (n.kind === 'const' || zeroMerge) {
        zero ||= zeroMerge || (n.kind === 'const' && n.value === 0);
        for (let a = 0; a < n.shape.length; a++) fs.push({ node: ones([n.shape[a]!]), labels: [f.labels[a]!] });
        continue;
      }
      if (n.kind === 'add' && n.terms.length === 1) {
        coef *= n.terms[0]!.coef;
        work.push({ node: n.terms[0]!.node, labels: f.labels });
        continue;
      }
      if (n.kind === 'add' && n.held !== 'layer') {
        // A sum factor whose terms share a coefficient magnitude gives it to the product: (½A + ½A')x
        // = ½(A + A')x. Of s and -s the factor is the canonical one (prefersNegation), as for integer
        // powers and odd functions, and the product takes the sign:
        // (-1 - a)·b = -(1 + a)·b, and (x - y)·(y - x)' = -(x - y)·(x - y)'. A where clause's sum
        // stays as the input wrote it: its rewritten copy is not held, and the layer above would
        // flatten it into its own sum (2*t - sin(t) layers grew by a term per layer).
        const k = sharedCoef(n) * (prefersNegation(n) ? -1 : 1);
        if (k !== 1) {
          coef *= k;
          fs.push({ node: makeAdd(n.terms.map((t) => ({ coef: t.coef / k, node: t.node })), n.shape), labels: f.labels });
          continue;
        }
      }
      // A product that another factor raises to a power on the same labels stays whole, so that
      // the two merge in step 3 (s·s^-1 → 1 for s = x'*x, (A*B).*(A*B).^2 → (A*B).^3).
      if (n.kind === 'mul' && !n.held && !powered.has(factorKey(n, f.labels))) nested.push({ f, n });
      else fs.push(f);
    }
    work = [];
    // Smallest first, in canonical order, so the choice does not depend on the order of the input.
    nested.sort((a, b) => a.n.factors.length - b.n.factors.length || compareNodes(a.n, b.n));
    let total = fs.length + nested.length;
    // Counted once, and only where a nested product stays whole (closedNested needs them).
    let carriers: Map<number, number> | undefined;
    const others = fs.length;
    for (const { f, n } of nested) {
      const k = n.factors.length;
      if (k > 1 && total - 1 + k > MAX_FLAT_FACTORS) {
        carriers ??= labelCarriers([...fs.slice(0, others), ...nested.map((x) => x.f)]);
        // A nested product alone is already the closed form closedNested would build: made again,
        // it would be made again without end (the third derivative of det(S*y*(kron(y', y')*…)
        // *sum(z)*(…)' + eye) by z, fuzz seed 25).
        const alone = others === 0 && nested.length === 1;
        fs.push((!alone && closedNested(f, n, rank, carriers)) || f);
        continue;
      }
      total += k - 1;
      const map = new Map<number, number>();
      for (let i = 0; i < n.shape.length; i++) map.set(i, f.labels[i]!);
      for (const g of n.factors) {
        work.push({
          node: g.node,
          labels: g.labels.map((l) => {
            let m = map.get(l);
            if (m === undefined) {
              m = next++;
              map.set(l, m);
            }
            return m;
          }),
        });
      }
    }
  }
  // A zero factor makes the product 0, unless another factor is a pole of zero (0·0^-1 = 0/0).
  if (zero) {
    if (!fs.some((f) => hasZeroPole(f.node))) return zeros(outShape);
    fs.push(ZERO_FACTOR());
  }
  if (coef === 0) return zeros(outShape);

  // det(M)·M⁻¹ is adj(M), which unlike the product is defined where M is singular;
  // det(M)^-1·adj(M) is M⁻¹ again (both need det(M) ≠ 0).
  foldAdjugates(fs);

  // 2. Contract identity deltas: δ_ab with a summed renames a to b (or is a vector of ones).
  contractDeltas(fs, rank);

  // 2b. Chains of powers of one base are one power: A*A*A → A^3, tr(A^2*A) → tr(A^3).
  foldPowerChains(fs, rank);

  // 2c. Equal scalar parts are a power: x'x·x'x → (x'x)^2, (Σx)·(Σx)^-1 → 1.
  const partSign = mergeScalarParts(fs, rank);
  if (partSign !== undefined) return scale(coef * partSign, makeMul(fs, rank));

  // 2d. Factors that write out the base of a power factor are one more power of it:
  // A_ip x_p (A_iq x_q)^-2 → (A_iq x_q)^-1.
  if (mergeWrittenBases(fs, rank)) return scale(coef, makeMul(fs, rank));

  // 2e. sign(|u|) is 1 but where u = 0: beside a factor that is 0 there too it is 1.
  dropZeroIndicators(fs);

  // 3. Equal factors on the same labels are a power: x_i x_i (i free) → (x.^2)_i, s·s^-1 → 1;
  // with nodes in the exponents, b^(n - 1)·b = b^n and u^(a - 3)·u = u^(a - 2).
  const symbolicSign = mergeSymbolicPowers(fs);
  if (symbolicSign !== undefined) return scale(coef * symbolicSign, makeMul(fs, rank));
  const merged = mergePowers(fs, rank);
  if (merged !== undefined) return scale(coef * merged, makeMul(fs, rank));

  // 3a. exp(u)^a·exp(-u)^a on the same labels is 1: exp(x).*exp(-x) is vector(1).
  if (cancelExpPairs(fs)) return scale(coef, fs.length === 0 ? scalar(1) : makeMul(fs, rank));

  // 3b. exp(k·u)^a·sigmoid(-u)^b = sigmoid(u)^c·sigmoid(-u)^(b - c) for 0 < c = k·a ≤ b: e/(e + 1)
  // is sigmoid(u), finite where e overflows (exp(x)./(exp(x) + vector(1)) and its derivatives).
  if (mergeLogisticQuotients(fs)) return scale(coef, makeMul(fs, rank));
  // 3c. exp(u)·sum(exp(u))^-1 = softmax(u), and so for more factors exp(u) and a higher power of the sum.
  if (mergeSoftmaxQuotients(fs)) return scale(coef, makeMul(fs, rank));

  // 4. A vector of ones on a label that another factor carries is a factor 1.
  removeRedundantOnes(fs);

  // 4b. Σ_i u_i² is the contraction Σ_i u_i u_i, as u'*u and norm2(u)^2 are: sum(x.^2) - x'*x is 0.
  if (splitSummedSquares(fs, rank)) return scale(coef, makeMul(fs, rank));

  // 4c. softmax(u) summed over all its entries, by nothing else, is 1: sum(softmax(x)) and
  // vector(1)'*softmax(A*x) are 1, and their derivatives 0.
  if (dropSummedSoftmax(fs, rank)) return scale(coef, fs.length === 0 ? scalar(1) : makeMul(fs, rank));

  if (fs.length === 0) return scalar(coef);
  if (fs.length === 1 && fs[0]!.labels.length === rank && fs[0]!.labels.every((l, i) => l === i))
    return scale(coef, fs[0]!.node);

  const { factors, nlabels } = canonicalize(fs, rank);
  // A symmetric factor's slots are sorted: S_ji is S_ij, the factor itself.
  if (factors.length === 1 && factors[0]!.labels.length === rank && factors[0]!.labels.every((l, i) => l === i))
    return scale(coef, factors[0]!.node);
  const canonicalInput = `${rank}|${factors.map((f) => `${f.node.id}:${f.labels.join('.')}`).join(',')}`;
  const node = intern<MulNode>(`*|${canonicalInput}`, { kind: 'mul', factors, nlabels, shape: outShape });
  // Rebuilding a product from its own factors (mapChildren with unchanged children) is a lookup.
  mulMemo.set(canonicalInput, node);
  return scale(coef, node);
}

/** How many factors carry each label. */
function labelCarriers(fs: readonly MFactor[]): Map<number, number> {
  const count = new Map<number, number>();
  for (const f of fs) for (const l of new Set(f.labels)) count.set(l, (count.get(l) ?? 0) + 1);
  return count;
}

/**
 * A nested product kept whole whose labels are all summed and carried by no other factor, as the
 * scalar it sums to: Σ_uv T_uv for T_uv = Σ_wa inv_wv adj_ua is one node whichever way T names its
 * indices, so that two such terms meet (adj⊗inv − adj⊗inv summed over every entry is 0).
 */
function closedNested(f: MFactor, n: MulNode, rank: number, carriers: ReadonlyMap<number, number>): MFactor | undefined {
  if (f.labels.length === 0 || f.labels.some((l) => l < rank || carriers.get(l) !== 1)) return undefined;
  const own = [...new Set(f.labels)];
  return { node: makeMul([{ node: n, labels: f.labels.map((l) => own.indexOf(l)) }], 0), labels: [] };
}

/**
 * Factors sign(|u|), which are 1 where u ≠ 0 and 0 where u = 0, dropped where another factor on
 * the same labels is 0 wherever u is: u, |u|, sign(u), or a positive power of u or |u|
 * (sign(|x|).*sign(x) is sign(x), abs(u)^3*sign(abs(u)) is abs(u)^3; the derivative of
 * abs(v).*sign(v) for a non-negative v left them).
 */
function dropZeroIndicators(fs: MFactor[]): void {
  const zeroWith = (g: Node, u: Node): boolean => {
    if (g === u) return true;
    if (g.kind === 'elem' && (g.fn === 'abs' || g.fn === 'sign') && g.arg === u) return true;
    return g.kind === 'pow' && g.exp > 0 && (g.base === u || (g.base.kind === 'elem' && g.base.fn === 'abs' && g.base.arg === u));
  };
  for (let k = fs.length - 1; k >= 0; k--) {
    const f = fs[k]!;
    if (f.node.kind !== 'elem' || f.node.fn !== 'sign' || f.node.arg.kind !== 'elem' || f.node.arg.fn !== 'abs') continue;
    const u = f.node.arg.arg;
    if (fs.some((g, j) => j !== k && sameLabels(g.labels, f.labels) && zeroWith(g.node, u))) fs.splice(k, 1);
  }
}

/**
 * A factor u.^2 whose labels are all summed and carried by no other factor (Σ_i u_i², the sum of
 * x.^2 or of (A*x).^2) written as the contraction Σ_i u_i u_i, the form x'*x, norm2(x)^2 and
 * (A*x)'*(A*x) have, so that they meet. Whether one was split (fs is rewritten in place).
 */
function splitSummedSquares(fs: MFactor[], rank: number): boolean {
  const k = fs.findIndex(
    (f, i) =>
      f.node.kind === 'pow' &&
      f.node.exp === 2 &&
      f.labels.length > 0 &&
      new Set(f.labels).size === f.labels.length &&
      f.labels.every((l) => l >= rank && fs.every((g, j) => j === i || !g.labels.includes(l))),
  );
  if (k < 0) return false;
  const f = fs[k]!;
  const base = (f.node as PowNode).base;
  fs.splice(k, 1, { node: base, labels: [...f.labels] }, { node: base, labels: [...f.labels] });
  return true;
}

/**
 * A power factor B^e of a contraction B (a product with summed labels: A*x, x'*S) whose factors
 * the product also has, written out on the same labels, becomes B^(e+1) in their place:
 * A_ip x_p (A_iq x_q)^-2 → (A_iq x_q)^-1, which the derivative of (-A*x)./(-A*x) needs to cancel.
 * B's summed labels must be summed here too and carried by no factor but the matched ones. Whether
 * anything merged (fs is rewritten in place).
 */
function mergeWrittenBases(fs: MFactor[], rank: number): boolean {
  let changed = false;
  for (let k = 0; k < fs.length; k++) {
    const f = fs[k]!;
    if (f.node.kind !== 'pow') continue;
    const base = f.node.base;
    if (base.kind !== 'mul' || base.nlabels <= base.shape.length || base.factors.length > MAX_FLAT_FACTORS) continue;
    const found = findWrittenOut(base, new Map(base.shape.map((_, i) => [i, f.labels[i]!])), fs, k, rank);
    if (!found) continue;
    const rest = fs.filter((_, j) => j !== k && !found.used.includes(j));
    rest.push({ node: makePow(base, f.node.exp + 1), labels: f.labels });
    fs.length = 0;
    fs.push(...rest);
    changed = true;
    k = -1; // start over: the base may be written out again
  }
  return changed;
}

/**
 * Where the product `base` stands written out among the factors fs (all but fs[skip]): each of its
 * factors matched to one of fs, `fixed` giving the labels of fs that some of base's labels take.
 * The rest of base's free labels take any labels, its summed labels summed labels of fs that no
 * factor but the matched ones carries; a symmetric matrix's slots may stand in either order (a
 * product sorts them). The matched factors and the whole map of labels, or undefined.
 */
export function findWrittenOut(
  base: MulNode,
  fixed: ReadonlyMap<number, number>,
  fs: readonly Factor[],
  skip: number,
  rank: number,
): { used: number[]; map: Map<number, number> } | undefined {
  const map = new Map(fixed);
  const used: number[] = [];
  const place = (t: number): boolean => {
    if (t === base.factors.length) return true;
    const want = base.factors[t]!;
    for (let k = 0; k < fs.length; k++) {
      const cand = fs[k]!;
      if (k === skip || used.includes(k) || cand.node !== want.node) continue;
      for (const labels of isSymmetric(cand.node) && cand.labels.length === 2 ? [cand.labels, [cand.labels[1]!, cand.labels[0]!]] : [cand.labels]) {
        const added: number[] = [];
        const fits = want.labels.every((l, s) => {
          const o = labels[s]!;
          const m = map.get(l);
          if (m !== undefined) return m === o;
          if ((l >= base.shape.length && o < rank) || [...map.values()].includes(o)) return false;
          map.set(l, o);
          added.push(l);
          return true;
        });
        if (fits) {
          used.push(k);
          if (place(t + 1)) return true;
          used.pop();
        }
        for (const l of added) map.delete(l);
      }
    }
    return false;
  };
  if (!place(0)) return undefined;
  const summed = new Set([...map].filter(([l]) => l >= base.shape.length).map(([, o]) => o));
  return fs.some((g, k) => !used.includes(k) && g.labels.some((l) => summed.has(l))) ? undefined : { used, map };
}

/**
 * A factor det(M)^k with a factor M⁻¹, k a positive integer → det(M)^(k−1)·adj(M);
 * a factor det(M)^k with a factor adj(M), k < 0 → det(M)^(k+1)·M⁻¹ (the same domain: det(M) ≠ 0).
 */
function foldAdjugates(fs: MFactor[]): void {
  for (let k = 0; k < fs.length; k++) {
    const d = fs[k]!.node;
    const [m, exp] = d.kind === 'det' ? [d.arg, 1] : d.kind === 'pow' && d.base.kind === 'det' ? [d.base.arg, d.exp] : [undefined, 0];
    if (m === undefined) continue;
    const toAdj = Number.isInteger(exp) && exp >= 1;
    if (!toAdj && exp >= 0) continue;
    const from = toAdj ? 'inv' : 'adj';
    const i = fs.findIndex((f) => f.node.kind === from && f.node.arg === m);
    if (i < 0) continue;
    fs[i] = { node: toAdj ? makeAdj(m) : makeInv(m), labels: fs[i]!.labels };
    const rest = toAdj ? exp - 1 : exp + 1;
    if (rest === 0) fs.splice(k, 1);
    else fs[k] = { node: makePow(makeDet(m), rest), labels: [] };
    k = -1; // start over: more pairs may remain
  }
}

function contractDeltas(fs: MFactor[], rank: number): void {
  const occurs = (label: number, except: MFactor): boolean =>
    fs.some((g) => g !== except && g.labels.includes(label));
  const rename = (from: number, to: number): void => {
    for (const g of fs) for (let i = 0; i < g.labels.length; i++) if (g.labels[i] === from) g.labels[i] = to;
  };
  let changed = true;
  while (changed) {
    changed = false;
    for (let k = 0; k < fs.length; k++) {
      const f = fs[k]!;
      if (f.node.kind !== 'delta') continue;
      const [a, b] = f.labels as [number, number];
      const size = f.node.shape[0]!;
      if (a === b) {
        fs[k] = { node: ones([size]), labels: [a] };
        changed = true;
        continue;
      }
      const summedA = a >= rank;
      const summedB = b >= rank;
      if (!summedA && !summedB) {
        // Both free: the product is 0 off a = b, so the other factors read the smaller label
        // (δ_01·f(1,1) and δ_01·f(0,0) are one product, which must cancel: the derivative of
        // tr(arccos((A' - A).*A)), a constant, was their difference).
        const [keep, drop] = a < b ? [a, b] : [b, a];
        let renamed = false;
        for (const g of fs)
          if (g !== f)
            for (let i = 0; i < g.labels.length; i++)
              if (g.labels[i] === drop) {
                g.labels[i] = keep;
                renamed = true;
              }
        if (!renamed) continue;
        changed = true;
        break;
      }
      const [from, to] = summedA ? [a, b] : [b, a];
      if (occurs(from, f)) {
        fs.splice(k, 1);
        rename(from, to);
      } else {
        fs[k] = { node: ones([size]), labels: [to] };
      }
      changed = true;
      break;
    }
  }
}

/**
 * A factor seen as a power of u, of |u|, of sign(u), of relu(u) or of the step sign(relu(u)), for
 * merging equal bases on the same labels. u^a·|u|^b·sign(u)^c: with integer a this is
 * |u|^(a+b)·sign(u)^(a+c), since u^a = |u|^a·sign(u)^a.
 */
interface PowerPart {
  readonly base: Node;
  readonly of: 'u' | 'abs' | 'sign' | 'relu' | 'step';
  readonly exp: number;
  /** -1 when the factor is (-base)^exp = -base^exp (an odd power of a sum with the other sign). */
  readonly sign: number;
}

function powerPart(n: Node): PowerPart {
  const [core, exp] = n.kind === 'pow' ? [n.base, n.exp] : [n, 1];
  if (core.kind === 'elem' && core.fn === 'sign' && core.arg.kind === 'elem' && core.arg.fn === 'relu') return { base: core.arg.arg, of: 'step', exp, sign: 1 };
  if (core.kind === 'elem' && (core.fn === 'abs' || core.fn === 'sign' || core.fn === 'relu')) return { base: core.arg, of: core.fn, exp, sign: 1 };
  const flipped = Number.isInteger(exp) ? negatedSum(core) : undefined;
  if (flipped) return { base: flipped, of: 'u', exp, sign: exp % 2 === 0 ? 1 : -1 };
  return { base: core, of: 'u', exp, sign: 1 };
}

/**
 * The merged factors of u^a·|u|^b·sign(u)^c (all on the same labels), or undefined when nothing
 * merges. Sound at every u where the left side is defined: at u = 0 a negative power makes the left
 * side undefined and a positive one makes both sides 0; sign(u)^2 alone (0 at u = 0, not 1) stays.
 */
function mergeParts(parts: readonly PowerPart[]): Node[] | undefined {
  const base = parts[0]!.base;
  const sum = (of: PowerPart['of']): number => parts.reduce((t, p) => (p.of === of ? t + p.exp : t), 0);
  const [a, b, c] = [sum('u'), sum('abs'), sum('sign')];
  if (parts.every((p) => p.of === 'u')) return [makePow(base, a)];
  const gated = parts.some((p) => p.of === 'relu' || p.of === 'step');
  if (gated) return mergeGated(parts, a + b + sum('relu'));
  // For u ≥ 0, |u| is u and sign(u) is 0 or 1, which a positive power of u keeps:
  // exp(b)^2·sign(exp(b)) = exp(b)^2, sign(abs(x)).*abs(x) = abs(x).
  if (isNonNegative(base) && a + b >= 0) return [a + b === 0 ? makeElem('sign', base) : makePow(base, a + b)];
  if (!Number.isInteger(a) || !Number.isInteger(c)) return undefined;
  const P = a + b;
  const odd = ((a + c) % 2 + 2) % 2 === 1;
  const negative = parts.some((p) => p.exp < 0 && p.of !== 'sign');
  if (P === 0 && !negative) return odd ? [makeElem('sign', base)] : undefined;
  const even = isEvenInteger(P);
  if (Number.isInteger(P) && even !== odd) return [makePow(base, P)]; // |u|^P·sign(u)^P = u^P
  const magnitude = even ? makePow(base, P) : makePow(makeElem('abs', base), P);
  return odd ? [makeElem('sign', base), magnitude] : [magnitude];
}

/**
 * The merged factors of powers of u, |u|, sign(u), relu(u) and the step sign(relu(u)) (PowerPart)
 * with a relu or step among them. Where u < 0 a relu or step to a non-negative power is 0, and
 * where u > 0 every factor is a power of u, sign(u) being 1. So relu(u)^E for a total power
 * E ≥ 1 (relu(u)^2·sign(u) is relu(u)^2, u·sign(relu(u)) is relu(u)), the step for E = 0
 * (relu(u)/u), and the step times u^E for E < 0 (|u|^E for a fractional E, finite where u < 0).
 * Beside powers of u, |u| or sign(u), undefined for 0 < E < 1, whose relu(u)^E has a derivative
 * that is 0·∞ where u < 0 (relu(b)*abs(b)^-0.5 has the derivative 0 there), and where a relu or
 * step has a negative power (relu(u)^-1 is a pole, not 0, where u < 0).
 */
function mergeGated(parts: readonly PowerPart[], total: number): Node[] | undefined {
  const base = parts[0]!.base;
  const step = makeElem('sign', makeElem('relu', base));
  // relu(u) ≥ 0 with its step alone: the step is absorbed by any power but the 0th, as for u ≥ 0
  // in mergeParts (where u < 0, a negative power of relu(u) times the step is 0·∞ on either side).
  if (parts.every((p) => p.of === 'relu' || p.of === 'step'))
    return [total === 0 && parts.some((p) => p.of === 'step') ? step : makePow(makeElem('relu', base), total)];
  if (parts.some((p) => (p.of === 'relu' || p.of === 'step') && p.exp < 0)) return undefined;
  if (total >= 1) return [makePow(makeElem('relu', base), total)];
  if (total === 0) return [step];
  if (total > 0) return undefined;
  // Where u < 0 the step is 0 and the power must stay finite: u^-2, but |u|^-0.5 (u^-0.5 is NaN).
  return [step, makePow(Number.isInteger(total) ? base : makeElem('abs', base), total)];
}

/**
 * Whether a scalar node is an integer wherever it is defined: a constant 0 or 1, a size (Σ of ones
 * over an axis), and sums and products of those with integer coefficients (rows(A) - 1, 3*n).
 */
export function isIntegerValued(n: Node): boolean {
  if (n.shape.length !== 0) return false;
  if (n.kind === 'const') return true;
  if (n.kind === 'add') return n.terms.every((t) => Number.isInteger(t.coef) && isIntegerValued(t.node));
  if (n.kind === 'mul') return n.factors.every((f) => (f.node.kind === 'const' && f.node.value === 1) || (f.labels.length === 0 && isIntegerValued(f.node)));
  return false;
}

/** Whether a scalar node is an even integer wherever it is defined: 2·n for a size n. */
function isEvenValued(n: Node): boolean {
  const c = constantValue(n);
  if (c !== undefined) return Number.isInteger(c) && c % 2 === 0;
  return n.kind === 'add' && n.terms.every((t) => Number.isInteger(t.coef) && t.coef % 2 === 0 && isIntegerValued(t.node));
}

/** u as base^exponent (u^e for a node e, u^3, u), and whether the exponent is integer-valued. */
function symbolicPower(n: Node): { base: Node; exponent: Node; integer: boolean } {
  // An element-wise power's exponent has its base's shape (a·1 for a scalar a).
  const constant = (c: number): Node => scale(c, ones(n.shape));
  if (n.kind === 'powv') return { base: n.base, exponent: n.exponent, integer: isIntegerValued(n.exponent) };
  if (n.kind === 'pow') return { base: n.base, exponent: constant(n.exp), integer: Number.isInteger(n.exp) };
  return { base: n, exponent: constant(1), integer: true };
}

/**
 * Powers of one base on the same labels, one of them with a node in its exponent, merged:
 * u^e1·u^e2 = u^(e1 + e2). Exact wherever the product is defined and u ≠ 0 when at most one
 * exponent may be a non-integer (u^(a - 3)·u, b^(n - 1)·b with n a size): for u < 0 the merged
 * power is then defined exactly where that one factor is. Any exponents merge on a non-negative
 * base (at u = 0 to the limit from u > 0, where 0^a·0^b with a > 0 > b is NaN: a power of
 * norm1(X) that overflows times one that underflows, seed 61).
 * At u = 0 the product of a positive and a negative power is merged as mergePowers merges s·s^-1
 * into 1. A sum taken in its canonical sign (negatedSum) meets a symbolic power of its negation:
 * (b - a)^k·(a - b)^e = (-1)^k·(a - b)^(e + k). The sign the merge leaves (±1), or undefined
 * when nothing merged.
 */
function mergeSymbolicPowers(fs: MFactor[]): number | undefined {
  if (!fs.some((f) => f.node.kind === 'powv')) return undefined;
  // Symbolic bases by the key of their canonical sign, where that is their negation.
  const flippedBases = new Map<string, Node>();
  for (const f of fs) {
    if (f.node.kind !== 'powv') continue;
    const canonical = negatedSum(f.node.base);
    if (canonical) flippedBases.set(factorKey(canonical, f.labels), f.node.base);
  }
  let sign = 1;
  const parts = fs.map((f) => {
    const part = { ...symbolicPower(f.node), sign: 1 };
    const flipped = f.node.kind !== 'powv' && part.integer ? flippedBases.get(factorKey(part.base, f.labels)) : undefined;
    if (!flipped) return part;
    const k = f.node.kind === 'pow' ? f.node.exp : 1;
    return { ...part, base: flipped, sign: k % 2 === 0 ? 1 : -1 };
  });
  const groups = new Map<string, number[]>();
  parts.forEach((part, i) => {
    const key = factorKey(part.base, fs[i]!.labels);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const drop = new Set<number>();
  for (const members of groups.values()) {
    if (members.length < 2 || !members.some((m) => fs[m]!.node.kind === 'powv')) continue;
    const ps = members.map((m) => parts[m]!);
    const base = ps[0]!.base;
    if (isZero(base)) continue;
    if (ps.filter((p) => !p.integer).length > 1 && !isNonNegative(base)) continue;
    const exponent = makeAdd(ps.map((p) => ({ coef: 1, node: p.exponent })), base.shape);
    fs[members[0]!] = { node: makePowv(base, exponent), labels: fs[members[0]!]!.labels };
    for (const m of members.slice(1)) drop.add(m);
    for (const p of ps) sign *= p.sign;
  }
  if (drop.size === 0) return undefined;
  const kept = fs.filter((_, i) => !drop.has(i));
  fs.length = 0;
  fs.push(...kept);
  return sign;
}

const NO_KEYS: ReadonlySet<string> = new Set();

const factorKey = (base: Node, labels: readonly number[]): string => `${base.id}|${labels.join('.')}`;

/** The keys (base, labels) of the factors that are a power, |·| or sign of a product. */
function poweredBases(fs: readonly MFactor[]): Set<string> {
  const keys = new Set<string>();
  for (const f of fs) {
    if (f.node.kind !== 'pow' && f.node.kind !== 'elem') continue;
    const part = powerPart(f.node);
    if (part.base !== f.node && part.base.kind === 'mul') keys.add(factorKey(part.base, f.labels));
  }
  return keys;
}

function sameMultiset(a: readonly Node[], b: readonly Node[]): boolean {
  if (a.length !== b.length) return false;
  const ids = (ns: readonly Node[]): string => ns.map((n) => n.id).sort((x, y) => x - y).join(',');
  return ids(a) === ids(b);
}

/** The coefficient the merged factors carry (±1), or undefined when nothing merged. */
function mergePowers(fs: MFactor[], rank: number): number | undefined {
  if (fs.length < 2) return undefined;
  const groups = new Map<string, { parts: PowerPart[]; negative: boolean; members: number[] }>();
  fs.forEach((f, i) => {
    const part = powerPart(f.node);
    const key = factorKey(part.base, f.labels);
    let g = groups.get(key);
    if (!g) {
      g = { parts: [], negative: false, members: [] };
      groups.set(key, g);
    }
    g.parts.push(part);
    g.negative ||= part.exp < 0;
    g.members.push(i);
  });
  const drop = new Set<number>();
  let sign = 1;
  let changedAny = false;
  for (const g of groups.values()) {
    if (g.members.length < 2) continue;
    // 0·0^-1 is 0/0, undefined: powers of an exact zero do not merge.
    if (isZero(g.parts[0]!.base)) continue;
    const labels = fs[g.members[0]!]!.labels;
    const hadamard = labels.every((l) => l < rank);
    const plain = g.parts.every((p) => p.of === 'u') || g.parts.every((p) => p.of === 'relu');
    if (plain && !hadamard && !g.negative) continue; // Σ_i x_i x_i stays a contraction (x'*x)
    const merged = mergeParts(g.parts);
    if (!merged || sameMultiset(merged, g.members.map((m) => fs[m]!.node))) continue;
    for (const p of g.parts) sign *= p.sign;
    changedAny = true;
    g.members.forEach((m, k) => {
      if (k < merged.length) fs[m] = { node: merged[k]!, labels };
      else drop.add(m);
    });
  }
  const kept = fs.filter((_, i) => !drop.has(i));
  if (!changedAny) return undefined;
  fs.length = 0;
  fs.push(...kept);
  return sign;
}

/** Removes a pair exp(u)^a, exp(-u)^a on the same labels (whose product is 1); whether it did. */
function cancelExpPairs(fs: MFactor[]): boolean {
  for (let i = 0; i < fs.length; i++) {
    const p = powerOfElem(fs[i]!.node, 'exp');
    if (!p) continue;
    const other = makeElem('exp', neg(p.arg));
    const j = fs.findIndex((f, k) => k !== i && sameLabels(f.labels, fs[i]!.labels) && (p.exp === 1 ? f.node === other : f.node.kind === 'pow' && f.node.base === other && f.node.exp === p.exp));
    if (j < 0) continue;
    // What the pair alone covered is covered by ones: exp(x).*exp(-x) is vector(1), not a scalar.
    const { node, labels } = fs[i]!;
    const [a, b] = i < j ? [i, j] : [j, i];
    fs.splice(b, 1);
    fs.splice(a, 1);
    labels.forEach((l, axis) => {
      if (!fs.some((f) => f.labels.includes(l))) fs.push({ node: ones([node.shape[axis]!]), labels: [l] });
    });
    return true;
  }
  return false;
}

/** u and a for exp(u)^a (a > 0), or s and b for sigmoid(s)^b, else undefined. */
function powerOfElem(n: Node, fn: 'exp' | 'sigmoid'): { arg: Node; exp: number } | undefined {
  const [core, exp] = n.kind === 'pow' ? [n.base, n.exp] : [n, 1];
  return core.kind === 'elem' && core.fn === fn && exp > 0 ? { arg: core.arg, exp } : undefined;
}

/**
 * exp(k·u)^a·sigmoid(-u)^b on the same labels, 0 < c = k·a ≤ b, as sigmoid(u)^c·sigmoid(-u)^(b - c)
 * (e/(e + 1) = sigmoid(u) and 1/(e + 1) = sigmoid(-u) for e = exp(u) > 0, and exp(k·u)^a = e^c);
 * whether any merged. exp(2*b)/(1 + exp(b))^3 is sigmoid(b)^2*sigmoid(-b).
 */
function mergeLogisticQuotients(fs: MFactor[]): boolean {
  // Most products hold no sigmoid: then nothing is built for their exp factors.
  if (!fs.some((f) => powerOfElem(f.node, 'sigmoid'))) return false;
  for (let i = 0; i < fs.length; i++) {
    const e = powerOfElem(fs[i]!.node, 'exp');
    if (!e) continue;
    const [ke, core] = splitShared(e.arg);
    for (let j = 0; j < fs.length; j++) {
      const s = powerOfElem(fs[j]!.node, 'sigmoid');
      if (!s || !sameLabels(fs[j]!.labels, fs[i]!.labels)) continue;
      // exp(ke·core)^a beside sigmoid(-u) with u = kn·core: c = a·ke/kn (a sum may be written in
      // either sign: compare the core of -s with exp's, and of s).
      const ratio = logisticRatio(core, s.arg);
      // Only a short power (exp(3*b)*sigmoid(-3*b) is sigmoid(3*b), not sigmoid(3*b)^0.9999999999999999;
      // exp(0.1*b)*sigmoid(-0.3*b) stays as written, not sigmoid(0.3*b)^0.333…).
      const raw = ratio === undefined ? NaN : ke * e.exp * ratio;
      const c = isShortNumber(raw) ? Number(raw.toPrecision(6)) : NaN;
      if (!(c > 0) || c > s.exp) continue;
      const u = neg(s.arg);
      const labels = fs[i]!.labels;
      fs[i] = { node: makePow(makeElem('sigmoid', u), c), labels };
      if (s.exp > c) fs[j] = { node: makePow(makeElem('sigmoid', s.arg), s.exp - c), labels };
      else fs.splice(j, 1);
      return true;
    }
  }
  return false;
}

/**
 * exp(u)^a_1···exp(u)^a_m·sum(exp(u))^-b, for integers a_i ≥ 1 that add up to b, as
 * softmax(u)^a_1···softmax(u)^a_m (softmax(u) = exp(u)/sum(exp(u)) is finite where exp(u)
 * overflows): exp(x)/sum(exp(x)), exp(x)*exp(x)'/sum(exp(x))^2. A quotient that does not divide
 * out whole (exp(x)/sum(exp(x))^2) stays as written. Whether any merged.
 */
function mergeSoftmaxQuotients(fs: MFactor[]): boolean {
  for (let j = 0; j < fs.length; j++) {
    const s = fs[j]!.node;
    const u = s.kind === 'pow' && s.exp <= -1 && Number.isInteger(s.exp) ? sumOfExp(s.base) : undefined;
    if (!u || s.kind !== 'pow') continue;
    const exp = makeElem('exp', u);
    const powers = fs.map((f) => (f.node === exp ? 1 : f.node.kind === 'pow' && f.node.base === exp && Number.isInteger(f.node.exp) && f.node.exp > 0 ? f.node.exp : 0));
    if (powers.reduce((a, b) => a + b, 0) !== -s.exp) continue;
    const softmax = makeSoftmax(u);
    powers.forEach((a, i) => {
      if (a > 0) fs[i] = { node: makePow(softmax, a), labels: fs[i]!.labels };
    });
    fs.splice(j, 1);
    return true;
  }
  return false;
}

/** Set while dropSummedSoftmax asks softmaxArg, which builds softmax(u) again (and may come back here). */
let askingSoftmax = false;

/** Removes a softmax factor whose labels are summed, each once and by no other factor; whether it did. */
function dropSummedSoftmax(fs: MFactor[], rank: number): boolean {
  if (askingSoftmax || !fs.some((f) => f.node.kind === 'elem' && f.node.fn === 'exp')) return false;
  const count = labelCarriers(fs);
  const summedAlone = (f: MFactor): boolean => f.labels.length > 0 && f.labels.every((l, i) => l >= rank && f.labels.indexOf(l) === i && count.get(l) === 1);
  const isSoftmax = (n: Node): boolean => {
    if (n.kind !== 'elem' || n.fn !== 'exp' || n.arg.kind !== 'add') return false;
    askingSoftmax = true;
    try {
      return softmaxArg(n) !== undefined;
    } finally {
      askingSoftmax = false;
    }
  };
  const k = fs.findIndex((f) => summedAlone(f) && isSoftmax(f.node));
  if (k < 0) return false;
  fs.splice(k, 1);
  return true;
}

/** 1/kn where -s = kn·core (the sigmoid's argument s is -kn·core), else undefined. */
function logisticRatio(core: Node, s: Node): number | undefined {
  const [kn, cn] = splitShared(neg(s));
  if (cn === core) return 1 / kn;
  const [ks, cs] = splitShared(s);
  return cs === core ? -1 / ks : undefined;
}

const sameLabels = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((l, k) => l === b[k]);

/** A connected part of a product: its factors (indices) and its free labels. */
export interface FactorComponent {
  readonly members: readonly number[];
  readonly free: ReadonlySet<number>;
}

/** How many slots of the factors carry each label (2 for a contraction, 1 for a sum over one factor). */
export function labelCounts(factors: readonly Factor[]): Map<number, number> {
  const count = new Map<number, number>();
  for (const f of factors) for (const l of f.labels) count.set(l, (count.get(l) ?? 0) + 1);
  return count;
}

/**
 * The connected parts of a product: factors joined by summed labels (those ≥ rank), with the free
 * labels of each; a factor on no labels is a part of its own.
 */
export function factorComponents(factors: readonly Factor[], rank: number): FactorComponent[] {
  const parent = factors.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const owner = new Map<number, number>();
  factors.forEach((g, i) =>
    g.labels.forEach((l) => {
      if (l < rank) return;
      const o = owner.get(l);
      if (o === undefined) owner.set(l, i);
      else parent[find(i)] = find(o);
    }),
  );
  const byRoot = new Map<number, { members: number[]; free: Set<number> }>();
  factors.forEach((g, i) => {
    const r = find(i);
    const c = byRoot.get(r) ?? { members: [], free: new Set<number>() };
    c.members.push(i);
    for (const l of g.labels) if (l < rank) c.free.add(l);
    byRoot.set(r, c);
  });
  return [...byRoot.values()];
}

/**
 * The closed parts of a product: sets of factors joined by summed labels in which no label is free,
 * each a scalar (x_i x_i, A_ii, x_i A_ij y_j). Factors on no labels are left out (mergePowers
 * merges those).
 */
export function closedParts(fs: readonly Factor[], rank: number): number[][] {
  return factorComponents(fs, rank)
    .filter((c) => c.free.size === 0 && fs[c.members[0]!]!.labels.length > 0)
    .map((c) => [...c.members]);
}

/** A scalar of a product: a closed part or a factor on no labels, with the factors it takes. */
interface ScalarUnit {
  readonly members: readonly number[];
  readonly node: Node;
  /** One factor on no labels. */
  readonly factor: boolean;
  /** A factor of the product itself, not of a nested product (mergePowers merges those). */
  readonly own: boolean;
}

/**
 * Equal scalars of a product merge into one power on no labels: closed parts equal up to the names
 * of their summed labels (x_i x_i x_j x_j → (x'x)^2), a closed part and a power of it
 * ((Σx)·(Σx)^-0.5 → (Σx)^0.5), and the scalars that make up a scalar product s with a power of s
 * (a·x'x·(a·x'x)^-1 → 1). The sign that merged odd powers of a negated sum give, or undefined
 * when nothing merged.
 */
function mergeScalarParts(input: MFactor[], rank: number): number | undefined {
  if (input.length < 2) return undefined;
  // Read over the factors of nested products too (makeMul nests long products), within a bound, so
  // that x'Sy inside one nested product meets x'Sy inside another.
  let next = rank;
  for (const f of input) for (const l of f.labels) next = Math.max(next, l + 1);
  // (Expansion stops as soon as it passes the bound: deep chains nest products far beyond it.)
  const expanded = input.some((f) => splitCoef(f.node)[1].kind === 'mul') ? expandFactorList(input, next, undefined, MAX_SCALAR_PART_FACTORS) : input;
  // A long product (a chain's) keeps its nested products as they are, so that its terms share
  // them: whole nested products merge (N·N → N^2), and its own factors; the scalars inside nested
  // products stay there.
  const long = expanded === undefined || expanded.filter((f) => f.node.kind !== 'delta' && f.node.kind !== 'const').length > MAX_MERGED_FLAT_FACTORS;
  const whole = long ? mergeNestedProducts(input) : undefined;
  if (whole !== undefined) return whole;
  const read = (long ? undefined : expanded) ?? input;
  const fs: MFactor[] = read.map((f) => ({ node: f.node, labels: [...f.labels] }));
  // A scalar factor of the product itself is its own (mergePowers merges those); one from inside a
  // nested product is not, and mergePowers does not see it: log(b)·(S*x*log(b)).
  const own = new Set<Factor>(input);
  const units: ScalarUnit[] = [];
  read.forEach((f, k) => {
    if (f.labels.length === 0) units.push({ members: [k], node: f.node, factor: true, own: own.has(f) });
  });
  const parts = closedParts(fs, rank);
  if (parts.length === 0 && units.every((u) => u.own)) return undefined;
  if (parts.length + units.length < 2) return undefined;
  for (const p of parts) units.push({ members: p, node: makeMul(p.map((k) => fs[k]!), 0), factor: false, own: false });
  const pool = gatherScalarProducts(units);
  const groups = new Map<number, { units: ScalarUnit[]; parts: PowerPart[] }>();
  for (const u of pool) {
    const part = powerPart(u.node);
    let g = groups.get(part.base.id);
    if (!g) groups.set(part.base.id, (g = { units: [], parts: [] }));
    g.units.push(u);
    g.parts.push(part);
  }
  const drop = new Set<number>();
  const added: MFactor[] = [];
  let sign = 1;
  for (const g of groups.values()) {
    if (g.units.length < 2 || g.units.every((u) => u.own) || isZero(g.parts[0]!.base)) continue;
    const merged = mergeParts(g.parts);
    if (!merged || (g.units.every((u) => u.factor) && sameMultiset(merged, g.units.map((u) => u.node)))) continue;
    for (const p of g.parts) sign *= p.sign;
    for (const u of g.units) for (const k of u.members) drop.add(k);
    for (const node of merged) added.push({ node, labels: [] });
  }
  if (drop.size === 0) return undefined;
  const kept = fs.filter((_, k) => !drop.has(k));
  input.length = 0;
  input.push(...kept, ...added);
  return sign;
}

/** How many nodes of a product's tree mergeNestedProducts reads at most (it merges nothing beyond). */
const MAX_NESTED_READ = 256;

/**
 * A nested scalar product that occurs more than once in a product's tree (or beside a power of
 * itself), merged whole into one power at the top, before mergeScalarParts reads the factors one
 * by one: in a chain's derivative the prefix product N = c1·…·ck meets itself, and N^2 is one node
 * that the next prefix shares (N^2·ck+1^2), where merging factor by factor would spell out every
 * square anew in every term. The sign as mergeScalarParts gives it, or undefined.
 */
function mergeNestedProducts(input: MFactor[]): number | undefined {
  if (!input.some((f) => splitCoef(f.node)[1].kind === 'mul')) return undefined;
  // Every occurrence in the tree is counted (a nested product used twice holds its parts twice),
  // as every one is taken out below.
  const parts = new Map<Node, { parts: PowerPart[]; own: number }>();
  const unit = (node: Node, own: boolean): void => {
    const part = powerPart(node);
    if (part.base.kind !== 'mul' || part.base.shape.length !== 0 || part.of !== 'u') return;
    const g = parts.get(part.base) ?? { parts: [], own: 0 };
    g.parts.push(part);
    if (own) g.own++;
    parts.set(part.base, g);
  };
  let budget = MAX_NESTED_READ;
  const walk = (node: Node): boolean => {
    if (--budget < 0) return false;
    const core = splitCoef(node)[1];
    if (core.kind !== 'mul') return true;
    for (const g of core.factors) {
      if (g.labels.length === 0) unit(g.node, false);
      if (!walk(g.node)) return false;
    }
    return true;
  };
  for (const f of input) {
    if (f.labels.length === 0) unit(f.node, true);
    if (!walk(f.node)) return undefined;
  }
  const sizes = new Map<Node, number>();
  const size = (node: Node): number => {
    const core = splitCoef(node)[1];
    if (core.kind !== 'mul') return 1;
    let n = sizes.get(core);
    if (n === undefined) sizes.set(core, (n = core.factors.reduce((t, g) => t + size(g.node), 0)));
    return n;
  };
  // The largest first: it takes the smaller ones inside it along.
  let best: Node | undefined;
  for (const [base, g] of parts) {
    if (g.parts.length < 2 || g.own === g.parts.length || size(base) < 2) continue;
    if (!best || size(base) > size(best)) best = base;
  }
  if (!best) return undefined;
  const group = parts.get(best)!;
  const merged = mergeParts(group.parts);
  if (!merged) return undefined;
  const taken = (g: Factor): boolean => {
    if (g.labels.length > 0) return false;
    const part = powerPart(g.node);
    return part.base === best && part.of === 'u';
  };
  const rebuild = (node: Node): Node => {
    const [c, core] = splitCoef(node);
    if (core.kind !== 'mul') return node;
    const factors = core.factors.flatMap((g) => (taken(g) ? [] : [{ node: rebuild(g.node), labels: g.labels }]));
    if (factors.length === core.factors.length && factors.every((g, k) => g.node === core.factors[k]!.node)) return node;
    return scale(c, factors.length === 0 ? scalar(1) : makeMul(factors, core.shape.length));
  };
  const kept = input.flatMap((f) => (taken(f) ? [] : [{ node: rebuild(f.node), labels: f.labels }]));
  input.length = 0;
  input.push(...kept, ...merged.map((node) => ({ node, labels: [] })));
  return group.parts.reduce((s, p) => s * p.sign, 1);
}

/**
 * The units with those that make up the base s of a power s^p on no labels (a product of scalars,
 * each one unit) gathered into one unit s, so that it meets s^p: a·x'x·(a·x'x)^-1.
 */
function gatherScalarProducts(units: readonly ScalarUnit[]): ScalarUnit[] {
  let pool = [...units];
  for (const u of units) {
    if (!u.factor || !pool.includes(u)) continue;
    const base = powerPart(u.node).base;
    if (base.kind !== 'mul' || base.shape.length !== 0 || pool.some((v) => v.node === base)) continue;
    const wanted = scalarsOf(base);
    const taken: ScalarUnit[] = [];
    for (const w of wanted) {
      const hit = pool.find((v) => v !== u && v.node === w && !taken.includes(v));
      if (!hit) break;
      taken.push(hit);
    }
    if (taken.length !== wanted.length) continue;
    pool = pool.filter((v) => !taken.includes(v));
    pool.push({ members: taken.flatMap((v) => v.members), node: base, factor: false, own: false });
  }
  return pool;
}

/** The scalars whose product a rank-0 product is: its closed parts and its factors on no labels. */
function scalarsOf(n: MulNode): Node[] {
  const fs: MFactor[] = expandedFactors(n).map((f) => ({ node: f.node, labels: [...f.labels] }));
  const out = fs.filter((f) => f.labels.length === 0).map((f) => f.node);
  for (const p of closedParts(fs, 0)) out.push(makeMul(p.map((k) => fs[k]!), 0));
  return out;
}

function removeRedundantOnes(fs: MFactor[]): void {
  const isOnes = (f: MFactor): boolean => f.node.kind === 'const' && f.node.value === 1;
  const seen = new Set<number>();
  for (let k = fs.length - 1; k >= 0; k--) {
    const f = fs[k]!;
    if (!isOnes(f)) continue;
    const l = f.labels[0]!;
    const elsewhere = fs.some((g) => !isOnes(g) && g.labels.includes(l));
    if (elsewhere || seen.has(l)) fs.splice(k, 1);
    else seen.add(l);
  }
}

/**
 * Orders the factors and renames the summed labels canonically, so that products equal up to
 * renaming of summed indices (and up to the order of the two slots of a symmetric factor) get the
 * same form. Factors are sorted by a renaming-invariant key; ties are broken by trying the orders
 * within tied groups (bounded) and keeping the smallest encoding.
 */
/**
 * Renaming-invariant colours of the factors, by colour refinement (1-dimensional Weisfeiler–Lehman)
 * on the bipartite graph of factors and labels: a factor's colour combines its node and the colours
 * of the labels in its slots, a label's colour the colours of the factors (and slots) it occurs in.
 * Factors that end with equal colours are the only ones whose relative order must be searched.
 */
function refineColors(fs: readonly MFactor[], rank: number, sym: readonly boolean[]): number[] {
  const labelColor = new Map<number, number>();
  for (const f of fs) for (const l of f.labels) labelColor.set(l, l < rank ? mix(0x6f7574, l) : 0x73756d);
  let colors = fs.map((f) => mix(f.node.h % 4294967296, Math.floor(f.node.h / 4294967296)));
  let classes = distinct(colors) + distinct([...labelColor.values()]);
  for (let round = 0; round < fs.length + 1; round++) {
    colors = fs.map((f, k) => {
      const slots = f.labels.map((l, slot) => {
        const first = f.labels.indexOf(l);
        return mix(labelColor.get(l)!, first === slot ? 0 : first + 1);
      });
      if (sym[k]) slots.sort((a, b) => a - b);
      return slots.reduce(mix, colors[k]!);
    });
    const occ = new Map<number, number[]>();
    fs.forEach((f, k) =>
      f.labels.forEach((l, slot) => {
        if (l < rank) return;
        let list = occ.get(l);
        if (!list) occ.set(l, (list = []));
        list.push(mix(colors[k]!, sym[k] ? 7 : slot));
      }),
    );
    for (const [l, list] of occ) labelColor.set(l, list.sort((a, b) => a - b).reduce(mix, 0x6c6162));
    const now = distinct(colors) + distinct([...labelColor.values()]);
    if (now === classes) break;
    classes = now;
  }
  return colors;
}

/** A 32-bit mix of a running hash with a value (murmur3's finalizer on h ^ v). */
function mix(h: number, v: number): number {
  let x = Math.imul(h ^ v, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function distinct(xs: readonly number[]): number {
  return new Set(xs).size;
}

function canonicalize(fs: MFactor[], rank: number): { factors: Factor[]; nlabels: number } {
  const sym = fs.map((f) => f.node.shape.length === 2 && isSymmetric(f.node));
  // Occurrence signature of every summed label: which node and slot each occurrence sits at.
  const occ = new Map<number, string[]>();
  fs.forEach((f, k) =>
    f.labels.forEach((l, slot) => {
      if (l < rank) return;
      let list = occ.get(l);
      if (!list) occ.set(l, (list = []));
      list.push(`${f.node.h}@${sym[k] ? '*' : slot}`);
    }),
  );
  const sig = new Map<number, string>();
  for (const [l, list] of occ) sig.set(l, list.sort().join('+'));
  // The order reads well (by node, then by the first-order signature of its slots); refined
  // colours only break what that leaves tied.
  let keys = fs.map((f, k) => {
    const slots = f.labels.map((l) => {
      if (l < rank) return `o${l}`;
      const first = f.labels.indexOf(l);
      return `s${sym[k] ? (first === 0 && f.labels[1] === l ? 0 : '*') : first}[${sig.get(l)}]`;
    });
    if (sym[k]) slots.sort();
    return `${f.node.h}|${slots.join('|')}`;
  });
  if (new Set(keys).size < keys.length) {
    const refined = refineColors(fs, rank, sym);
    keys = keys.map((k, i) => `${k}|${refined[i]}`);
  }
  const order = fs.map((_, k) => k).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
  const groups: number[][] = [];
  for (const k of order) {
    const last = groups[groups.length - 1];
    if (last && keys[last[0]!] === keys[k]) last.push(k);
    else groups.push([k]);
  }

  let best: { enc: string; factors: Factor[]; nlabels: number } | null = null;
  let budget = 8;
  const consider = (seq: number[]): void => {
    encodeAll(seq, 0, new Map(), rank, [], (enc, factors, nlabels) => {
      budget--;
      if (!best || enc < best.enc) best = { enc, factors, nlabels };
    });
  };
  // One label map and one factor list, extended and undone along the way (O(n) per order, not O(n²)).
  const encodeAll = (
    seq: number[],
    i: number,
    map: Map<number, number>,
    nextLabel: number,
    acc: Factor[],
    done: (enc: string, factors: Factor[], nlabels: number) => void,
  ): void => {
    if (i === seq.length) {
      done(acc.map((f) => `${f.node.h}:${f.labels.join('.')}`).join(','), [...acc], nextLabel);
      return;
    }
    const k = seq[i]!;
    const f = fs[k]!;
    const fresh = f.labels.filter((l, j) => l >= rank && !map.has(l) && f.labels.indexOf(l) === j);
    const variants = sym[k] && fresh.length === 2 && budget > 0 ? [fresh, [fresh[1]!, fresh[0]!]] : [fresh];
    for (const v of variants) {
      let nl = nextLabel;
      for (const l of v) map.set(l, nl++);
      let labels = f.labels.map((l) => (l < rank ? l : map.get(l)!));
      if (sym[k]) labels = [...labels].sort((x, y) => x - y);
      acc.push({ node: f.node, labels });
      encodeAll(seq, i + 1, map, nl, acc, done);
      acc.pop();
      for (const l of v) map.delete(l);
    }
  };

  // Orders to try: all permutations within tied groups, while the budget lasts.
  // One order, extended and undone group by group (not copied per group).
  const seq: number[] = [];
  const permute = (gi: number): void => {
    if (budget <= 0 && best) return;
    if (gi === groups.length) {
      consider(seq);
      return;
    }
    const g = groups[gi]!;
    if (g.length === 1) {
      seq.push(g[0]!);
      permute(gi + 1);
      seq.pop();
      return;
    }
    for (const p of permutations(g)) {
      if (budget <= 0 && best) return;
      seq.push(...p);
      permute(gi + 1);
      seq.length -= p.length;
    }
  };
  permute(0);
  const b = best as { enc: string; factors: Factor[]; nlabels: number } | null;
  if (!b) throw new InternalError('canonicalize found no encoding');
  return { factors: b.factors, nlabels: b.nlabels };
}

function* permutations<T>(xs: readonly T[]): Generator<T[]> {
  if (xs.length <= 1) {
    yield [...xs];
    return;
  }
  for (let i = 0; i < xs.length; i++) {
    const rest = [...xs.slice(0, i), ...xs.slice(i + 1)];
    for (const p of permutations(rest)) yield [xs[i]!, ...p];
  }
}

// ---------------------------------------------------------------------------------------------
// Transposes and symmetry

/** If n only permutes the axes of one node (a transpose), that node and the permutation. */
export function asPermutation(n: Node): { base: Node; perm: readonly number[] } | undefined {
  if (n.kind !== 'mul' || n.factors.length !== 1) return undefined;
  const f = n.factors[0]!;
  const r = n.shape.length;
  if (n.nlabels !== r || f.labels.length !== r) return undefined;
  if (new Set(f.labels).size !== r) return undefined;
  return { base: f.node, perm: f.labels };
}

/** The transpose of a matrix-shaped node. */
export function transpose(n: Node): Node {
  if (n.shape.length < 2) return n;
  if (n.shape.length !== 2) throw new InternalError('transpose of a tensor of rank > 2');
  if (isSymmetric(n)) return n;
  // A where clause's sum is transposed whole (t1' for t1 = eye - A*B*A'): spread into its terms,
  // it was a second sum, not held, that the layers above multiplied out.
  if (n.kind === 'add' && !n.held) return makeAdd(n.terms.map((t) => ({ coef: t.coef, node: transpose(t.node) })), [n.shape[1]!, n.shape[0]!]);
  return makeMul([{ node: n, labels: [1, 0] }], 2);
}

const symmetricCache = new WeakMap<Node, boolean>();

/**
 * Whether labels a and b of a product sit at the same nodes and slots (either slot of a symmetric
 * matrix counts as one): a product equal to itself with a and b swapped has a renaming that maps
 * the one's occurrences onto the other's, so where they differ it is not (and building the swapped
 * product to compare is not needed).
 */
function sameOccurrences(factors: readonly Factor[], a: number, b: number): boolean {
  const [atA, atB]: string[][] = [[], []];
  for (const f of factors) {
    if (!f.labels.includes(a) && !f.labels.includes(b)) continue;
    const sym = f.node.shape.length === 2 && isSymmetric(f.node);
    f.labels.forEach((l, slot) => {
      if (l === a || l === b) (l === a ? atA : atB).push(`${f.node.id}@${sym ? '*' : slot}`);
    });
  }
  return atA.length === atB.length && atA.sort().join(',') === atB.sort().join(',');
}

/** Whether a square matrix-shaped node equals its transpose (structurally, in canonical form). */
export function isSymmetric(n: Node): boolean {
  if (n.shape.length !== 2 || n.shape[0] !== n.shape[1]) return false;
  const hit = symmetricCache.get(n);
  if (hit !== undefined) return hit;
  let r: boolean;
  switch (n.kind) {
    case 'var':
      r = n.symmetric;
      break;
    case 'const':
    case 'delta':
      r = true;
      break;
    case 'add':
      // Held where n is: a where clause's sum eye - B*B' is symmetric too (it was not, and its
      // transpose, a second copy that is not held, printed as a second name for the same text).
      r = makeAdd(n.terms.map((t) => ({ coef: t.coef, node: transpose(t.node) })), n.shape, n.held) === n;
      break;
    case 'mul': {
      // A δ between the two axes makes the other factors read axis 0 alone (contractDeltas), so
      // the occurrences differ though the product is its own transpose: diag(v) is δ_01·v_0.
      const diagonal = n.factors.some((f) => f.node.kind === 'delta' && f.labels.includes(0) && f.labels.includes(1));
      r =
        (diagonal || sameOccurrences(n.factors, 0, 1)) &&
        makeMul(n.factors.map((f) => ({ node: f.node, labels: f.labels.map((l) => (l === 0 ? 1 : l === 1 ? 0 : l)) })), 2) === n;
      break;
    }
    case 'elem':
    case 'inv':
    case 'adj':
      r = isSymmetric(n.arg);
      break;
    case 'pow':
      r = isSymmetric(n.base);
      break;
    case 'powv':
      r = isSymmetric(n.base) && isSymmetric(n.exponent);
      break;
    case 'det':
    case 'logdet':
    case 'logsumexp':
    case 'adj2':
    case 'adj3':
    case 'adjpart':
      r = false;
      break;
    case 'merge': {
      // Rows and columns are two equal groups: symmetric when swapping the groups leaves arg alone.
      const [g0, g1] = n.groups as [number, number];
      r = g0 === g1 && makeMul([{ node: n.arg, labels: [...range(g0, g0), ...range(0, g0)] }], 2 * g0) === n.arg;
      break;
    }
    case 'mpow':
      // (A^k)' = (A')^k; P(A,k;E)' = P(A',k;E') for one matrix direction.
      r =
        isSymmetric(n.base) &&
        (n.dirs.length === 0 || (n.dirs.length === 1 && n.dirs[0]!.shape.length === 2 && isSymmetric(n.dirs[0]!)));
      break;
  }
  symmetricCache.set(n, r);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Element-wise functions and powers

const nonNegCache = new WeakMap<Node, boolean>();

/** Whether every entry is ≥ 0 wherever the node is defined (used to merge powers safely). */
export function isNonNegative(n: Node): boolean {
  const hit = nonNegCache.get(n);
  if (hit !== undefined) return hit;
  let r = false;
  switch (n.kind) {
    case 'const':
    case 'delta':
      r = true;
      break;
    case 'elem':
      r = ['exp', 'abs', 'relu', 'sigmoid', 'softplus', 'arccos'].includes(n.fn);
      break;
    case 'merge':
      r = isNonNegative(n.arg);
      break;
    case 'pow':
      r = (Number.isInteger(n.exp) && n.exp % 2 === 0) || !Number.isInteger(n.exp) || isNonNegative(n.base);
      break;
    case 'powv':
      r = isNonNegative(n.base) || isEvenValued(n.exponent);
      break;
    case 'add':
      r = n.terms.every((t) => t.coef > 0 && isNonNegative(t.node));
      break;
    case 'mul':
      r = n.factors.every((f) => isNonNegative(f.node)) || isSumOfSquares(n);
      break;
    default:
      r = false;
  }
  nonNegCache.set(n, r);
  return r;
}

function isSumOfSquares(n: NodeOf<'mul'>): boolean {
  return squareSplit(n, true) !== undefined;
}

/** A product as Σ_fixed w·(Σ Π half)^2: one factor of each pair, and the labels both halves share. */
export interface SquareSplit {
  readonly half: readonly Factor[];
  readonly fixed: readonly number[];
}

/**
 * A product as a sum of squares (times non-negative weights where `weights`): its factors pair up
 * (f, g), g the image of f under an involution π of the labels that fixes the output labels; a
 * factor left unpaired is non-negative and sits on labels π fixes; and the labels π swaps split
 * into two sides with each factor's swapped labels on one side. The product is then
 * Σ_fixed w·(Σ_side1 Π half)·(Σ_side2 Π π(half)) = Σ_fixed w·(Σ Π half)^2: x'*x, tr(X'*X),
 * x'*A'*A*x = Σ_i (Σ_j A_ij x_j)^2 (half A_ij x_j, fixed i). Not tr(A*A) = Σ A_jk A_kj, whose
 * factors hold both sides of the swap j ↔ k. Undefined where no such pairing is found.
 */
export function squareSplit(n: NodeOf<'mul'>, weights: boolean, fewestFixed = false): SquareSplit | undefined {
  const fs = n.factors;
  // With fewestFixed, of the first few pairings found, the one whose half has the fewest fixed
  // labels but at least one (a half with none is a scalar c, and the product c^2):
  // (y'*y)^2*x'*x is the square of y'*y*x (one fixed label), not of y_r y_s x_t (three).
  let best: SquareSplit | undefined;
  let leaves = 0;
  const offer = (s: SquareSplit | undefined): SquareSplit | undefined => {
    if (!fewestFixed || !s) return s;
    leaves++;
    if (s.fixed.length > 0 && (!best || s.fixed.length < best.fixed.length)) best = s;
    return best?.fixed.length === 1 || leaves >= MAX_SQUARE_PAIRINGS ? best : undefined;
  };
  if (fs.length > 12) return undefined;
  const rank = n.shape.length;
  const pi = new Map<number, number>();
  /** The factor paired with each (itself for a weight, -1 while open). */
  const partner: number[] = fs.map(() => -1);
  const bind = (a: number, b: number, undo: number[]): boolean => {
    if ((a < rank || b < rank) && a !== b) return false;
    const pa = pi.get(a);
    if (pa !== undefined) return pa === b;
    if (pi.has(b)) return false;
    pi.set(a, b).set(b, a);
    undo.push(a, b);
    return true;
  };
  const search = (i: number): SquareSplit | undefined => {
    while (i < fs.length && partner[i] !== -1) i++;
    if (i === fs.length) return offer(halfOf(fs, pi, partner));
    for (let j = i + 1; j < fs.length; j++) {
      if (partner[j] !== -1 || fs[j]!.node !== fs[i]!.node) continue;
      const undo: number[] = [];
      if (fs[i]!.labels.every((l, t) => bind(l, fs[j]!.labels[t]!, undo))) {
        [partner[i], partner[j]] = [j, i];
        const found = search(i + 1);
        if (found) return found;
        partner[j] = -1;
      }
      for (const l of undo) pi.delete(l);
    }
    partner[i] = -1;
    if (weights && isNonNegative(fs[i]!.node)) {
      partner[i] = i;
      const found = search(i + 1);
      if (found) return found;
    }
    partner[i] = -1;
    return undefined;
  };
  return search(0) ?? best;
}

/** Complete pairings squareSplit compares at most, looking for the fewest fixed labels. */
const MAX_SQUARE_PAIRINGS = 64;

/**
 * The side condition of squareSplit for a complete pairing π, and the half on one side: two-colour
 * the swapped labels (one side within a factor, opposite sides across a swap); weights sit on
 * fixed labels only.
 */
function halfOf(fs: readonly Factor[], pi: ReadonlyMap<number, number>, partner: readonly number[]): SquareSplit | undefined {
  const swapped = (l: number): boolean => pi.has(l) && pi.get(l) !== l;
  if (fs.some((f, k) => partner[k] === k && f.labels.some(swapped))) return undefined;
  const side = new Map<number, 0 | 1>();
  const edges = new Map<number, { to: number; flip: boolean }[]>();
  const link = (a: number, b: number, flip: boolean): void => {
    edges.set(a, [...(edges.get(a) ?? []), { to: b, flip }]);
    edges.set(b, [...(edges.get(b) ?? []), { to: a, flip }]);
  };
  for (const [a, b] of pi) if (a !== b) link(a, b, true);
  fs.forEach((f, k) => {
    if (partner[k] === k) return;
    const ls = f.labels.filter(swapped);
    for (let t = 1; t < ls.length; t++) link(ls[0]!, ls[t]!, false);
  });
  for (const start of edges.keys()) {
    if (side.has(start)) continue;
    side.set(start, 0);
    const queue = [start];
    while (queue.length > 0) {
      const a = queue.pop()!;
      for (const { to, flip } of edges.get(a)!) {
        const want = (flip ? 1 - side.get(a)! : side.get(a)!) as 0 | 1;
        const have = side.get(to);
        if (have === undefined) {
          side.set(to, want);
          queue.push(to);
        } else if (have !== want) return undefined;
      }
    }
  }
  // Of each pair, the factor whose swapped labels are on side 0 (either, where it has none).
  const onSide0 = (f: Factor): boolean => f.labels.every((l) => !swapped(l) || side.get(l) === 0);
  const half = fs.flatMap((f, k) => (partner[k]! > k ? [onSide0(f) ? f : fs[partner[k]!]!] : []));
  const fixed = [...pi.keys()].filter((l) => pi.get(l) === l).sort((x, y) => x - y);
  return { half, fixed };
}

function isEvenInteger(k: number): boolean {
  return Number.isInteger(k) && k % 2 === 0;
}

export function makePow(base: Node, p: number): Node {
  if (p === 0) return ones(base.shape);
  if (p === 1) return base;
  if (!Number.isFinite(p)) throw new InternalError(`power ${p}`);
  if (base.kind === 'const') {
    if (base.value === 1) return base;
    if (p > 0) return base;
  }
  // (exp(v) + 1)^p = sigmoid(-v)^-p for p < 0: 1/(1 + exp(-x)) is sigmoid(x), which with its
  // derivatives stays finite where exp(-x) overflows.
  const logistic = p < 0 ? expPlusOne(base) : undefined;
  if (logistic) return makePow(makeElem('sigmoid', neg(logistic)), -p);
  // δ^p = δ for p > 0: 0^p = 0 and 1^p = 1 (diag(z).^2 is diag(z.^2), not diag(z.^2).*eye.^2).
  if (base.kind === 'delta' && p > 0) return base;
  // A power of a number folds where it is rational (an integer p) or a short exact number
  // (4^0.5 = 2); otherwise it stays as it is written (2^0.5, not 1.4142135623730951).
  const c = constantValue(base);
  if (c !== undefined && (c > 0 || Number.isInteger(p))) {
    const v = Math.pow(c, p);
    if (Number.isFinite(v) && (Number.isInteger(p) || isShortNumber(v))) return scalar(v);
    if (Number.isFinite(v)) return intern<PowNode>(`^|${base.id}|${p}`, { kind: 'pow', base, exp: p, shape: base.shape });
  }
  const [k, core] = splitCoef(base);
  if (k !== 1 && (k > 0 || Number.isInteger(p))) {
    const kp = Math.pow(k, p);
    if (Number.isInteger(p) || isShortNumber(kp)) return scale(kp, makePow(core, p));
    const rank = base.shape.length;
    return makeMul([{ node: makePow(scalar(k), p), labels: [] }, { node: makePow(core, p), labels: base.shape.map((_, i) => i) }], rank);
  }
  // (u^e)^p = u^(e·p) for an integer p and an integer-valued e (a size).
  if (base.kind === 'powv' && Number.isInteger(p) && isIntegerValued(base.exponent)) return makePowv(base.base, scale(p, base.exponent));
  // (u^e)^p = |u|^(e·p) for an even e (2·n): u^e ≥ 0 for a negative u too. (-3)^(2·rows(X)) under
  // a square root is 3^rows(X), so that norm2(det(-3*X)) is 3^rows(X)*abs(det(X)).
  if (base.kind === 'powv' && base.shape.length === 0 && isEvenValued(base.exponent))
    return makePowv(isNonNegative(base.base) ? base.base : makeElem('abs', base.base), scale(p, base.exponent));
  if (base.kind === 'pow') {
    // (u^a)^p = u^(a·p) wherever the left side is defined, except when a is even and p is not an
    // integer: u^a ≥ 0 is defined for negative u too, and there (u^a)^p = |u|^(a·p), not u^(a·p).
    if (Number.isInteger(p) || !isEvenInteger(base.exp) || isNonNegative(base.base)) return makePow(base.base, base.exp * p);
    return makePow(makeElem('abs', base.base), base.exp * p);
  }
  // (u∘v)^p = u^p∘v^p over an entry-wise product (no summed label), for an integer p or
  // non-negative factors, but for a where clause's product that holds an earlier layer (spreads).
  if (
    base.kind === 'mul' &&
    spreads(base) &&
    base.nlabels === base.shape.length &&
    (Number.isInteger(p) || base.factors.every((f) => isNonNegative(f.node)))
  )
    return makeMul(base.factors.map((f) => ({ node: makePow(f.node, p), labels: f.labels })), base.shape.length);
  // (s·C)^p = s^p·C^p for a contraction C times scalar factors s (on no labels) where s and C are
  // non-negative, for a fractional p: norm2(a*z) = (a^2·z'z)^0.5 = |a|·norm2(z). An integer power
  // stays whole, so that it still cancels against its base (u·u^-1 = 1).
  if (base.kind === 'mul' && spreads(base) && base.nlabels > base.shape.length && !Number.isInteger(p)) {
    const rank = base.shape.length;
    const scalars = base.factors.filter((f) => f.labels.length === 0);
    const rest = base.factors.filter((f) => f.labels.length > 0);
    if (scalars.length > 0 && rest.length > 0) {
      const contraction = makeMul(rest, rank);
      if (scalars.every((f) => isNonNegative(f.node)) && isNonNegative(contraction))
        return makeMul(
          [...scalars.map((f) => ({ node: makePow(f.node, p), labels: [] })), { node: makePow(contraction, p), labels: base.shape.map((_, i) => i) }],
          rank,
        );
    }
  }
  // |u|^k = u^k for an even k.
  if (base.kind === 'elem' && base.fn === 'abs' && isEvenInteger(p)) return makePow(base.arg, p);
  // An integer power of a sum takes it in its canonical sign, as products do: (y - x)^3 is
  // -(x - y)^3 and (y - x)^2 is (x - y)^2 where x - y is the canonical one.
  const flipped = Number.isInteger(p) ? negatedSum(base) : undefined;
  if (flipped) return scale(p % 2 === 0 ? 1 : -1, makePow(flipped, p));
  const perm = asPermutation(base);
  if (perm) return makeMul([{ node: makePow(perm.base, p), labels: [...perm.perm] }], base.shape.length);
  // 0^p = 0 for p > 0: diag(x).^0.5 = diag(x.^0.5).
  const diagonal = p > 0 ? onDiagonal(base, (d) => makePow(d, p)) : undefined;
  if (diagonal) return diagonal;
  return intern<PowNode>(`^|${base.id}|${p}`, { kind: 'pow', base, exp: p, shape: base.shape });
}

/**
 * Element-wise functions at a number, written plainly: the reference evaluator uses these, so they
 * are deliberately independent of the kernels' overflow-safe versions that the tests compare against.
 */
const ELEM_VALUE: Readonly<Record<ElemFn, (x: number) => number>> = {
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  arcsin: Math.asin,
  arccos: Math.acos,
  arctan: Math.atan,
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  abs: Math.abs,
  sign: Math.sign,
  relu: (x) => Math.max(x, 0),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
};

/** The value of an element-wise function at a number (constant folding, reference evaluator). */
export function elemValue(fn: ElemFn, x: number): number {
  return ELEM_VALUE[fn](x);
}

/**
 * Whether -s, not s, is the canonical one of a sum and its negation: the one with fewer minus
 * signs, then the one whose constant term is positive (1 - t, not t - 1), then the one whose first
 * term in canonical order is positive. Products, integer powers and odd or even functions all take
 * their sums in this sign, so that s and -s meet as one node.
 */
function prefersNegation(s: AddNode): boolean {
  let negatives = 0;
  let constant = 0;
  for (const t of s.terms) {
    if (t.coef < 0) negatives++;
    if (t.node.kind === 'const') constant = t.coef;
  }
  if (2 * negatives !== s.terms.length) return 2 * negatives > s.terms.length;
  return constant !== 0 ? constant < 0 : s.terms[0]!.coef < 0;
}

/** The coefficient magnitude that every term of a sum shares (2 for 2·A - 2·B), else 1. */
function sharedCoef(s: AddNode): number {
  const c = Math.abs(s.terms[0]!.coef);
  return s.terms.length > 1 && s.terms.every((t) => Math.abs(t.coef) === c) ? c : 1;
}

/**
 * splitCoef, where a sum whose terms share a coefficient magnitude c gives c too: 2·A - 2·B is
 * 2·(A - B).
 */
function splitShared(n: Node): [number, Node] {
  const c = n.kind === 'add' ? sharedCoef(n) : 1;
  if (c === 1) return splitCoef(n);
  return [c, makeAdd((n as AddNode).terms.map((t) => ({ coef: t.coef / c, node: t.node })), n.shape)];
}

/**
 * -s for a sum s whose negation is its canonical sign (prefersNegation), else undefined. A held
 * sum (a where clause's layer; also a Jacobian or adjoint that differentiation holds) keeps its
 * sign: its negation would be a copy that is not held, a second path to the layer below
 * (sin(-x - sin(x)) as -sin(x + sin(x)) beside -x - sin(x)).
 */
export function negatedSum(s: Node): Node | undefined {
  if (s.kind !== 'add' || s.terms.length < 2 || s.held || !prefersNegation(s)) return undefined;
  let neg = negatedCache.get(s);
  if (!neg) negatedCache.set(s, (neg = makeAdd(s.terms.map((t) => ({ coef: -t.coef, node: t.node })), s.shape)));
  return neg;
}
const negatedCache = new WeakMap<Node, Node>();

/** u for a sum exp(u) + 1 (the one a scalar or a tensor of ones of u's shape), else undefined. */
function expPlusOne(n: Node): Node | undefined {
  if (n.kind !== 'add' || n.terms.length !== 2) return undefined;
  const e = n.terms.find((t) => t.node.kind === 'elem' && t.node.fn === 'exp' && t.coef === 1);
  const one = n.terms.find((t) => t.coef === 1 && isAllOnes(t.node));
  return e && one ? (e.node as ElemNode).arg : undefined;
}

/** Whether every entry of n is 1: the scalar 1 broadcast over its axes (a ones vector, a ones matrix). */
export function isAllOnes(n: Node): boolean {
  const s = n.shape.length > 0 ? broadcastScalar(n) : n;
  return s !== undefined && constantValue(s) === 1;
}

/**
 * Whether v is a number written with at most six significant digits (2, 0.5, -0.125, 1e-7), up to
 * the rounding of floating point (0.01^2.5 is 1e-5 within 4 units in the last place).
 */
export const isShortNumber = (v: number): boolean => {
  const short = Number(v.toPrecision(6));
  return short === v || Math.abs(short - v) <= 4 * Number.EPSILON * Math.abs(v);
};

/** Functions whose value at a number is exact in floating point. */
const EXACT: ReadonlySet<ElemFn> = new Set(['abs', 'sign', 'relu']);

/** f(-u) = -f(u) */
const ODD: ReadonlySet<ElemFn> = new Set(['sin', 'tan', 'arcsin', 'arctan', 'tanh', 'sign']);
/** f(-u) = f(u) */
const EVEN: ReadonlySet<ElemFn> = new Set(['cos', 'abs']);

/** The function whose value f undoes: f(g(u)) = u for g = INVERSE_OF[f], where g(u) is defined. */
const INVERSE_OF: Partial<Record<ElementwiseFn, ElemFn>> = { log: 'exp', exp: 'log', tan: 'arctan', sin: 'arcsin', cos: 'arccos' };

export function makeElem(fn: ElementwiseFn, arg: Node): Node {
  if (fn === 'sqrt') return makePow(arg, 0.5);
  // f(c·1) = f(c)·1: constants fold where f is exact (|−2.25| = 2.25) or f(c) is a short number
  // (exp(0) = 1, sigmoid(0) = 0.5); otherwise f(c) stays as it is written (sin(1.5), not
  // 0.9974949866040544), a scalar broadcast over the shape.
  const [k, core] = splitCoef(arg);
  if (core.kind === 'const') {
    const v = ELEM_VALUE[fn](k * core.value);
    if (Number.isFinite(v) && (EXACT.has(fn) || isShortNumber(v))) return scale(v, ones(arg.shape));
  }
  // f(s·1) = f(s)·1 for a constant s broadcast over the axes (f(sin(1.5)·1), exp(log(-3)·1)).
  const s = arg.shape.length > 0 ? broadcastScalar(arg) : undefined;
  if (s !== undefined && freeVars(s).size === 0) {
    const rank = arg.shape.length;
    return makeMul([{ node: makeElem(fn, s), labels: [] }, ...arg.shape.map((_, i) => ({ node: ones([arg.shape[i]!]), labels: [i] }))], rank);
  }
  // f(f⁻¹(u)) = u: log(exp(u)) and tan(arctan(u)) everywhere; exp(log(u)), sin(arcsin(u)) and
  // cos(arccos(u)) where defined (u > 0, |u| ≤ 1).
  if (arg.kind === 'elem' && INVERSE_OF[fn] === arg.fn) return arg.arg;
  if (fn === 'log' && arg.kind === 'det') return makeLogdet(arg.arg); // log(det(X)) = logdet(X)
  // log(exp(u) + 1) = softplus(u): the same function, which does not overflow where exp(u) does
  // (the logistic loss at a margin of -800), and whose derivative is sigmoid(u), not the quotient
  // exp(u)/(exp(u) + 1) that is inf/inf there.
  const softplusArg = fn === 'log' ? expPlusOne(arg) : undefined;
  if (softplusArg) return makeElem('softplus', softplusArg);
  // exp(logdet(X)) = det(X) where logdet is defined, as exp(log(u)) = u: so exp(log(det(X'*X)))
  // is det(X'*X), 0 and differentiable where X'*X is singular (it stopped there: fuzzer seed 16).
  if (fn === 'exp' && arg.kind === 'logdet') return makeDet(arg.arg);
  // log(sum(exp(u))) = logsumexp(u), which does not overflow where exp(u) does (the softmax
  // cross-entropy at logits of 1000); exp(logsumexp(u)) = sum(exp(u)).
  const lseArg = fn === 'log' ? sumOfExp(arg) : undefined;
  if (lseArg) return makeLogsumexp(lseArg);
  if (fn === 'exp' && arg.kind === 'logsumexp') return makeMul([{ node: makeElem('exp', arg.arg), labels: arg.arg.shape.map((_, i) => i) }], 0);
  // |u| = relu(u) = u and sign(u) = 1 (or 0 where u is) for u ≥ 0; sign(u) = 1 for u > 0.
  if ((fn === 'abs' || fn === 'relu') && isNonNegative(arg)) return arg;
  if (fn === 'sign' && isPositive(arg)) return ones(arg.shape);
  // relu(k·u) = |k|·relu(±u): relu(2*b) = 2*relu(b), relu(-2*b) = 2*relu(-b).
  if (fn === 'relu') {
    const [k, core] = splitCoef(arg);
    if (Math.abs(k) !== 1) return scale(Math.abs(k), makeElem('relu', scale(Math.sign(k), core)));
  }
  // The Kronecker delta is 0 or 1, which sign and relu keep: sign(diag(z)) = diag(sign(z)).
  if (arg.kind === 'delta' && (fn === 'sign' || fn === 'relu')) return arg;
  if (ODD.has(fn) || EVEN.has(fn)) {
    // Of u and -u, the argument is the one whose leading term or coefficient is positive.
    const [k, core] = splitCoef(arg);
    const flipped = k < 0 ? scale(-k, core) : negatedSum(arg);
    if (flipped) return ODD.has(fn) ? neg(makeElem(fn, flipped)) : makeElem(fn, flipped);
  }
  if (fn === 'abs' || fn === 'sign') {
    // |k·u| = |k|·|u|, sign(k·u) = sign(k)·sign(u); over an entry-wise product (no summed label)
    // the same holds factor by factor: |u∘v| = |u|∘|v|.
    const [k, core] = splitCoef(arg);
    if (k !== 1) return scale(fn === 'abs' ? k : 1, makeElem(fn, core)); // k > 0 here
    if (core.kind === 'mul' && spreads(core) && core.nlabels === core.shape.length)
      return makeMul(core.factors.map((f) => ({ node: makeElem(fn, f.node), labels: f.labels })), core.shape.length);
  }
  if (fn === 'sign' && arg.kind === 'elem' && arg.fn === 'sign') return arg;
  // |u^k| = |u|^k for an integer k (abs(a^-1) is abs(a)^-1; at u = 0 with k < 0 both sides have
  // a pole). sign(u^p) = sign(|u|) for an even p > 0, and sign(u) for any other p where u^p is
  // defined and not positive throughout (an odd p, or p > 0 with u ≥ 0 where it is defined).
  if (fn === 'abs' && arg.kind === 'pow' && Number.isInteger(arg.exp)) return makePow(makeElem('abs', arg.base), arg.exp);
  if (fn === 'sign' && arg.kind === 'pow') return makeElem('sign', isEvenInteger(arg.exp) ? makeElem('abs', arg.base) : arg.base);
  // sign(f(u)) = sign(u) for f odd, increasing and nowhere 0 but at 0 (in floating point too:
  // tanh and arctan of a tiny u are u).
  if (fn === 'sign' && arg.kind === 'elem' && (arg.fn === 'tanh' || arg.fn === 'arctan')) return makeElem('sign', arg.arg);
  const perm = asPermutation(arg);
  if (perm) return makeMul([{ node: makeElem(fn, perm.base), labels: [...perm.perm] }], arg.shape.length);
  const diagonal = ZERO_AT_ZERO.has(fn) ? onDiagonal(arg, (d) => makeElem(fn, d)) : undefined;
  if (diagonal) return diagonal;
  return intern<ElemNode>(`f|${fn}|${arg.id}`, { kind: 'elem', fn, arg, shape: arg.shape });
}

/**
 * The axis pairs (a < b) off whose diagonal n is 0: those a δ joins in an entry-wise product
 * (diag(x)), common to every term of a sum (diag(x) - diag(y) as a sum of such products).
 */
function diagonalPairs(n: Node): (readonly [number, number])[] {
  if (n.kind === 'mul' && n.nlabels === n.shape.length)
    return n.factors
      .filter((x) => x.node.kind === 'delta' && x.labels[0] !== x.labels[1])
      .map((x) => [Math.min(x.labels[0]!, x.labels[1]!), Math.max(x.labels[0]!, x.labels[1]!)] as const);
  if (n.kind === 'add' && n.terms.length > 0) {
    const [first, ...rest] = n.terms.map((t) => diagonalPairs(t.node));
    return first!.filter(([a, b]) => rest.every((ps) => ps.some(([c, d]) => c === a && d === b)));
  }
  return [];
}

/** Functions with f(0) = 0, exactly (tanh and arctan of a tiny u are u in floating point too). */
const ZERO_AT_ZERO: ReadonlySet<ElemFn> = new Set(['sin', 'tan', 'arcsin', 'arctan', 'tanh', 'relu']);

/**
 * f(T) for a T that is 0 off a diagonal, an entry-wise product with a δ joining two of its axes
 * (diag(x) is x_i·δ_ij), and an f with f(0) = 0: f acts on the diagonal alone, sin(diag(x)) =
 * diag(sin(x)), diag(x).^0.5 = diag(x.^0.5). Undefined where T is not such a product.
 */
function onDiagonal(arg: Node, f: (diagonal: Node) => Node): Node | undefined {
  const pair = diagonalPairs(arg)[0];
  if (!pair) return undefined;
  const rank = arg.shape.length;
  const [a, b] = pair;
  const axes = arg.shape.map((_, k) => (k < b ? k : k === b ? a : k - 1));
  const kept = arg.shape.map((_, k) => k).filter((k) => k !== b);
  // A sum's diagonal is the sum of its terms' diagonals: a view of the sum kept whole would come
  // back to f as a product whose one factor is the sum, and f (makePow) would take the power of
  // that factor, the sum again, without end ((diag(x) - diag(y)).^3).
  const diagonalOf = (n: Node): Node => makeMul([{ node: n, labels: axes }], rank - 1);
  const diagonal =
    arg.kind === 'add'
      ? makeAdd(
          arg.terms.map((t) => ({ coef: t.coef, node: diagonalOf(t.node) })),
          kept.map((k) => arg.shape[k]!),
        )
      : diagonalOf(arg);
  return makeMul([{ node: f(diagonal), labels: kept }, { node: delta(arg.shape[a]!), labels: [a, b] }], rank);
}

export function makePowv(base: Node, exponent: Node): Node {
  if (!sameShape(base.shape, exponent.shape)) throw new InternalError('powv: shapes differ');
  const c = constantValue(exponent);
  if (c !== undefined) return makePow(base, c);
  const [k, core] = splitCoef(exponent);
  if (core.kind === 'const' && core.value === 1) return makePow(base, k);
  // (-1)^(k·n) for an integer-valued n (a size) and an integer k is 1 for an even k, (-1)^n for
  // an odd one: det(-D) by D, twice, has (-1)^(2·n) = 1.
  if (constantValue(base) === -1 && Number.isInteger(k) && k !== 1 && isIntegerValued(core))
    return k % 2 === 0 ? ones(base.shape) : makePowv(base, core);
  // (u^a)^e = u^(a·e) for u ≥ 0, in floating point too (at u = 0 both sides are 0, ∞ or 1 alike),
  // so that u^a cannot overflow where u^(a·e) does not: (norm1(X)^det(M))^(y'*x) (seed 61).
  if ((base.kind === 'pow' || base.kind === 'powv') && isNonNegative(base.base)) {
    const rank = base.shape.length;
    const inner = base.kind === 'pow' ? scalar(base.exp) : base.exponent;
    const labels = inner.shape.length === 0 ? [] : range(0, rank);
    return makePowv(base.base, makeMul([{ node: inner, labels }, { node: exponent, labels: range(0, rank) }], rank));
  }
  return intern<PowvNode>(`^v|${base.id}|${exponent.id}`, { kind: 'powv', base, exponent, shape: base.shape });
}

// ---------------------------------------------------------------------------------------------
// Matrix functions

export function makeInv(a: Node): Node {
  if (a.shape.length === 0) return makePow(a, -1);
  if (a.kind === 'inv') return a.arg; // inv(inv(A)) = A
  if (a.kind === 'delta') return a;
  if (a.kind === 'mpow' && a.dirs.length === 0) return makeMatPow(makeInv(a.base), a.exp); // inv(A^k) = inv(A)^k
  const [k, core] = splitShared(a);
  if (k !== 1) return scale(1 / k, makeInv(core));
  // inv(-M) = -inv(M): of a difference and its negation the inverse takes the canonical one, as
  // the difference itself does, so that (B - A)*inv(B - A) is eye as (A - B)*inv(A - B) is.
  const flipped = negatedSum(a);
  if (flipped) return scale(-1, makeInv(flipped));
  // inv(s·M) = s^-1·inv(M) for a scalar factor s (inv(b*A), inv(A/b)).
  const scaled = scalarPart(a);
  if (scaled) return makeMul([{ node: makePow(scaled.s, -1), labels: [] }, { node: makeInv(scaled.m), labels: [0, 1] }], 2);
  const perm = asPermutation(a);
  if (perm) return transpose(makeInv(perm.base)); // inv(A') = inv(A)'
  // inv(diag(w)) = diag(w.^-1), so that diag(x)*inv(diag(x)) is eye.
  if (isDiagonal(a)) return makeMul(a.factors.map((f) => (f.node.kind === 'delta' ? f : { node: makePow(f.node, -1), labels: f.labels })), 2);
  const shermanMorrison = rankOneInverse(a);
  if (shermanMorrison) return shermanMorrison;
  return intern<InvNode>(`inv|${a.id}`, { kind: 'inv', arg: a, shape: a.shape });
}

/**
 * A square matrix written as s·M with s the product of its scalar factors (b*A, A/b, (a + b)*X'*X),
 * or undefined where it has none (or nothing else).
 */
function scalarPart(a: Node): { s: Node; m: Node } | undefined {
  if (a.kind !== 'mul' || a.shape.length !== 2) return undefined;
  const scalars = a.factors.filter((f) => f.labels.length === 0);
  if (scalars.length === 0 || scalars.length === a.factors.length) return undefined;
  return { s: makeMul(scalars, 0), m: makeMul(a.factors.filter((f) => f.labels.length > 0), 2) };
}

/** s^e for each scalar factor u of s, with (u^p)^e = u^(p·e) for an integer p (e integer-valued). */
function scalarPowers(s: Node, e: Node): Node[] {
  const factors = s.kind === 'mul' ? s.factors.map((f) => f.node) : [s];
  return factors.map((u) => (u.kind === 'pow' && Number.isInteger(u.exp) ? makePowv(u.base, scale(u.exp, e)) : makePowv(u, e)));
}

const scalarProduct = (ns: readonly Node[]): Node => makeMul(ns.map((node) => ({ node, labels: [] })), 0);

/**
 * Whether every entry of a node is positive wherever it is defined: exp, sigmoid, softplus,
 * positive constants, their products and powers, and negative powers that are ≥ 0 (b^-2,
 * abs(u)^-0.5). A product's summed labels add positive terms.
 */
function isPositive(n: Node): boolean {
  const c = constantValue(n);
  if (c !== undefined) return c > 0;
  if (n.kind === 'const') return n.value > 0;
  if (n.kind === 'elem') return n.fn === 'exp' || n.fn === 'sigmoid' || n.fn === 'softplus';
  if (n.kind === 'pow') return isPositive(n.base) || (n.exp < 0 && isNonNegative(n));
  if (n.kind === 'powv') return isPositive(n.base);
  if (n.kind === 'mul') return n.factors.every((f) => isPositive(f.node));
  // A sum of non-negative terms, one of them positive (2 + abs(a)).
  if (n.kind === 'add') return n.terms.every((t) => t.coef > 0 && isNonNegative(t.node)) && n.terms.some((t) => isPositive(t.node));
  return false;
}

/** The size n of a square matrix's axes as a scalar node (Σ of ones over the axis). */
function sizeOf(a: Node): Node {
  return makeMul([{ node: ones([a.shape[0]!]), labels: [0] }], 0);
}

/** n − 1 for a square matrix's size n (the power of s in det(s·I + …) and adj(s·M)). */
function sizeMinusOne(a: Node): Node {
  return makeAdd([{ coef: 1, node: sizeOf(a) }, { coef: -1, node: scalar(1) }], []);
}

/**
 * A diagonal matrix as a product: δ_ij times vectors on i or j, matrices read on their diagonal
 * (M_ii) and scalars (diag(x), diag(x.*y)*2, diag(diag(B)), eye.*exp(B)).
 */
function isDiagonal(a: Node): a is MulNode {
  if (a.kind !== 'mul' || a.shape.length !== 2) return false;
  const d = a.factors.filter((f) => f.node.kind === 'delta');
  if (d.length !== 1 || !d[0]!.labels.every((l) => l === 0 || l === 1) || d[0]!.labels[0] === d[0]!.labels[1]) return false;
  const onDiagonal = (ls: readonly number[]): boolean => ls.length <= 2 && ls.every((l) => l === ls[0] && l <= 1);
  return a.factors.every((f) => f.node.kind === 'delta' || onDiagonal(f.labels));
}

/** diag(v.^k) as v and k, for an integer k (a diagonal whose only other factor is that power). */
function diagonalPower(a: MulNode): { base: Node; exp: number } | undefined {
  const vectors = a.factors.filter((f) => f.node.kind !== 'delta');
  const v = vectors[0]?.node;
  if (vectors.length !== 1 || vectors[0]!.labels.length !== 1 || v?.kind !== 'pow') return undefined;
  return Number.isInteger(v.exp) ? { base: v.base, exp: v.exp } : undefined;
}

export function makeDet(a: Node): Node {
  if (a.shape.length === 0) return a;
  if (a.kind === 'delta') return scalar(1);
  if (isZero(a)) return scalar(0); // det(0) = 0
  const [k, core] = splitShared(a);
  // det(c·I) = c^n, with n the size (Σ over the axis of ones).
  if (core.kind === 'delta') return makePowv(scalar(k), sizeOf(a));
  // det(-inv(S)) = 1/det(-S) for a sum S: makeInv keeps a difference in its canonical sign, so
  // inv(B - A) is -inv(A - B), and its determinant must meet det(B - A) as written.
  const inverted = k < 0 ? invertedSum(core) : undefined;
  if (inverted) return makePow(makeDet(scale(-1 / k, inverted)), -1);
  // det(k·M) = k^n·det(M) for a constant k.
  if (k !== 1) return scalarProduct([makePowv(scalar(k), sizeOf(a)), makeDet(core)]);
  // det(s·M) = s^n·det(M) for scalar factors s (n an integer: exact for every sign of s).
  const scaled = scalarPart(a);
  if (scaled) return scalarProduct([...scalarPowers(scaled.s, sizeOf(a)), makeDet(scaled.m)]);
  if (a.kind === 'inv') return makePow(makeDet(a.arg), -1); // det(inv(A)) = 1/det(A)
  // det(diag(v.^k)) = det(diag(v))^k for an integer k: inv(diag(v)) is diag(v.^-1), whose det is
  // 1/det(diag(v)), as det(inv(A)) is (det(inv(diag(y)))*det(diag(y)) is 1).
  const power = isDiagonal(a) ? diagonalPower(a) : undefined;
  if (power) return makePow(makeDet(makeMul([{ node: power.base, labels: [0] }, { node: delta(a.shape[0]!), labels: [0, 1] }], 2)), power.exp);
  if (a.kind === 'mpow' && a.dirs.length === 0) return makePow(makeDet(a.base), a.exp); // det(A^k) = det(A)^k
  const perm = asPermutation(a);
  if (perm) return makeDet(perm.base); // det(A') = det(A)
  const update = rankOneUpdate(a);
  if (update) return rankOneDet(a, update);
  return intern<DetNode>(`det|${a.id}`, { kind: 'det', arg: a, shape: [] });
}

/**
 * -S for a core inv(S) or inv(S)' whose argument S is a sum: the difference that makeInv turned
 * into its canonical sign, turned back.
 */
function invertedSum(core: Node): Node | undefined {
  const inv = asPermutation(core)?.base ?? core;
  if (inv.kind !== 'inv' || inv.arg.kind !== 'add' || inv.arg.terms.length < 2) return undefined;
  return makeAdd(inv.arg.terms.map((t) => ({ coef: -t.coef, node: t.node })), inv.arg.shape);
}

/**
 * det(s·I + c·u v') = s^(n−1)·(s + c·v'u), the matrix determinant lemma (tr of a rank-one product
 * is v'u), for a constant s ≠ 0 (for s = 1, 1 + c·v'u).
 */
function rankOneDet(a: Node, update: RankOneUpdate): Node {
  const last = rankOneLastPivot(update);
  return update.scale === 1 ? last : scalarProduct([makePowv(scalar(update.scale), sizeMinusOne(a)), last]);
}

/** s + c·v'u: what the rank-one update adds to the determinant, over s^(n−1). */
function rankOneLastPivot(update: RankOneUpdate): Node {
  return makeAdd([{ coef: update.scale, node: scalar(1) }, { coef: update.coef, node: makeMul([{ node: update.outer, labels: [0, 0] }], 0) }], []);
}

/**
 * inv(s·I + c·u v') = (I − c·u v'/(s + c·v'u))/s, the Sherman–Morrison formula. It is undefined
 * exactly where the matrix is singular (s + c·v'u = 0, by the determinant lemma), so it keeps the
 * domain.
 */
function rankOneInverse(a: Node): Node | undefined {
  const update = rankOneUpdate(a);
  if (!update) return undefined;
  const scaledOuter = makeMul([{ node: update.outer, labels: [0, 1] }, { node: makePow(rankOneLastPivot(update), -1), labels: [] }], 2);
  const unscaled = makeAdd([{ coef: 1, node: update.eye }, { coef: -update.coef, node: scaledOuter }], a.shape);
  return update.scale === 1 ? unscaled : scale(1 / update.scale, unscaled);
}

interface RankOneUpdate {
  /** The identity (a delta) and its constant factor s ≠ 0. */
  readonly eye: Node;
  readonly scale: number;
  /** c and the rank-one product P = u v'. */
  readonly coef: number;
  readonly outer: Node;
}

/**
 * s·I + c·P with a constant s ≠ 0 and P an outer product u v' (a product whose factors split into
 * a part on the row axis and a part on the column axis that no summed axis joins; a constant
 * matrix is one, 𝟏𝟏' times its entry), or undefined. (Lowering drops axes of size 1, so M*M' for
 * an n×1 M is x*x'.)
 */
function rankOneUpdate(a: Node): RankOneUpdate | undefined {
  if (a.kind !== 'add' || a.terms.length !== 2) return undefined;
  const eye = a.terms.find((t) => t.node.kind === 'delta' && t.coef !== 0 && Number.isFinite(t.coef));
  const other = a.terms.find((t) => t !== eye);
  if (!eye || !other || other.node.shape.length !== 2) return undefined;
  const update = { eye: eye.node, scale: eye.coef, coef: other.coef };
  if (other.node.kind === 'const') return { ...update, outer: other.node }; // c·𝟏𝟏'
  if (other.node.kind !== 'mul') return undefined;
  // A matrix of ones is the outer product of two vectors of ones.
  const split = other.node.factors.flatMap((f): Factor[] =>
    f.node.kind === 'const' && f.labels.length === 2 ? f.labels.map((l, i) => ({ node: ones([f.node.shape[i]!]), labels: [l] })) : [f],
  );
  const joined = factorComponents(split, 2).some((c) => c.free.has(0) && c.free.has(1));
  return joined ? undefined : { ...update, outer: other.node };
}

export function makeLogdet(a: Node): Node {
  if (a.shape.length === 0) return makeElem('log', a);
  if (a.kind === 'delta') return scalar(0);
  if (a.kind === 'inv') return neg(makeLogdet(a.arg)); // logdet(inv(A)) = -logdet(A)
  // logdet(s·M) = n·log(s) + logdet(M) for a positive s (a constant, exp(b), sigmoid(b), …).
  const [k, core] = splitShared(a);
  // logdet(-inv(S)) = -logdet(-S) for a sum S, as det (makeDet).
  const inverted = k < 0 ? invertedSum(core) : undefined;
  if (inverted) return neg(makeLogdet(scale(-1 / k, inverted)));
  const scaled = scalarPart(core);
  if ((k !== 1 && k > 0) || (k === 1 && scaled && isPositive(scaled.s))) {
    const s = k !== 1 ? scalar(k) : scaled!.s;
    const m = k !== 1 ? core : scaled!.m;
    return makeAdd([{ coef: 1, node: scalarProduct([sizeOf(a), makeElem('log', s)]) }, { coef: 1, node: makeLogdet(m) }], []);
  }
  const perm = asPermutation(a);
  if (perm) return makeLogdet(perm.base);
  // logdet(s·I + c·u v') = (n − 1)·log(s) + log(s + c·v'u) for s > 0, as det (makeDet); the log
  // of the determinant itself for s < 0 (NaN where it is negative, as logdet is).
  const update = rankOneUpdate(a);
  if (update && update.scale < 0) return makeElem('log', rankOneDet(a, update));
  if (update) {
    const last = makeElem('log', rankOneLastPivot(update));
    if (update.scale === 1) return last;
    return makeAdd([{ coef: 1, node: scalarProduct([sizeMinusOne(a), makeElem('log', scalar(update.scale))]) }, { coef: 1, node: last }], []);
  }
  return intern<LogdetNode>(`logdet|${a.id}`, { kind: 'logdet', arg: a, shape: [] });
}

/** logsumexp(u) = log Σ exp(u) over all entries: u itself for a scalar, as log(exp(u)) is. */
export function makeLogsumexp(a: Node): Node {
  if (a.shape.length === 0) return a;
  // Σ over all entries does not depend on their order: logsumexp(X') = logsumexp(X).
  const perm = asPermutation(a);
  if (perm) return makeLogsumexp(perm.base);
  // A scalar added to every entry comes out: logsumexp(u + c·1) = logsumexp(u) + c, and
  // logsumexp(c·1) = c + log(n) for n entries.
  const c = broadcastOf(a);
  if (c) return makeAdd([{ coef: 1, node: c }, { coef: 1, node: makeElem('log', entryCount(a.shape)) }], []);
  const shifted = shiftOf(a);
  if (shifted) return makeAdd([{ coef: 1, node: makeLogsumexp(shifted.rest) }, { coef: 1, node: shifted.shift }], []);
  return intern<LogsumexpNode>(`lse|${a.id}`, { kind: 'logsumexp', arg: a, shape: [] });
}

/**
 * u and c where a is u + c·1 (the terms of a sum that are scalars broadcast over every entry,
 * and the others), where both are there; else undefined.
 */
function shiftOf(a: Node): { rest: Node; shift: Node } | undefined {
  if (a.kind !== 'add') return undefined;
  const shifts = a.terms.map((t) => broadcastOf(t.node));
  if (shifts.every((c) => c === undefined) || shifts.every((c) => c !== undefined)) return undefined;
  const rest = makeAdd(a.terms.filter((_, i) => shifts[i] === undefined), a.shape);
  const shift = makeAdd(a.terms.flatMap((t, i) => (shifts[i] ? [{ coef: t.coef, node: shifts[i] }] : [])), []);
  return { rest, shift };
}

/** The number of entries of a tensor of this shape, Σ over all its entries of 1 (len(x), rows(A)*cols(A)). */
function entryCount(shape: readonly Dim[]): Node {
  return makeMul([{ node: ones(shape), labels: shape.map((_, i) => i) }], 0);
}

/** The scalar s where n is s·1 (broadcastScalar), also where s is a contraction ((x'*y)·1). */
const broadcastOf = (n: Node): Node | undefined => broadcastScalar(n) ?? broadcastContraction(n);

/** s where n is a product of ones, one on each axis, and a scalar s of summed labels ((x'*y)·1), else undefined. */
function broadcastContraction(n: Node): Node | undefined {
  if (n.kind !== 'mul') return undefined;
  const rank = n.shape.length;
  const onAxes = n.factors.filter((f) => f.labels.some((l) => l < rank));
  const isOnes = (f: Factor): boolean => f.node.kind === 'const' && f.node.value === 1 && f.labels.length === 1;
  if (onAxes.length !== rank || !onAxes.every(isOnes) || new Set(onAxes.map((f) => f.labels[0])).size !== rank) return undefined;
  return makeMul(n.factors.filter((f) => !onAxes.includes(f)), 0);
}

/** softmax(u) = exp(u − logsumexp(u)): exp(u)/sum(exp(u)), with no exp that overflows. */
export function makeSoftmax(a: Node): Node {
  // A scalar added to every entry changes nothing: softmax(u + c·1) = softmax(u), and
  // softmax(c·1) is 1/n on each of its n entries.
  if (a.shape.length > 0 && broadcastOf(a)) {
    const axes = a.shape.map((_, i) => i);
    return makeMul([{ node: makePow(entryCount(a.shape), -1), labels: [] }, { node: ones(a.shape), labels: axes }], a.shape.length);
  }
  const shifted = shiftOf(a);
  if (shifted) return makeSoftmax(shifted.rest);
  const lse = makeLogsumexp(a);
  const spread = a.shape.length === 0 ? lse : makeMul([{ node: lse, labels: [] }, { node: ones(a.shape), labels: a.shape.map((_, i) => i) }], a.shape.length);
  return makeElem('exp', makeAdd([{ coef: 1, node: a }, { coef: -1, node: spread }], a.shape));
}

/** u where n is Σ exp(u) over every entry of u (sum(exp(u))), else undefined. */
function sumOfExp(n: Node): Node | undefined {
  if (n.kind !== 'mul' || n.shape.length !== 0 || n.factors.length !== 1) return undefined;
  const [f] = n.factors as [Factor];
  if (f.node.kind !== 'elem' || f.node.fn !== 'exp' || f.node.shape.length === 0) return undefined;
  return new Set(f.labels).size === f.labels.length ? f.node.arg : undefined;
}

/**
 * log(sigmoid(u)) and log(1 - sigmoid(u)), which the evaluators compute from u as -softplus(-u)
 * ('logsigmoid') and -softplus(u) ('negsoftplus'): finite where sigmoid(u) rounds to 0 or 1 (the
 * binary cross-entropy at a margin of 800). Undefined for any other node.
 */
export function logSigmoidOf(n: Node): { readonly arg: Node; readonly fn: 'logsigmoid' | 'negsoftplus' } | undefined {
  if (n.kind !== 'elem' || n.fn !== 'log') return undefined;
  const a = n.arg;
  if (a.kind === 'elem' && a.fn === 'sigmoid') return { arg: a.arg, fn: 'logsigmoid' };
  if (a.kind !== 'add' || a.terms.length !== 2) return undefined;
  const s = a.terms.find((t) => t.coef === -1 && t.node.kind === 'elem' && t.node.fn === 'sigmoid');
  const one = a.terms.find((t) => t !== s && t.coef === 1 && isAllOnes(t.node));
  return s && one ? { arg: (s.node as ElemNode).arg, fn: 'negsoftplus' } : undefined;
}

/** The argument u where n is softmax(u) = exp(u − logsumexp(u)·1), else undefined (for the printers). */
export function softmaxArg(n: Node): Node | undefined {
  if (n.kind !== 'elem' || n.fn !== 'exp' || n.arg.kind !== 'add') return undefined;
  for (const t of n.arg.terms) {
    const lse = t.coef === -1 ? broadcastScalar(t.node) : undefined;
    if (lse?.kind === 'logsumexp' && makeSoftmax(lse.arg) === n) return lse.arg;
  }
  return undefined;
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/**
 * The axis permutation behind a merge: reversing the axes within each group turns the column-major
 * merge into a row-major reshape, so merge(T) = reshape(permute(T, perm)).
 */
export function mergePermutation(groups: readonly number[]): number[] {
  const perm: number[] = [];
  let at = 0;
  for (const g of groups) {
    for (let k = g - 1; k >= 0; k--) perm.push(at + k);
    at += g;
  }
  return perm;
}

/**
 * Merges groups of consecutive axes of arg column-major (see MergeNode). `shape` gives the size
 * symbol of every output axis; a group of one axis keeps arg's symbol.
 */
export function makeMerge(arg: Node, groups: readonly number[], shape: readonly Dim[]): Node {
  if (groups.reduce((a, b) => a + b, 0) !== arg.shape.length || groups.length !== shape.length || groups.some((g) => g < 1))
    throw new InternalError(`merge: groups ${groups} do not fit a tensor of rank ${arg.shape.length}`);
  let axis = 0;
  groups.forEach((g, k) => {
    if (g === 1 && arg.shape[axis] !== shape[k]) throw new InternalError('merge: a single axis must keep its size');
    axis += g;
  });
  if (groups.every((g) => g === 1)) return arg;
  // A merge of zeros stays a merge: its merged sizes are products that evaluators must still know.
  const [k, core] = splitCoef(arg);
  if (k !== 1) return scale(k, makeMerge(core, groups, shape));
  const absorbed = core.kind === 'add' ? absorbedTerms(core, groups, shape) : absorbedPair(core, groups, shape);
  if (absorbed) return absorbed;
  if (mergedIdentity(core, groups, shape)) return delta(shape[0]!);
  return intern<MergeNode>(`merge|${arg.id}|${groups.join('.')}|${shapeKey(shape)}`, { kind: 'merge', arg, groups: [...groups], shape: [...shape] });
}

/**
 * A merged pair of axes (x, x + 1) of arg that one merge inside arg alone carries, as two single
 * axes in the same order: merged there instead, since both merges number column-major. In the vec
 * layout, ∂vec(U)/∂X is a merge with X's two axes single, and the layout merges that pair again:
 * A*vec(X) by X is then A (with mergedIdentity), not a reshape of a reshape. Undefined where no
 * pair is carried so.
 */
function absorbedPair(arg: Node, groups: readonly number[], shape: readonly Dim[]): Node | undefined {
  const rank = arg.shape.length;
  const factors: readonly Factor[] = arg.kind === 'mul' ? arg.factors : [{ node: arg, labels: range(0, rank) }];
  let x = 0;
  for (let g = 0; g < groups.length; x += groups[g]!, g++) {
    if (groups[g] !== 2) continue;
    const y = x + 1;
    const holders = factors.filter((f) => f.labels.includes(x) || f.labels.includes(y));
    const f = holders[0];
    if (holders.length !== 1 || f!.node.kind !== 'merge') continue;
    const m = f!.node;
    const u = f!.labels.indexOf(x);
    const once = f!.labels.filter((l) => l === x || l === y).length === 2;
    if (!once || f!.labels[u + 1] !== y || m.groups[u] !== 1 || m.groups[u + 1] !== 1) continue;
    const inner = makeMerge(m.arg, [...m.groups.slice(0, u), 2, ...m.groups.slice(u + 2)], [...m.shape.slice(0, u), shape[g]!, ...m.shape.slice(u + 2)]);
    const shift = (l: number): number => (l > y ? l - 1 : l);
    const rest = factors.filter((h) => h !== f).map((h) => ({ node: h.node, labels: h.labels.map(shift) }));
    const labels = [...f!.labels.slice(0, u + 1), ...f!.labels.slice(u + 2)].map(shift);
    const body = makeMul([...rest, { node: inner, labels }], rank - 1);
    return makeMerge(body, [...groups.slice(0, g), 1, ...groups.slice(g + 1)], shape);
  }
  return undefined;
}

/**
 * A merged sum whose terms absorb a merged pair (absorbedPair) as the sum of those terms merged
 * apart, plus the merge of the others, which stay together for the printer's combined forms:
 * vec(X)'*B*vec(X) by X, whose two terms each carry both pairs, is then B + B'.
 */
function absorbedTerms(sum: AddNode, groups: readonly number[], shape: readonly Dim[]): Node | undefined {
  const apart: Term[] = [];
  const rest: Term[] = [];
  for (const t of sum.terms) {
    const a = absorbedPair(t.node, groups, shape);
    if (a) apart.push({ coef: t.coef, node: a });
    else rest.push(t);
  }
  if (apart.length === 0) return undefined;
  const others = rest.length > 0 ? [{ coef: 1, node: makeMerge(makeAdd(rest, sum.shape), groups, shape) }] : [];
  return makeAdd([...apart, ...others], shape);
}

/**
 * Whether arg is δ(i, k)·δ(j, l) merged into the pairs (i, j) and (k, l) of one size symbol: the
 * identity of that size (kron(eye, eye), ∂vec(X)/∂vec(X)).
 */
function mergedIdentity(arg: Node, groups: readonly number[], shape: readonly Dim[]): boolean {
  if (groups.length !== 2 || groups[0] !== 2 || groups[1] !== 2 || shape[0] !== shape[1]) return false;
  if (arg.kind !== 'mul' || arg.factors.length !== 2) return false;
  const paired = (f: Factor): boolean => f.node.kind === 'delta' && Math.abs(f.labels[0]! - f.labels[1]!) === 2 && Math.min(...f.labels) < 2;
  return arg.factors.every(paired);
}

export function makeAdj(a: Node): Node {
  if (a.shape.length === 0) return scalar(1); // the adjugate of a 1×1 matrix is [1]
  if (a.kind === 'delta') return a; // adj(I) = I
  // adj(A⁻¹) = det(A⁻¹)·A = A/det(A) (where A⁻¹ exists at all)
  if (a.kind === 'inv') return makeMul([{ node: makePow(makeDet(a.arg), -1), labels: [] }, { node: a.arg, labels: [0, 1] }], 2);
  // adj(s·M) = s^(n-1)·adj(M) for a constant or scalar factors s (n - 1 an integer).
  const [k, core] = splitShared(a);
  const scaled = scalarPart(core);
  if (k !== 1 || scaled) {
    const e = sizeMinusOne(a);
    const powers = [...(k !== 1 ? [makePowv(scalar(k), e)] : []), ...(scaled ? scalarPowers(scaled.s, e) : [])];
    return makeMul([{ node: scalarProduct(powers), labels: [] }, { node: makeAdj(scaled ? scaled.m : core), labels: [0, 1] }], 2);
  }
  const perm = asPermutation(a);
  if (perm) return transpose(makeAdj(perm.base)); // adj(A') = adj(A)'
  return intern<AdjNode>(`adj|${a.id}`, { kind: 'adj', arg: a, shape: a.shape });
}

/** adj2(A) = ∂adj(A)/∂A (see Adj2Node): 0 for a 1×1 matrix, whose adjugate is the constant 1. */
export function makeAdj2(a: Node): Node {
  const n = a.shape[0];
  if (a.shape.length !== 2 || n === undefined) return zeros(a.shape.length === 0 ? [] : [...a.shape, ...a.shape]);
  const perm = asPermutation(a);
  // adj(A')^i_j = adj(A)^j_i, and (A')^p_q = A^q_p: adj2(A')^i_j^p_q = adj2(A)^j_i^q_p.
  if (perm) return makeMul([{ node: makeAdj2(perm.base), labels: [1, 0, 3, 2] }], 4);
  return intern<Adj2Node>(`adj2|${a.id}`, { kind: 'adj2', arg: a, shape: [n, n, n, n] });
}

/** adj3(A) = ∂adj2(A)/∂A (see Adj3Node): 0 for a 1×1 matrix. */
export function makeAdj3(a: Node): Node {
  const n = a.shape[0];
  if (a.shape.length !== 2 || n === undefined) return zeros(a.shape.length === 0 ? [] : [...a.shape, ...a.shape, ...a.shape]);
  const perm = asPermutation(a);
  // As for adj2: adj3(A')^i_j^p_q^r_s = adj3(A)^j_i^q_p^s_r.
  if (perm) return makeMul([{ node: makeAdj3(perm.base), labels: [1, 0, 3, 2, 5, 4] }], 6);
  return intern<Adj3Node>(`adj3|${a.id}`, { kind: 'adj3', arg: a, shape: [n, n, n, n, n, n] });
}

/** A part of adj2(A) for the compiled evaluator (see AdjPartNode). */
export function makeAdjPart(a: Node, part: AdjPart): AdjPartNode {
  if (a.shape.length !== 2) throw new InternalError('adjpart: the argument must be a matrix');
  const shape = part === 'd' || part === 'k' ? [] : a.shape;
  return intern<AdjPartNode>(`adjpart|${part}|${a.id}`, { kind: 'adjpart', arg: a, part, shape });
}

// ---------------------------------------------------------------------------------------------
// Matrix powers

/** C(k, m) for the small m that occur (orders of differentiation): each partial product is an integer. */
export function binomial(k: number, m: number): number {
  let c = 1;
  for (let i = 1; i <= m; i++) c = (c * (k - m + i)) / i;
  return c;
}

const MIN_NORMAL = 2.2250738585072014e-308;

const upTo = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/**
 * The chain product of square blocks with batch axes, F_1 F_2 ⋯ F_L:
 *   out[i, j, b_1…, b_L] = Σ F_1[i, p_1, b_1] F_2[p_1, p_2, b_2] ⋯ F_L[p_{L−1}, j, b_L]
 * (δ for no blocks).
 */
export function chainProduct(items: readonly Node[], n: Dim): Node {
  return chainInOrder(items, items.map((_, t) => t), n);
}

/** The chain of the items in the given order, each item's batch axes at their place in the item list. */
function chainInOrder(items: readonly Node[], order: readonly number[], n: Dim): Node {
  if (items.length === 0) return delta(n);
  const offsets: number[] = [];
  let at = 2;
  for (const it of items) {
    offsets.push(at);
    at += it.shape.length - 2;
  }
  const rank = at;
  const factors: Factor[] = order.map((t, pos) => {
    const it = items[t]!;
    const row = pos === 0 ? 0 : rank + pos - 1;
    const col = pos === order.length - 1 ? 1 : rank + pos;
    return { node: it, labels: [row, col, ...upTo(offsets[t]!, it.shape.length - 2)] };
  });
  return makeMul(factors, rank);
}

function* orders(m: number): Generator<number[]> {
  yield* permutations(Array.from({ length: m }, (_, t) => t));
}

/** Σ over the orders σ of the chains E_σ1 ⋯ E_σm: P(A, k; E) when k = m. */
function chainsInAllOrders(items: readonly Node[], n: Dim): Node {
  const shape = [n, n, ...items.flatMap((d) => d.shape.slice(2))];
  return makeAdd([...orders(items.length)].map((o) => ({ coef: 1, node: chainInOrder(items, o, n) })), shape);
}

/** The gaps (g_0, …, g_m), each ≥ 0, that add up to total. */
function* compositions(total: number, parts: number): Generator<number[]> {
  if (parts === 1) {
    yield [total];
    return;
  }
  for (let g = 0; g <= total; g++) for (const rest of compositions(total - g, parts - 1)) yield [g, ...rest];
}

/** How many chains expandMatPow writes: m!·C(k, m). */
export function matPowTerms(k: number, m: number): number {
  let f = 1;
  for (let i = 2; i <= m; i++) f *= i;
  return f * binomial(k, m);
}

/**
 * P(A, k; E_1..E_m) written out as its defining sum: every chain A^g0 E_σ1 A^g1 ⋯ E_σm A^gm with
 * σ an order of the directions and g_0 + … + g_m = k − m. For printing a small power whose
 * directions carry batch axes (the Jacobian of (x*x')^2*x), where the sum has a matrix form and
 * the power with such directions has none; matPowTerms(k, m) terms.
 */
export function expandMatPow(a: Node, k: number, dirs: readonly Node[]): Node {
  const n = a.shape[0]!;
  const m = dirs.length;
  const shape = [n, n, ...dirs.flatMap((d) => d.shape.slice(2))];
  const terms: { coef: number; node: Node }[] = [];
  for (const sigma of orders(m))
    for (const gaps of compositions(k - m, m + 1)) {
      // The directions first in the item list (their batch axes keep their places), the powers after.
      const items: Node[] = [...dirs];
      const order: number[] = [];
      gaps.forEach((g, j) => {
        if (g > 0) {
          order.push(items.length);
          items.push(makeMatPow(a, g));
        }
        if (j < m) order.push(sigma[j]!);
      });
      terms.push({ coef: 1, node: chainInOrder(items, order, n) });
    }
  return makeAdd(terms, shape);
}

/**
 * A^k, or P(A, k; E_1..E_m) with directions (see MatPowNode), in canonical form:
 *   k < 0: (A⁻¹)^(−k);  m > k or a zero direction: 0;  m = k: Σ_σ E_σ1⋯E_σm (so A^0 = δ, A^1 = A);
 *   P(A, k; c·E) = c·P(A, k; E);  (c·A)^k = c^k·A^k (c^(k−m) with directions);
 *   P(δ, k; E) = C(k, m)·Σ_σ E_σ1⋯E_σm;  (A^j)^k = A^(j·k);
 *   P(A', k; E_1..E_m)[i, j, β] = P(A, k; E_1'..E_m')[j, i, β] (the base is never a transpose);
 *   the directions in canonical order (P is symmetric in them, with their batch axes).
 */
export function makeMatPow(a: Node, k: number, dirs: readonly Node[] = []): Node {
  // Exponents are exact: k − m, j·k and sums of exponents are integer arithmetic below 2^53.
  if (!Number.isSafeInteger(k)) throw new InternalError(`matrix power with exponent ${k}`);
  const n = a.shape[0]!;
  if (a.shape.length !== 2 || a.shape[1] !== n) throw new InternalError('matrix power of a node that is not a square matrix');
  for (const d of dirs)
    if (d.shape.length < 2 || d.shape[0] !== n || d.shape[1] !== n) throw new InternalError('matrix power: a direction is not n×n×…');
  const m = dirs.length;
  const shape = [n, n, ...dirs.flatMap((d) => d.shape.slice(2))];
  if (k < 0) {
    if (m > 0) throw new InternalError('matrix power: directions of a negative power');
    return makeMatPow(makeInv(a), -k);
  }
  if (m > k || dirs.some(isZero)) return zeros(shape);
  if (m === k) return chainsInAllOrders(dirs, n);
  if (isZero(a)) return zeros(shape);
  if (k === 1) return a;
  let dirCoef = 1;
  const ds = dirs.map((d) => {
    const [c, core] = splitCoef(d);
    dirCoef *= c;
    return core;
  });
  if (dirCoef !== 1) return scale(dirCoef, makeMatPow(a, k, ds));
  const [c, core] = splitCoef(a);
  if (c !== 1) {
    // Only where c^(k−m) is a normal number: (2A)^100000 keeps its base rather than becoming ∞·A^k.
    const ck = Math.pow(c, k - m);
    if (Number.isFinite(ck) && Math.abs(ck) >= MIN_NORMAL) return scale(ck, makeMatPow(core, k, ds));
  }
  if (a.kind === 'delta') return scale(binomial(k, m), chainsInAllOrders(ds, n));
  // diag(u)^k = diag(u.^k): a power of a matrix that is 0 off its diagonal acts on the diagonal.
  const diagonal = m === 0 ? onDiagonal(a, (d) => makePow(d, k)) : undefined;
  if (diagonal) return diagonal;
  const perm = asPermutation(a);
  if (perm) {
    if (m === 0) return transpose(makeMatPow(perm.base, k));
    const flipped = ds.map((d) => makeMul([{ node: d, labels: [1, 0, ...upTo(2, d.shape.length - 2)] }], d.shape.length));
    return makeMul([{ node: makeMatPow(perm.base, k, flipped), labels: [1, 0, ...upTo(2, shape.length - 2)] }], shape.length);
  }
  if (m === 0 && a.kind === 'mpow' && a.dirs.length === 0 && Number.isSafeInteger(a.exp * k)) return makeMatPow(a.base, a.exp * k);
  // (u·v')^k = (v'·u)^(k−1)·u·v': a power of an outer product is a scalar power times it.
  const outer = m === 0 ? outerProductTrace(a) : undefined;
  if (outer) return makeMul([{ node: makePow(outer, k - 1), labels: [] }, { node: a, labels: [0, 1] }], 2);
  const order = ds.map((_, t) => t).sort((x, y) => compareNodes(ds[x]!, ds[y]!) || x - y);
  if (order.some((t, i) => t !== i)) {
    const offsets: number[] = [];
    let at = 2;
    for (const d of ds) {
      offsets.push(at);
      at += d.shape.length - 2;
    }
    const labels = [0, 1, ...order.flatMap((t) => upTo(offsets[t]!, ds[t]!.shape.length - 2))];
    return makeMul([{ node: makeMatPow(a, k, order.map((t) => ds[t]!)), labels }], shape.length);
  }
  return intern<MatPowNode>(`mp|${a.id}|${k}|${ds.map((d) => d.id).join(',')}`, { kind: 'mpow', base: a, exp: k, dirs: ds, shape });
}

/**
 * v'·u for a matrix that is an outer product u·v' (a product none of whose parts joins its row to
 * its column: x*y', diag(x)*vector(1)*y'), or undefined.
 */
function outerProductTrace(a: Node): Node | undefined {
  if (a.kind !== 'mul' || a.shape.length !== 2) return undefined;
  let sides = 0;
  for (const c of factorComponents(a.factors, 2)) {
    if (c.free.has(0) && c.free.has(1)) return undefined;
    if (c.free.has(0)) sides |= 1;
    if (c.free.has(1)) sides |= 2;
  }
  if (sides !== 3) return undefined;
  // The trace: the row and the column become one summed label.
  let next = 2;
  for (const f of a.factors) for (const l of f.labels) next = Math.max(next, l + 1);
  return makeMul(
    a.factors.map((f) => ({ node: f.node, labels: f.labels.map((l) => (l < 2 ? next : l)) })),
    0,
  );
}

/** A factor seen as a power of a base: A^k (without directions) is (A, k), another square matrix M is (M, 1). */
export function asMatPower(n: Node): { base: Node; exp: number } | undefined {
  if (n.kind === 'mpow') return n.dirs.length === 0 ? { base: n.base, exp: n.exp } : undefined;
  if (n.shape.length !== 2 || n.shape[0] !== n.shape[1] || n.kind === 'delta' || n.kind === 'const') return undefined;
  return { base: n, exp: 1 };
}

/**
 * Whether the matrix factors f and g of a product are linked as f·g: a summed label that is f's
 * column and g's row and occurs in no other slot (count gives the slots of a label). Then the pair
 * is the matrix (f·g)[row, col]. A symmetric factor reads either way round.
 */
export function chainLink(
  f: Factor,
  g: Factor,
  rank: number,
  count: (l: number) => number,
): { row: number; col: number; via: number } | undefined {
  for (const [fr, fc] of orientations(f))
    for (const [gr, gc] of orientations(g)) if (fc === gr && fc >= rank && count(fc) === 2) return { row: fr, col: gc, via: fc };
  return undefined;
}

function orientations(f: Factor): [number, number][] {
  if (f.labels.length !== 2) return [];
  const [a, b] = f.labels as [number, number];
  if (a === b) return [];
  return isSymmetric(f.node) ? [[a, b], [b, a]] : [[a, b]];
}

/**
 * Chains of powers of one base fold into one power: A_ip A_pj → (A²)_ij, (A²)_ip A_pj → (A³)_ij,
 * A_pq A_qp → tr(A²) (the linking label summed and in no other factor).
 */
function foldPowerChains(fs: MFactor[], rank: number): void {
  if (fs.length < 2) return;
  const seen = new Set<Node>();
  let repeated = false;
  for (const f of fs) {
    const p = asMatPower(f.node);
    if (!p) continue;
    if (seen.has(p.base)) repeated = true;
    seen.add(p.base);
  }
  if (!repeated) return;
  const count = labelCounts(fs);
  const slots = (l: number): number => count.get(l) ?? 0;
  // A link is a summed label in two slots, of two powers of one base: where none is, nothing folds.
  const base = new Map<number, Node>();
  let linked = false;
  for (const f of fs) {
    const p = asMatPower(f.node);
    if (!p) continue;
    for (const l of f.labels) {
      if (l < rank || count.get(l) !== 2) continue;
      const other = base.get(l);
      if (other === undefined) base.set(l, p.base);
      else linked ||= other === p.base;
    }
  }
  if (!linked) return;
  for (let changed = true; changed; ) {
    changed = false;
    // A link joins factors that share a label: only those are tried, in order (each search O(n)).
    const holders = new Map<number, number[]>();
    fs.forEach((f, k) => {
      for (const l of new Set(f.labels)) {
        const list = holders.get(l);
        if (list) list.push(k);
        else holders.set(l, [k]);
      }
    });
    search: for (let i = 0; i < fs.length; i++) {
      const pi = asMatPower(fs[i]!.node);
      if (!pi) continue;
      const near = new Set<number>();
      for (const l of fs[i]!.labels) for (const j of holders.get(l)!) if (j !== i) near.add(j);
      for (const j of [...near].sort((a, b) => a - b)) {
        const pj = asMatPower(fs[j]!.node);
        if (!pj || pj.base !== pi.base || !Number.isSafeInteger(pi.exp + pj.exp)) continue;
        const link = chainLink(fs[i]!, fs[j]!, rank, slots);
        if (!link) continue;
        const merged = makeMatPow(pi.base, pi.exp + pj.exp);
        // A power of a diagonal is the diagonal's power (diag(u)^2 = diag(u.^2)), a product that
        // the chain keeps as its two factors: their deltas join as they are.
        if (merged.kind !== 'mpow') continue;
        count.delete(link.via);
        fs[i] = { node: merged, labels: [link.row, link.col] };
        fs.splice(j, 1);
        changed = true;
        break search;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Traversal helpers

export function children(n: Node): Node[] {
  switch (n.kind) {
    case 'var':
    case 'const':
    case 'delta':
      return [];
    case 'add':
      return n.terms.map((t) => t.node);
    case 'mul':
      return n.factors.map((f) => f.node);
    case 'elem':
    case 'inv':
    case 'det':
    case 'logdet':
    case 'logsumexp':
    case 'merge':
    case 'adj':
    case 'adj2':
    case 'adj3':
    case 'adjpart':
      return [n.arg];
    case 'pow':
      return [n.base];
    case 'powv':
      return [n.base, n.exponent];
    case 'mpow':
      return [n.base, ...n.dirs];
  }
}

/** Rebuilds a node with each child replaced by f(child), through the canonicalizing constructors. */
export function mapChildren(n: Node, f: (c: Node) => Node): Node {
  switch (n.kind) {
    case 'var':
    case 'const':
    case 'delta':
      return n;
    case 'add':
      return makeAdd(n.terms.map((t) => ({ coef: t.coef, node: f(t.node) })), n.shape, n.held);
    case 'mul':
      return keepHeld(n, makeMul(n.factors.map((g) => ({ node: f(g.node), labels: g.labels })), n.shape.length));
    case 'elem':
      return makeElem(n.fn, f(n.arg));
    case 'pow':
      return makePow(f(n.base), n.exp);
    case 'powv':
      return makePowv(f(n.base), f(n.exponent));
    case 'inv':
      return makeInv(f(n.arg));
    case 'det':
      return makeDet(f(n.arg));
    case 'logdet':
      return makeLogdet(f(n.arg));
    case 'logsumexp':
      return makeLogsumexp(f(n.arg));
    case 'merge':
      return makeMerge(f(n.arg), n.groups, n.shape);
    case 'adj':
      return makeAdj(f(n.arg));
    case 'adj2':
      return makeAdj2(f(n.arg));
    case 'adj3':
      return makeAdj3(f(n.arg));
    case 'adjpart':
      return makeAdjPart(f(n.arg), n.part);
    case 'mpow':
      return makeMatPow(f(n.base), n.exp, n.dirs.map(f));
  }
}

const varsCache = new WeakMap<Node, ReadonlySet<string>>();

/** Names of the variables a node depends on. */
export function freeVars(n: Node): ReadonlySet<string> {
  const hit = varsCache.get(n);
  if (hit) return hit;
  let r: Set<string>;
  if (n.kind === 'var') r = new Set([n.name]);
  else {
    r = new Set();
    for (const c of children(n)) for (const v of freeVars(c)) r.add(v);
  }
  varsCache.set(n, r);
  return r;
}

/** All nodes reachable from the roots, children before parents. */
export function topoOrder(roots: readonly Node[], childrenOf: (n: Node) => readonly Node[] = children): Node[] {
  const seen = new Set<Node>();
  const out: Node[] = [];
  const stack: [Node, boolean][] = roots.map((r) => [r, false]);
  while (stack.length > 0) {
    const [n, expanded] = stack.pop()!;
    if (expanded) {
      out.push(n);
      continue;
    }
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push([n, true]);
    for (const c of childrenOf(n)) if (!seen.has(c)) stack.push([c, false]);
  }
  return out;
}

/** The children whose values an evaluator reads: u, not sigmoid(u), for log(sigmoid(u)) (logSigmoidOf). */
export function evaluatedChildren(n: Node): readonly Node[] {
  const l = logSigmoidOf(n);
  return l ? [l.arg] : children(n);
}
