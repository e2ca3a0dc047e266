/**
 * Index (Ricci) notation, always available, for results of any order.
 *
 * The convention (README, "Index notation"):
 *  - The metric is Euclidean, so an index may be raised or lowered freely: its position carries no
 *    value, only the bookkeeping of the summation convention. A tensor's slots keep their order
 *    (A^p{}_q and A_p{}^q are the same entry A[p, q]).
 *  - The free indices of a result are i, j, k, l, … in the order of its axes, upper on even axes and
 *    lower on odd ones (x^i, A^i{}_j, H^i{}_j{}^k), in the same position in every term.
 *  - A summed index occurs exactly twice in a product, once up and once down. A sum over one
 *    factor's index is a contraction with the all-ones vector (1_p x^p); an index shared by three or
 *    more factors (a Hadamard product, diag) goes through the diagonal tensor δ, which is 1 where all
 *    its indices agree (x^i y^i is δ^i{}_{pq} x^p y^q); with two indices it is the Kronecker delta.
 *    Factors on the same indices that each go through δ are one Hadamard product, one tensor in
 *    matrix notation where that is shorter: (t1.*exp(x))^p.
 *  - Free indices skip the variable names of the expression; summed ones come from p, q, r, s, t, u,
 *    v, w, a, b, … (skipping variable and free names), reused in every term, so the names stay few;
 *    one summed inside a factor (a sum in parentheses, a function's argument) is never one that
 *    the product around it uses.
 *  - Element-wise functions and powers act on each entry: exp(A^i{}_p x^p) is the i-th entry of
 *    exp(A*x). A matrix function is a tensor in parentheses: (X^{-1})^j{}_k, det(X).
 *  - A variable named delta is written out (\mathit{delta}), so it cannot be read as δ.
 */
import { type Factor, type Node, type NodeOf, InternalError, broadcastScalar, constantValue, delta, makeAdd, makeMul, softmaxArg } from '../ir/node.js';
import { latexName } from './latex.js';
import { isFractionText, numberLatex, numberText } from './numbers.js';
import { childrenOf, placeIndexSigns } from './indexSigns.js';

export interface Ix {
  name: string;
  up: boolean;
}

export type IExpr =
  | { readonly kind: 'num'; readonly value: number }
  | {
      readonly kind: 'tensor';
      readonly text: string;
      readonly latex: string;
      readonly indices: Ix[];
      /** δ and the all-ones vector: their positions follow their partners'. */
      readonly flexible: boolean;
      /** A Hadamard product in matrix notation, (t1.*exp(x)): how many of its members each temporary is. */
      readonly members?: ReadonlyMap<string, number>;
    }
  | { readonly kind: 'sum'; readonly terms: { coef: number; e: IExpr }[] }
  | { readonly kind: 'prod'; readonly factors: IExpr[] }
  | { readonly kind: 'fn'; readonly text: string; readonly latex: string; readonly arg: IExpr }
  | { readonly kind: 'pow'; readonly base: IExpr; readonly exp: IExpr | number }
  /** The mean over swapping each pair of free indices: sym_{(kl)}[T] = ½(T + T with k and l swapped). Only at the top. */
  | { readonly kind: 'sym'; readonly pairs: readonly (readonly [string, string])[]; readonly arg: IExpr };

const FREE = ['i', 'j', 'k', 'l', 'm', 'n', 'o'];
const SUMMED = ['p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

export interface IndexOptions {
  /** Names that indices must not take: the variables of the expression. */
  readonly reserved?: ReadonlySet<string>;
  /** Nodes printed as named temporaries (t1^{ij}) instead of spelled out. */
  readonly temps?: ReadonlyMap<Node, string>;
  /** Temporaries whose name stands for the node's negation (their definition turned: -t1^i). */
  readonly negatedTemps?: ReadonlySet<Node>;
  /**
   * Matrix notation of a node, for the argument of an inverse or a determinant, with the
   * temporaries it names (which the index form then uses too).
   */
  readonly matrixOf?: (n: Node) => { text: string; latex: string; uses: readonly Node[] } | undefined;
  /** The texts of the input's sums: a difference whose sign is free takes the input's (indexSigns.ts). */
  readonly written?: ReadonlySet<string>;
  /** The form is a temporary's definition: turning a difference to the input's order never gives it a leading minus. */
  readonly definition?: boolean;
}

export interface IndexForm {
  readonly text: string;
  readonly latex: string;
  /** The temporaries this form refers to, in order of first use. */
  readonly temps: readonly Node[];
  /** The tree the text renders, every position placed, and the free index names (for checks). */
  readonly tree: IExpr;
  readonly free: readonly string[];
}

/** The names of the free indices of a result of the given rank (skipping reserved names). */
export function freeIndexNames(rank: number, reserved: ReadonlySet<string> = new Set()): string[] {
  const pool = [...FREE, ...SUMMED.slice(8)].filter((n) => !reserved.has(n));
  return Array.from({ length: rank }, (_, k) => pool[k] ?? `i${k + 1}`);
}

/** Index notation of a node; its free indices are i, j, k, … in axis order (up, down, up, …). */
export function toIndex(n: Node, opts: IndexOptions = {}): IndexForm {
  const { e, used, free } = indexTree(n, opts);
  return { text: renderText(e), latex: renderLatex(e), temps: used, tree: e, free };
}

/** The index form as a tree with every position placed (what the text renders; tests check its rules). */
export function indexTree(n: Node, opts: IndexOptions = {}): { e: IExpr; free: string[]; used: Node[] } {
  const reserved = opts.reserved ?? new Set<string>();
  const free = freeIndexNames(n.shape.length, reserved);
  const b = new Builder(reserved, new Set(free), opts, n);
  const e = placeIndexSigns(b.build(n, free), new Set(opts.temps?.values() ?? []), opts.written, opts.definition);
  place(e, new Map(free.map((name, k) => [name, k % 2 === 0])));
  renumber(e, new Set([...reserved, ...free]));
  forgetRenderings();
  return { e, free, used: b.used };
}

/** Every index of a tree, in reading order. */
function eachIndex(e: IExpr, f: (ix: Ix) => void): void {
  switch (e.kind) {
    case 'num':
      return;
    case 'tensor':
      e.indices.forEach(f);
      return;
    case 'sum':
      for (const t of e.terms) eachIndex(t.e, f);
      return;
    case 'prod':
      for (const x of e.factors) eachIndex(x, f);
      return;
    case 'fn':
    case 'sym':
      eachIndex(e.arg, f);
      return;
    case 'pow':
      eachIndex(e.base, f);
      if (typeof e.exp !== 'number') eachIndex(e.exp, f);
  }
}

/**
 * The numbered summed names (past the reserved alphabet) renamed p1, p2, … in the order of their
 * numbers, skipping taken names: a name that an enclosing product held while the names inside were
 * chosen, and that the finished form no longer uses, left a gap (p2 … p9 without p1).
 */
function renumber(e: IExpr, taken: ReadonlySet<string>): void {
  const numbers = new Set<number>();
  eachIndex(e, (ix) => {
    const m = /^p([0-9]+)$/.exec(ix.name);
    if (m) numbers.add(Number(m[1]));
  });
  const to = new Map<string, string>();
  let k = 1;
  for (const n of [...numbers].sort((a, b) => a - b)) {
    while (taken.has(`p${k}`)) k++;
    to.set(`p${n}`, `p${k++}`);
  }
  if ([...to].some(([a, b]) => a !== b)) eachIndex(e, (ix) => (ix.name = to.get(ix.name) ?? ix.name));
}

// ---------------------------------------------------------------------------------------------
// Building: names for every index

/** LaTeX of the scalar functions of a tensor. */
const SCALAR_FN_LATEX = { det: '\\det', logdet: '\\log\\det', logsumexp: '\\operatorname{logsumexp}' } as const;

const FN_LATEX: Partial<Record<string, string>> = {
  sin: '\\sin', cos: '\\cos', tan: '\\tan', arcsin: '\\arcsin', arccos: '\\arccos', arctan: '\\arctan',
  exp: '\\exp', log: '\\log', tanh: '\\tanh',
};

/**
 * Whether a matrix text is one symbol or one call, X or inv(B./(abs(A) + matrix(1))): the base of
 * a power or an index needs no parentheses of its own.
 */
function isAtomicText(text: string): boolean {
  const head = /^[\p{L}\w]+/u.exec(text);
  if (!head) return false;
  if (head[0].length === text.length) return true;
  if (text[head[0].length] !== '(' || !text.endsWith(')')) return false;
  let depth = 0;
  for (let k = head[0].length; k < text.length; k++) {
    depth += text[k] === '(' ? 1 : text[k] === ')' ? -1 : 0;
    if (depth === 0 && k < text.length - 1) return false;
  }
  return true;
}

function tensor(text: string, latex: string, names: readonly string[], flexible = false): IExpr {
  return { kind: 'tensor', text, latex, indices: tensorIndices(names), flexible };
}

/** Natural positions: the first slot up, then alternating (x^i, A^i_j). */
function tensorIndices(names: readonly string[]): Ix[] {
  return names.map((name, i) => ({ name, up: i % 2 === 0 }));
}

class Builder {
  readonly used: Node[] = [];
  /** Products of factors on the same labels, printed as one tensor in matrix notation (hadamardGroups). */
  private readonly hadamard = new Map<Node, ReadonlyMap<string, number>>();
  /** Lengths of index forms (indexLength). */
  private readonly lengths = new Map<Node, number>();
  /** Names in use by an enclosing product, with their numbers (see fresh). */
  private readonly active = new Map<string, number>();
  private low = 0;
  /** Σ_{a0+a1=k} sums written so far in this form, two summation variables each. */
  private sums = 0;

  constructor(
    private readonly reserved: ReadonlySet<string>,
    private readonly free: ReadonlySet<string>,
    private readonly opts: IndexOptions,
    private readonly root: Node,
  ) {}

  /**
   * The first summed-index name not in use by an enclosing product: p, q, …, h, then p1, p2, ….
   * Names are numbered in that order; every name numbered below `low` is taken, so a product with
   * n labels names them in O(n), not O(n²).
   */
  private fresh(): string {
    for (let k = this.low; ; k++) {
      const s = k < SUMMED.length ? SUMMED[k]! : `p${k - SUMMED.length + 1}`;
      if (this.reserved.has(s) || this.free.has(s) || this.active.has(s)) continue;
      this.active.set(s, k);
      this.low = k + 1;
      return s;
    }
  }

  /** Names given by fresh() back to the pool. */
  private release(names: readonly string[]): void {
    for (const s of names) {
      const k = this.active.get(s);
      if (k === undefined) continue;
      this.active.delete(s);
      this.low = Math.min(this.low, k);
    }
  }

  private varName(name: string): { text: string; latex: string } {
    // δ is the Kronecker delta here; a variable called delta is spelled out.
    return { text: name, latex: name === 'delta' ? '\\mathit{delta}' : latexName(name) };
  }

  build(n: Node, names: readonly string[]): IExpr {
    const temp = n !== this.root ? this.opts.temps?.get(n) : undefined;
    if (temp !== undefined) {
      if (!this.used.includes(n)) this.used.push(n);
      const t = tensor(temp, latexName(temp), names);
      return this.opts.negatedTemps?.has(n) ? { kind: 'sum', terms: [{ coef: -1, e: t }] } : t;
    }
    switch (n.kind) {
      case 'var': {
        const v = this.varName(n.name);
        return tensor(v.text, v.latex, names);
      }
      case 'const':
        // A zero tensor is 0; inside a form (the base of 0^(-1), which keeps a pole) it keeps its
        // indices, as the all-ones tensor does, so that each of them is summed where it should be.
        if (n.shape.length === 0 || (n.value === 0 && n === this.root)) return { kind: 'num', value: n.value };
        return n.value === 0 ? tensor('0', '\\mathbf{0}', names, true) : tensor('1', '\\mathbf{1}', names, true);
      case 'delta':
        return tensor('δ', '\\delta', names);
      case 'add': {
        const c = constantValue(n);
        if (c !== undefined) return { kind: 'num', value: c };
        // Terms that share a coefficient magnitude print it once where that is shorter:
        // 0.5 (δ^i_l δ_j^k + δ^{ik} δ_{jl}), -2 (1^i + cos(x^i)); but 2 a - 2 stays.
        const m = Math.abs(n.terms[0]!.coef);
        const saves = (n.terms.length - 1) * (String(m).length + 1) - 2;
        const sign = n.terms.every((t) => t.coef < 0) ? -1 : 1;
        const shared = m !== 1 && saves > 0 && n.terms.every((t) => Math.abs(t.coef) === m) ? sign * m : 1;
        const sum: IExpr = { kind: 'sum', terms: n.terms.map((t) => ({ coef: t.coef / shared, e: this.build(t.node, names) })) };
        return shared === 1 ? sum : { kind: 'sum', terms: [{ coef: shared, e: sum }] };
      }
      case 'mul': {
        const members = this.hadamard.get(n);
        const h = members && this.matrixText(n);
        if (h) {
          const [text, latex] = isAtomicText(h.text) ? [h.text, h.latex] : [`(${h.text})`, `\\left(${h.latex}\\right)`];
          return { kind: 'tensor', text, latex, indices: tensorIndices(names), flexible: false, members };
        }
        return this.product(n, names);
      }
      case 'elem': {
        // softmax(u) is exp(u − logsumexp(u)) in the IR: printed as the function it is.
        const u = softmaxArg(n);
        if (u) {
          const a = this.matrixOrIndex(u);
          return tensor(`softmax(${a.text})`, `\\operatorname{softmax}\\left(${a.latex}\\right)`, names);
        }
        return { kind: 'fn', text: n.fn, latex: FN_LATEX[n.fn] ?? `\\operatorname{${n.fn}}`, arg: this.build(n.arg, names) };
      }
      case 'pow':
        return { kind: 'pow', base: this.build(n.base, names), exp: n.exp };
      case 'powv': {
        // (x^p)^{a - 2}, not (x^p)^{(a - 2) 1^p}: a broadcast exponent prints as its scalar.
        const s = broadcastScalar(n.exponent);
        return { kind: 'pow', base: this.build(n.base, names), exp: s ? this.build(s, []) : this.build(n.exponent, names) };
      }
      case 'inv': {
        const a = this.matrixOrIndex(n.arg);
        return tensor(`inv(${a.text})`, `\\left(${a.base}^{-1}\\right)`, names);
      }
      case 'adj': {
        const a = this.matrixOrIndex(n.arg);
        return tensor(`adj(${a.text})`, `\\operatorname{adj}\\left(${a.latex}\\right)`, names);
      }
      case 'adj2':
      case 'adj3':
      case 'adjpart':
        // The printed derivative of adj is written with A⁻¹ (derive.ts); these are the evaluators'.
        throw new InternalError(`${n.kind} is not printed`);
      case 'det':
      case 'logdet':
      case 'logsumexp': {
        const a = this.matrixOrIndex(n.arg);
        return tensor(`${n.kind}(${a.text})`, `${SCALAR_FN_LATEX[n.kind]}\\left(${a.latex}\\right)`, []);
      }
      case 'merge': {
        // vec(X), kron(A, B): a tensor in matrix notation where it has one.
        const m = this.matrixText(n);
        if (m) return tensor(`(${m.text})`, `\\left(${m.latex}\\right)`, names);
        const a = this.matrixOrIndex(n.arg);
        return tensor(`merge(${a.text})`, `\\operatorname{merge}\\left(${a.latex}\\right)`, names);
      }
      case 'mpow':
        return this.matPower(n, names);
    }
  }

  /**
   * A^k as the tensor (A^k)^i_j. P(A, k; E) with one direction written out as its sum over
   * exponents, Σ_{a0+a1=k−1} (A^a0)^i_p E^p_q… (A^a1)^q_j, the deltas of E that tie p or q to
   * another index contracted (A^4 by A: Σ_{a0+a1=3} (A^a0)^{ik} (A^a1)_{lj}). With more directions (a sum over their
   * orders too) the tensor dpow(A^k; E_1, …, E_m) with all its indices (i, j, then each direction's
   * batch indices in turn), each direction written as a function of its own slots — the row and
   * column by which it joins the chain, then its batch slots: (p,q,r,s) ↦ δ^p_r δ^q_s.
   */
  private matPower(n: NodeOf<'mpow'>, names: readonly string[]): IExpr {
    const a = this.matrixOrIndex(n.base);
    const base = isAtomicText(a.text) ? a.text : `(${a.text})`;
    // (A^a0)^{ik} in LaTeX as in text: the power inside the parentheses that the indices follow.
    const baseLatex = /^[\p{L}\w]+$/u.test(a.text) ? a.latex : `\\left(${a.latex}\\right)`;
    const power = (e: string, eLatex: string, ix: readonly string[]): IExpr => tensor(`(${base}^${e})`, `\\left(${baseLatex}^{${eLatex}}\\right)`, ix);
    const m = n.dirs.length;
    if (m === 0) return power(String(n.exp), String(n.exp), names);
    const mine: string[] = [];
    const fresh = (): string => {
      const s = this.fresh();
      mine.push(s);
      return s;
    };
    let out: IExpr;
    if (m >= 2) {
      const dirs = n.dirs.map((d) => {
        const slots = d.shape.map(() => fresh());
        const e = this.build(d, slots);
        place(e, new Map(slots.map((s, k) => [s, k % 2 === 0])));
        return { text: `(${slots.join(',')}) ↦ ${renderText(e)}`, latex: `(${slots.join(',')}) \\mapsto ${renderLatex(e)}` };
      });
      out = tensor(
        `dpow(${base}^${n.exp}; ${dirs.map((d) => d.text).join(', ')})`,
        `\\operatorname{dpow}\\left(${a.base}^{${n.exp}};\\, ${dirs.map((d) => d.latex).join(',\\, ')}\\right)`,
        names,
      );
    } else {
      const [mid, next] = [fresh(), fresh()];
      const [e0, e1] = this.exponentNames();
      const dir = contractDirectionDeltas(this.build(n.dirs[0]!, [mid, next, ...names.slice(2)]), [mid, next]);
      out = {
        kind: 'prod',
        factors: [
          tensor(`Σ_{${e0}+${e1}=${n.exp - 1}}`, `\\sum_{${latexName(e0)}+${latexName(e1)}=${n.exp - 1}}`, []),
          power(e0, latexName(e0), [names[0]!, dir.renamed.get(mid) ?? mid]),
          ...dir.factors,
          power(e1, latexName(e1), [dir.renamed.get(next) ?? next, names[1]!]),
        ],
      };
    }
    this.release(mine);
    return out;
  }

  /**
   * The summation variables of the next Σ_{a0+a1=k} in this form: a0, a1, then a2, a3, …, skipping
   * the expression's variable names. Each sum has its own, since a sum's scope runs to the end of
   * its product, and a sum inside a direction, or next to another, must not rebind the first's.
   */
  private exponentNames(): [string, string] {
    const out: string[] = [];
    while (out.length < 2) {
      const s = `a${this.sums++}`;
      if (!this.reserved.has(s)) out.push(s);
    }
    return [out[0]!, out[1]!];
  }

  /** Matrix notation of n where it has one; the temporaries it names count as used. */
  private matrixText(n: Node): { text: string; latex: string } | undefined {
    const m = this.opts.matrixOf?.(n);
    if (m) for (const t of m.uses) if (!this.used.includes(t)) this.used.push(t);
    return m;
  }

  /**
   * A matrix argument in matrix notation where it has one, else in index notation; `base`: its
   * LaTeX as the base of a superscript, in parentheses unless it is one symbol (X, adj(X)): {A B}^{-1}
   * reads as A B⁻¹, and an index form may end in a superscript of its own.
   */
  private matrixOrIndex(n: Node): { text: string; latex: string; base: string } {
    const m = this.matrixText(n);
    if (m) {
      const latex = m.latex.length > 1 ? `{${m.latex}}` : m.latex;
      return { text: m.text, latex, base: isAtomicText(m.text) ? latex : `\\left(${m.latex}\\right)` };
    }
    const names = n.shape.map(() => this.fresh());
    const inner = this.build(n, names);
    this.release(names);
    const latex = renderLatex(inner);
    return { text: renderText(inner), latex, base: `\\left(${latex}\\right)` };
  }

  /**
   * A product. Each label becomes an index name; a label in one slot only is contracted with the
   * all-ones vector, a label in three or more slots (counting the result) goes through δ.
   */
  private product(mul: NodeOf<'mul'>, names: readonly string[]): IExpr {
    const rank = mul.shape.length;
    const n = { factors: this.hadamardGroups(mul.factors, rank) };
    const slots = new Map<number, number>();
    for (const f of n.factors) for (const l of f.labels) slots.set(l, (slots.get(l) ?? 0) + 1);
    const mine: string[] = [];
    const fresh = (): string => {
      const s = this.fresh();
      mine.push(s);
      return s;
    };
    // All-ones vectors summed over an axis no other factor has: that axis's size, rows(B).
    const sizes = new Map<number, IExpr>();
    const sized = new Set<number>();
    for (const [l, ks] of sizeLabels(n.factors, rank)) {
      const size = this.matrixText(makeMul([{ node: n.factors[ks[0]!]!.node, labels: [0] }], 0));
      if (!size || size.text.startsWith('sum(')) continue;
      sizes.set(l, tensor(size.text, size.latex, []));
      for (const k of ks) sized.add(k);
      slots.delete(l);
    }
    // A label in ≥ 3 places: every slot gets its own name, tied together by one δ (a summed one
    // has no name of its own).
    const diagonal = new Map<number, string[]>();
    for (const [l, count] of slots) if (count + (l < rank ? 1 : 0) >= 3) diagonal.set(l, []);
    const base = new Map<number, string>();
    names.forEach((nm, i) => base.set(i, nm));
    for (const l of slots.keys()) if (l >= rank && !diagonal.has(l)) base.set(l, fresh());
    // A Kronecker delta from a diagonal label to another label joins the diagonal δ: x^p δ^i_{pj}
    // rather than x^p δ^q_j δ^i_{pq}.
    const absorbed = new Set<number>();
    n.factors.forEach((f, k) => {
      if (f.node.kind !== 'delta') return;
      const [a, b] = f.labels as [number, number];
      const [d, other] = diagonal.has(a) && !diagonal.has(b) ? [a, b] : diagonal.has(b) && !diagonal.has(a) ? [b, a] : [];
      if (d === undefined || other === undefined) return;
      absorbed.add(k);
      diagonal.get(d)!.push(base.get(other)!);
    });
    // Every name of this product is taken before any factor is built, so that a factor's own
    // summed names (inside a sum in parentheses) are not the product's: (t1^r δ_l^m_r …) t1^q δ_{jpq},
    // not (t1^q δ_l^m_q …) t1^q δ_{jpq}.
    const kept = n.factors.filter((_, k) => !absorbed.has(k) && !sized.has(k));
    const slotNames = kept.map((f) =>
      f.labels.map((l) => {
        const d = diagonal.get(l);
        if (!d) return base.get(l)!;
        const s = fresh();
        d.push(s);
        return s;
      }),
    );
    const built = kept.map((f, k) => ({ e: this.build(f.node, slotNames[k]!), name: this.scalarVariable(f.node) }));
    // Scalar variables and their powers first, by name, as one writes them: 2 a b δ^i_j, not 2 b δ^i_j a.
    const variables = built.filter((b) => b.name !== undefined).sort((x, y) => (x.name! < y.name! ? -1 : x.name! > y.name! ? 1 : 0));
    const factors: IExpr[] = [...variables, ...built.filter((b) => b.name === undefined)].map((b) => b.e);
    factors.push(...sizes.values());
    // A δ's indices: the product's own (i, j, k, …) in their order, then the summed ones.
    const place = (x: string): number => (names.includes(x) ? names.indexOf(x) : names.length);
    for (const [l, parts] of diagonal) {
      const outer = l < rank ? [base.get(l)!] : [];
      const ordered = [...outer, ...parts].map((x, k) => ({ x, k })).sort((a, b) => place(a.x) - place(b.x) || a.k - b.k);
      factors.push(tensor('δ', '\\delta', ordered.map((o) => o.x), true));
    }
    // A summed label in one slot is a sum of entries: the contraction with the all-ones vector.
    for (const [l, count] of slots) if (l >= rank && count === 1) factors.push(tensor('1', '\\mathbf{1}', [base.get(l)!], true));
    this.release(mine);
    // A size alone is an atom: (-1)^rows(S); so is any one factor (a sum is parenthesized by
    // whatever holds it, and not at all at the top: det(A) by A twice is no (…)).
    return factors.length === 1 ? factors[0]! : { kind: 'prod', factors };
  }

  /** The name of the scalar variable that n is, or is a power of. */
  private scalarVariable(n: Node): string | undefined {
    const v = n.kind === 'pow' && !this.opts.temps?.has(n) ? n.base : n;
    return v.kind === 'var' && v.shape.length === 0 ? v.name : undefined;
  }

  /** The length of n's index form with r indices of one letter (as hadamardGroups compares): built and let go. */
  private indexLength(n: Node, r: number): number {
    let length = this.lengths.get(n);
    if (length !== undefined) return length;
    const [used, sums] = [this.used.length, this.sums];
    const names = Array.from({ length: r }, () => this.fresh());
    length = renderText(this.build(n, names)).length - names.join('').length + r;
    this.release(names);
    this.used.length = used;
    this.sums = sums;
    this.lengths.set(n, length);
    return length;
  }

  /**
   * The factors of a product with each Hadamard product among them made one factor: factors on the
   * same labels (in any order), every one of which goes through δ, are one tensor in matrix
   * notation, (t1.*S)^p_q δ^{ik}_p δ_{jl}^q rather than t1^p_q S^r_s δ^{ik}_{pr} δ_{jl}^{qs}.
   * A group with no matrix notation stays apart.
   */
  private hadamardGroups(input: readonly Factor[], rank: number): readonly Factor[] {
    // A sum that is 0 off a diagonal, (x^q δ^{pk}_q + 3 δ^{pk}), is its diagonal vector times δ,
    // where that vector joins a Hadamard product: ((x + vector(3)).*exp(x))^p δ^i_j^k_p.
    const splits = new Map<number, Split>();
    const factors: Factor[] = [];
    for (const f of input) {
      const parts = diagonalSplit(f);
      if (parts) splits.set(factors.length, { whole: f, parts: parts.length });
      factors.push(...(parts ?? [f]));
    }
    const grouped = this.groupHadamard(factors, rank, splits);
    if (grouped.size === 0) return input;
    // A split whose vector joined no group is the sum again.
    const out: Factor[] = [];
    for (let k = 0; k < factors.length; k++) {
      const split = splits.get(k);
      if (split && !grouped.has(k)) {
        out.push(split.whole);
        k += split.parts - 1;
      } else if (grouped.get(k) !== null) out.push(grouped.get(k) ?? factors[k]!);
    }
    return out;
  }

  /**
   * The Hadamard groups among factors: for each factor of a group, by its place, the group's one
   * factor (at the first member's place) or null (at the others'). `splits`: the sums split into
   * their diagonal and δ, by the place of the diagonal.
   */
  private groupHadamard(factors: readonly Factor[], rank: number, splits: ReadonlyMap<number, Split>): Map<number, Factor | null> {
    const count = new Map<number, number>();
    for (const f of factors) for (const l of f.labels) count.set(l, (count.get(l) ?? 0) + 1);
    const throughDelta = (l: number): boolean => count.get(l)! + (l < rank ? 1 : 0) >= 3;
    const groups = new Map<string, number[]>();
    factors.forEach((f, k) => {
      const ls = f.labels;
      // A temporary that stands for its node's negation keeps its minus where the index form places it.
      if (ls.length === 0 || f.node.kind === 'delta' || f.node.kind === 'const' || this.opts.negatedTemps?.has(f.node)) return;
      if (new Set(ls).size !== ls.length || !ls.every(throughDelta)) return;
      const key = [...ls].sort((a, b) => a - b).join(',');
      groups.set(key, [...(groups.get(key) ?? []), k]);
    });
    const grouped = new Map<number, Factor | null>();
    for (const ks of groups.values()) {
      if (ks.length < 2) continue;
      const axes = factors[ks[0]!]!.labels;
      const node = makeMul(ks.map((k) => ({ node: factors[k]!.node, labels: factors[k]!.labels.map((l) => axes.indexOf(l)) })), axes.length);
      const m = this.opts.matrixOf?.(node);
      if (!m) continue;
      // Only where it is shorter: a member printed by the matrix printer may lose a temporary
      // (t1.*t2 as t1./(vector(1) - y.^2).^1.5) or spell out what the index form writes briefly.
      const r = axes.length;
      // A split sum counts as it prints whole, less the indices its δs give the group's.
      const length = (k: number): number => {
        const whole = splits.get(k)?.whole.node;
        return whole ? this.indexLength(whole, whole.shape.length) - whole.shape.length + r : this.indexLength(factors[k]!.node, r);
      };
      const apart = ks.reduce((acc, k) => acc + length(k), 0) + (ks.length - 1) * r;
      if ((isAtomicText(m.text) ? m.text.length : m.text.length + 2) + r > apart) continue;
      const members = new Map<string, number>();
      for (const k of ks) {
        const t = this.opts.temps?.get(factors[k]!.node);
        if (t !== undefined) members.set(t, (members.get(t) ?? 0) + 1);
      }
      this.hadamard.set(node, members);
      ks.forEach((k, j) => grouped.set(k, j === 0 ? { node, labels: axes } : null));
    }
    return grouped;
  }
}

/** A sum factor split by diagonalSplit: the sum, and how many factors it became (its diagonal, then δs). */
interface Split {
  readonly whole: Factor;
  readonly parts: number;
}

/**
 * A factor that is a sum of terms each 0 off the diagonal of the same two axes (δ, x_a δ_ab, as
 * diag(x) + 3*eye): its diagonal (x + vector(3)) on the first of them, and δ joining the two.
 */
function diagonalSplit(f: Factor): Factor[] | undefined {
  const n = f.node;
  if (n.kind !== 'add' || n.shape.length < 2) return undefined;
  const pairsOf = (t: Node): string[] => {
    if (t.kind === 'delta') return ['0,1'];
    if (t.kind !== 'mul' || t.nlabels !== t.shape.length) return [];
    return t.factors.filter((x) => x.node.kind === 'delta' && x.labels[0] !== x.labels[1]).map((x) => [...x.labels].sort((a, b) => a - b).join(','));
  };
  const [first, ...rest] = n.terms.map((t) => pairsOf(t.node));
  const pair = first!.find((p) => rest.every((ps) => ps.includes(p)));
  if (pair === undefined) return undefined;
  const [a, b] = pair.split(',').map(Number) as [number, number];
  const rank = n.shape.length;
  const axes = n.shape.map((_, k) => (k < b ? k : k === b ? a : k - 1));
  const shape = n.shape.filter((_, k) => k !== b);
  const diagonal = makeAdd(n.terms.map((t) => ({ coef: t.coef, node: makeMul([{ node: t.node, labels: axes }], rank - 1) })), shape);
  const vector = { node: diagonal, labels: f.labels.filter((_, k) => k !== b) };
  // Diagonal on another pair too (a matrix's entries, δ^{pk} δ^q_l): split again.
  return [...(diagonalSplit(vector) ?? [vector]), { node: delta(n.shape[a]!), labels: [f.labels[a]!, f.labels[b]!] }];
}

/**
 * A direction E of Σ (A^a0)^i_p E^{pq…} (A^a1)_{qj}, as factors, with each Kronecker delta that ties
 * one of the chain's names (p, q) to another name contracted: δ^{pk} δ^q_l becomes nothing, with
 * p → k and q → l in the powers (A^a0)^{ik} (A^a1)_{lj}. A chain name is contracted only where
 * one delta holds it and no other factor does.
 */
function contractDirectionDeltas(dir: IExpr, chain: readonly string[]): { factors: IExpr[]; renamed: Map<string, string> } {
  const factors = dir.kind === 'prod' ? [...dir.factors] : [dir];
  const renamed = new Map<string, string>();
  const holds = (f: IExpr, name: string): boolean => indexNames(f).includes(name);
  for (const name of chain) {
    const k = factors.findIndex((f) => f.kind === 'tensor' && f.text === 'δ' && f.indices.length === 2 && f.indices.filter((x) => x.name === name).length === 1);
    if (k < 0 || factors.some((f, j) => j !== k && holds(f, name))) continue;
    const delta = factors[k]!;
    if (delta.kind !== 'tensor') continue;
    const other = delta.indices.find((x) => x.name !== name)!.name;
    if (chain.includes(other)) continue;
    renamed.set(name, other);
    factors.splice(k, 1);
  }
  return { factors: renamed.size > 0 ? factors : [dir], renamed };
}

/** Every index name in a tree, once per occurrence. */
function indexNames(e: IExpr): string[] {
  return e.kind === 'tensor' ? e.indices.map((x) => x.name) : childrenOf(e).flatMap(indexNames);
}

/**
 * The summed labels of a product that only all-ones vectors carry (Σ_p 1_p, and Σ_p 1_p 1_p, the
 * trace of matrix(1)): each is its axis's size. By label, the factors that carry it.
 */
function sizeLabels(factors: readonly Factor[], rank: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const others = new Set<number>();
  factors.forEach((f, k) => {
    const ones = f.node.kind === 'const' && f.node.value === 1 && f.labels.length === 1;
    for (const l of f.labels) {
      if (l < rank || !ones) others.add(l);
      else out.set(l, [...(out.get(l) ?? []), k]);
    }
  });
  for (const l of others) out.delete(l);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Placing: up or down for every index

/**
 * The names free in an expression (in a product, a name in two factors is summed). Kept per tree
 * node: placing indices asks for them at every level of nested products, and a node's names do not
 * change once it is built (only their positions do).
 */
export function freeNames(e: IExpr): readonly string[] {
  let names = FREE_NAMES.get(e);
  if (!names) FREE_NAMES.set(e, (names = freeNamesOf(e)));
  return names;
}

const FREE_NAMES = new WeakMap<IExpr, readonly string[]>();

function freeNamesOf(e: IExpr): readonly string[] {
  switch (e.kind) {
    case 'num':
      return [];
    case 'tensor': {
      const names = e.indices.map((x) => x.name);
      return names.filter((x) => names.indexOf(x) === names.lastIndexOf(x));
    }
    case 'sum':
      return e.terms.length > 0 ? freeNames(e.terms[0]!.e) : [];
    case 'prod': {
      const count = new Map<string, number>();
      for (const f of e.factors) for (const x of freeNames(f)) count.set(x, (count.get(x) ?? 0) + 1);
      return [...count].filter(([, c]) => c === 1).map(([x]) => x);
    }
    case 'fn':
      return freeNames(e.arg);
    case 'pow':
      return [...new Set([...freeNames(e.base), ...(typeof e.exp === 'number' ? [] : freeNames(e.exp))])];
    case 'sym':
      return freeNames(e.arg);
  }
}

/** Where a factor would put an index by itself (undefined: wherever its partner needs it). */
function natural(e: IExpr, name: string): boolean | undefined {
  switch (e.kind) {
    case 'num':
      return undefined;
    case 'tensor': {
      if (e.flexible) return undefined;
      const k = e.indices.findIndex((x) => x.name === name);
      return k < 0 ? undefined : e.indices[k]!.up;
    }
    case 'sum':
      // As the term printed first has it.
      return e.terms.length > 0 ? natural(readingOrder(e.terms)[0]!.e, name) : undefined;
    case 'prod': {
      const f = e.factors.find((g) => freeNames(g).includes(name));
      return f && natural(f, name);
    }
    case 'fn':
      return natural(e.arg, name);
    case 'pow':
      return natural(e.base, name);
  }
}

/** Sets positions: the free names as `want` says, every summed pair once up and once down. */
function place(e: IExpr, want: ReadonlyMap<string, boolean>): void {
  switch (e.kind) {
    case 'num':
      return;
    case 'tensor': {
      for (const ix of e.indices) if (want.has(ix.name)) ix.up = want.get(ix.name)!;
      // An index repeated within one tensor (a trace) is summed there: one up, one down.
      e.indices.forEach((ix, k) => {
        const first = e.indices.findIndex((y) => y.name === ix.name);
        if (first < k) ix.up = !e.indices[first]!.up;
      });
      return;
    }
    case 'sum':
      for (const t of e.terms) place(t.e, want);
      return;
    case 'fn':
      place(e.arg, want);
      return;
    case 'pow':
      place(e.base, want);
      if (typeof e.exp !== 'number') place(e.exp, want);
      return;
    case 'prod': {
      const holders = new Map<string, IExpr[]>();
      for (const f of e.factors) for (const x of freeNames(f)) holders.set(x, [...(holders.get(x) ?? []), f]);
      const wants = new Map<IExpr, Map<string, boolean>>(e.factors.map((f) => [f, new Map()]));
      for (const [x, fs] of holders) {
        if (fs.length === 1) {
          if (want.has(x)) wants.get(fs[0]!)!.set(x, want.get(x)!);
          continue;
        }
        const [a, b] = fs as [IExpr, IExpr];
        let [ua, ub] = [natural(a, x), natural(b, x)];
        if (ua === undefined && ub === undefined) [ua, ub] = [true, false];
        else if (ua === undefined) ua = !ub;
        else if (ub === undefined) ub = !ua;
        else if (ua === ub) {
          // Both want the same position: move the vector's (x_p is the covector x'), else the later one.
          if (isVector(a) && !isVector(b)) ua = !ua;
          else ub = !ub;
        }
        wants.get(a)!.set(x, ua!);
        wants.get(b)!.set(x, ub!);
      }
      for (const f of e.factors) place(f, wants.get(f)!);
      return;
    }
  }
}

function isVector(e: IExpr): boolean {
  return e.kind === 'tensor' && e.indices.length === 1;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function indexText(ixs: readonly Ix[]): string {
  let s = '';
  let i = 0;
  const brace = ixs.some((x) => x.name.length > 1);
  while (i < ixs.length) {
    const up = ixs[i]!.up;
    let group = '';
    while (i < ixs.length && ixs[i]!.up === up) group += (group && brace ? ',' : '') + ixs[i++]!.name;
    s += `${up ? '^' : '_'}${brace || group.length > 1 ? `{${group}}` : group}`;
  }
  return s;
}

export function indexLatex(ixs: readonly Ix[]): string {
  let s = '';
  let i = 0;
  while (i < ixs.length) {
    const up = ixs[i]!.up;
    let group = '';
    while (i < ixs.length && ixs[i]!.up === up) group += (group ? ' ' : '') + latexIndex(ixs[i++]!.name);
    s += `${s ? '{}' : ''}${up ? '^' : '_'}{${group}}`;
  }
  return s;
}

/** p1 as p_{1} inside an index list. */
function latexIndex(name: string): string {
  const m = /^([a-z])([0-9]+)$/.exec(name);
  return m ? `${m[1]}_{${m[2]}}` : name;
}

type Term = { coef: number; e: IExpr };

/** Terms in reading order: positive first, then alphabetical by their text. */
function readingOrder(terms: readonly Term[]): Term[] {
  const keyed = terms.map((t) => ({ t, k: `${t.coef < 0 ? 1 : 0}${renderText(t.e)}` }));
  return keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.t);
}

/** How one of the two renderings writes the parts of a sum. */
interface Writing {
  readonly render: (e: IExpr) => string;
  readonly number: (v: number) => string;
  /** Between a coefficient and what follows it. */
  readonly sep: (body: string) => string;
  readonly open: string;
  readonly close: string;
}

/** A term c·e: the coefficient alone for a scalar one, c e otherwise. */
function termText(mag: number, e: IExpr, w: Writing): string {
  if (e.kind === 'num' && e.value === 1) return w.number(mag);
  const body = e.kind === 'sum' ? `${w.open}${w.render(e)}${w.close}` : w.render(e);
  return mag === 1 ? body : `${w.number(mag)}${w.sep(body)}${body}`;
}

/** The terms of a sum with each term ±(a sum) written as its own terms: a + (b - c) is a + b - c. */
function spliceSums(terms: readonly { coef: number; e: IExpr }[]): { coef: number; e: IExpr }[] {
  return terms.flatMap((t) => (t.e.kind === 'sum' && Math.abs(t.coef) === 1 ? spliceSums(t.e.terms.map((u) => ({ coef: u.coef * t.coef, e: u.e }))) : [t]));
}

/**
 * Terms that render the same, one term with their coefficients added: a sum spliced into another
 * may bring a term that the other has already (B^{pi} δ_j^k_p + B^{pi} δ_j^k_p is 2 B^{pi} δ_j^k_p).
 */
function mergeEqualTerms(terms: readonly Term[]): Term[] {
  const byText = new Map<string, Term>();
  for (const t of terms) {
    const key = renderText(t.e);
    const seen = byText.get(key);
    byText.set(key, seen ? { coef: seen.coef + t.coef, e: seen.e } : t);
  }
  const out = [...byText.values()].filter((t) => t.coef !== 0);
  return out.length > 0 ? out : [{ coef: 1, e: { kind: 'num', value: 0 } }];
}

function sumText(e: IExpr & { kind: 'sum' }, w: Writing): string {
  return readingOrder(mergeEqualTerms(spliceSums(e.terms)))
    .map((t, i) => {
      const mag = Math.abs(t.coef);
      const scaled = termText(mag, t.e, w);
      if (i === 0) return t.coef < 0 ? `-${scaled}` : scaled;
      return t.coef < 0 ? ` - ${scaled}` : ` + ${scaled}`;
    })
    .join('');
}

// Rendered once per expression: ordering a sum renders its terms, which must not repeat below.
// Placing positions changes what a tree renders, so the caches start afresh after each placement.
let textCache = new WeakMap<IExpr, string>();
let latexCache = new WeakMap<IExpr, string>();

function forgetRenderings(): void {
  textCache = new WeakMap();
  latexCache = new WeakMap();
}

export function renderText(e: IExpr): string {
  let s = textCache.get(e);
  if (s === undefined) textCache.set(e, (s = renderTextOnce(e)));
  return s;
}

export function renderLatex(e: IExpr): string {
  let s = latexCache.get(e);
  if (s === undefined) latexCache.set(e, (s = renderLatexOnce(e)));
  return s;
}

const TEXT_WRITING: Writing = { render: renderText, number: numberText, sep: () => ' ', open: '(', close: ')' };
const LATEX_WRITING: Writing = { render: renderLatex, number: numberLatex, sep: latexSep, open: '\\left(', close: '\\right)' };

function renderTextOnce(e: IExpr): string {
  switch (e.kind) {
    case 'num':
      return numberText(e.value);
    case 'tensor':
      return e.text + indexText(e.indices);
    case 'fn':
      return `${e.text}(${renderText(e.arg)})`;
    case 'pow': {
      const atomic = typeof e.exp !== 'number' && e.exp.kind === 'tensor' && e.exp.indices.length === 0;
      const exp = typeof e.exp === 'number' ? numberText(e.exp) : atomic ? renderText(e.exp) : `(${renderText(e.exp)})`;
      return `${powBaseText(e.base)}^${exp.startsWith('-') || isFractionText(exp) ? `(${exp})` : exp}`;
    }
    case 'prod':
      return e.factors.map(atomText).join(' ');
    case 'sum':
      return sumText(e, TEXT_WRITING);
    case 'sym':
      return `sym_{${symPairs(e.pairs)}}[${renderText(e.arg)}]`;
  }
}

/** The pairs a symmetrization swaps: (kl)(mn), or (k,l)(m,n) where a name has more than one character. */
function symPairs(pairs: readonly (readonly [string, string])[]): string {
  const sep = pairs.some(([a, b]) => a.length > 1 || b.length > 1) ? ',' : '';
  return pairs.map(([a, b]) => `(${a}${sep}${b})`).join('');
}

/** The form sym_{(kl)…}[e] of a tree whose free index pairs (by axis) it symmetrizes. */
export function symmetrizedForm(f: IndexForm, axes: readonly (readonly [number, number])[]): IndexForm {
  const tree: IExpr = { kind: 'sym', pairs: axes.map(([a, b]) => [f.free[a]!, f.free[b]!] as const), arg: f.tree };
  return { ...f, text: renderText(tree), latex: renderLatex(tree), tree };
}

/** A number written as one symbol: not negative, not a fraction. */
const isPlainNumber = (e: IExpr): boolean => e.kind === 'num' && e.value >= 0 && !isFractionText(numberText(e.value));

/** The base of a power: parenthesized unless it is a plain symbol or a function call. */
function powBaseText(e: IExpr): string {
  const plain = (e.kind === 'tensor' && e.indices.length === 0) || e.kind === 'fn' || isPlainNumber(e);
  return plain ? renderText(e) : `(${renderText(e)})`;
}

function atomText(e: IExpr): string {
  return e.kind === 'sum' || (e.kind === 'num' && e.value < 0) ? `(${renderText(e)})` : renderText(e);
}

/** Between a coefficient and what follows: \\cdot before a digit or the ones vector (2 · 1, not 21). */
function latexSep(body: string): string {
  return /^(\{?\\mathbf\{1\}|\{?[0-9])/.test(body) ? ' \\cdot ' : ' ';
}

function renderLatexOnce(e: IExpr): string {
  switch (e.kind) {
    case 'num':
      return numberLatex(e.value);
    case 'tensor':
      return e.indices.length === 0 ? e.latex : `{${e.latex}}${indexLatex(e.indices)}`;
    case 'fn':
      return `${e.latex}\\left(${renderLatex(e.arg)}\\right)`;
    case 'pow': {
      const exp = typeof e.exp === 'number' ? numberLatex(e.exp) : renderLatex(e.exp);
      const base = isPlainNumber(e.base) ? renderLatex(e.base) : `\\left(${renderLatex(e.base)}\\right)`;
      return `${base}^{${exp}}`;
    }
    case 'prod':
      return e.factors
        .map((f) => (f.kind === 'sum' ? `\\left(${renderLatex(f)}\\right)` : renderLatex(f)))
        .reduce((acc, s, k) => (k === 0 ? s : `${acc}${e.factors[k - 1]!.kind === 'num' ? latexSep(s) : ' '}${s}`), '');
    case 'sum':
      return sumText(e, LATEX_WRITING);
    case 'sym':
      return `\\operatorname{sym}_{${symPairs(e.pairs)}}\\left[${renderLatex(e.arg)}\\right]`;
  }
}
