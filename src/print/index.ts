/**
 * Index (Ricci) notation, always available, for results of any order.
 *
 * The free indices of the result are i, j, k, l, … in the order of its axes; summed indices are
 * p, q, r, s, …. Spaces are Euclidean, so an index's position is presentation: a vector is x^i, a
 * matrix A^i_j, the identity δ^i_j, and where a contraction would pair two upper (or two lower)
 * indices one of them is moved — on a vector if there is one (x_i is the covector x'), otherwise on
 * the later factor — so that a summed index appears once up and once down where the factors
 * allow it: x_p A^p_q x^q. A summed index that occurs only once (a sum of entries) is contracted
 * with the all-ones vector, 1_p x^p, so every summed index is visibly repeated.
 */
import type { Node, NodeOf } from '../ir/node.js';
import { toMatrix } from './matrix.js';
import { toText } from './text.js';
import { toLatex, latexName } from './latex.js';

type Ix = { name: string; up: boolean };

type IExpr =
  | { kind: 'num'; value: number }
  | { kind: 'tensor'; text: string; latex: string; indices: Ix[] }
  | { kind: 'sum'; terms: { coef: number; e: IExpr }[] }
  | { kind: 'prod'; factors: IExpr[] }
  | { kind: 'fn'; text: string; latex: string; arg: IExpr }
  | { kind: 'pow'; base: IExpr; exp: IExpr | number };

const FREE = ['i', 'j', 'k', 'l', 'm', 'n'];
const SUMMED = ['p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

export function freeIndexName(k: number): string {
  return k < FREE.length ? FREE[k]! : `i${k}`;
}

class Namer {
  private n = 0;
  fresh(): string {
    const k = this.n++;
    return k < SUMMED.length ? SUMMED[k]! : `p${k - SUMMED.length + 1}`;
  }
}

function leaf(text: string, latex: string, names: readonly string[]): IExpr {
  // Natural positions: vectors up, matrices up-down, higher ranks alternate.
  return { kind: 'tensor', text, latex, indices: names.map((name, i) => ({ name, up: i % 2 === 0 })) };
}

function matrixOrIndex(n: Node, namer: Namer): { text: string; latex: string } {
  const m = toMatrix(n);
  if (m) return { text: toText(m.ast), latex: toLatex(m.ast) };
  const inner = build(n, n.shape.map(() => namer.fresh()), namer);
  return { text: renderText(inner), latex: renderLatex(inner) };
}

function build(n: Node, names: readonly string[], namer: Namer): IExpr {
  switch (n.kind) {
    case 'var':
      return n.shape.length === 0 ? { kind: 'tensor', text: n.name, latex: latexName(n.name), indices: [] } : leaf(n.name, latexName(n.name), names);
    case 'const':
      return n.shape.length === 0 || n.value === 0 ? { kind: 'num', value: n.value } : leaf('1', '\\mathbf{1}', names);
    case 'delta':
      return leaf('δ', '\\delta', names);
    case 'add':
      return { kind: 'sum', terms: n.terms.map((t) => ({ coef: t.coef, e: build(t.node, names, namer) })) };
    case 'mul':
      return product(n, names, namer);
    case 'elem':
      return { kind: 'fn', text: n.fn, latex: FN_LATEX[n.fn] ?? `\\operatorname{${n.fn}}`, arg: build(n.arg, names, namer) };
    case 'pow':
      return { kind: 'pow', base: build(n.base, names, namer), exp: n.exp };
    case 'powv':
      return { kind: 'pow', base: build(n.base, names, namer), exp: build(n.exponent, names, namer) };
    case 'inv': {
      const a = matrixOrIndex(n.arg, namer);
      return leaf(`inv(${a.text})`, `\\left(${a.latex}\\right)^{-1}`, names);
    }
    case 'adj': {
      const a = matrixOrIndex(n.arg, namer);
      return leaf(`adj(${a.text})`, `\\operatorname{adj}\\left(${a.latex}\\right)`, names);
    }
    case 'det':
    case 'logdet': {
      const a = matrixOrIndex(n.arg, namer);
      return { kind: 'tensor', text: `${n.kind}(${a.text})`, latex: `${n.kind === 'det' ? '\\det' : '\\log\\det'}\\left(${a.latex}\\right)`, indices: [] };
    }
  }
}

const FN_LATEX: Partial<Record<string, string>> = {
  sin: '\\sin', cos: '\\cos', tan: '\\tan', arcsin: '\\arcsin', arccos: '\\arccos', arctan: '\\arctan',
  exp: '\\exp', log: '\\log', tanh: '\\tanh',
};

function product(n: NodeOf<'mul'>, names: readonly string[], namer: Namer): IExpr {
  const labelNames = new Map<number, string>();
  names.forEach((nm, i) => labelNames.set(i, nm));
  const nameOf = (l: number): string => {
    let s = labelNames.get(l);
    if (!s) labelNames.set(l, (s = namer.fresh()));
    return s;
  };
  const factors = n.factors.map((f) => build(f.node, f.labels.map(nameOf), namer));
  const rank = n.shape.length;
  // A summed index that occurs once is a sum of entries: Einstein notation writes it as a
  // contraction with the all-ones vector, 1_p x^p (= sum(x)).
  const occurrences = new Map<number, number>();
  for (const f of n.factors) for (const l of f.labels) occurrences.set(l, (occurrences.get(l) ?? 0) + 1);
  for (const [l, count] of occurrences)
    if (l >= rank && count === 1) factors.push({ kind: 'tensor', text: '1', latex: '\\mathbf{1}', indices: [{ name: nameOf(l), up: false }] });
  // Pair every summed index up with down where the factors allow it.
  for (let l = rank; l < n.nlabels; l++) {
    const nm = labelNames.get(l);
    if (!nm) continue;
    const occ: { t: IExpr & { kind: 'tensor' }; k: number }[] = [];
    for (const f of factors) {
      if (f.kind !== 'tensor') continue;
      f.indices.forEach((ix, k) => {
        if (ix.name === nm) occ.push({ t: f, k });
      });
    }
    if (occ.length !== 2) continue;
    const [a, b] = occ as [(typeof occ)[0], (typeof occ)[0]];
    if (a.t.indices[a.k]!.up !== b.t.indices[b.k]!.up) continue;
    const flip = a.t.indices.length === 1 && b.t.indices.length !== 1 ? a : b;
    flip.t.indices[flip.k] = { name: nm, up: !flip.t.indices[flip.k]!.up };
  }
  return { kind: 'prod', factors };
}

// ---------------------------------------------------------------------------------------------
// Rendering

function indexText(ixs: Ix[]): string {
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

function indexLatex(ixs: Ix[]): string {
  let s = '';
  let i = 0;
  while (i < ixs.length) {
    const up = ixs[i]!.up;
    let group = '';
    while (i < ixs.length && ixs[i]!.up === up) group += ixs[i++]!.name;
    s += `${s ? '{}' : ''}${up ? '^' : '_'}{${group}}`;
  }
  return s;
}

/** Terms in reading order: positive first, then alphabetical by their text. */
function readingOrder(terms: { coef: number; e: IExpr }[]): { coef: number; e: IExpr }[] {
  const keyed = terms.map((t) => ({ t, k: `${t.coef < 0 ? 1 : 0}${renderText(t.e)}` }));
  return keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.t);
}

function coefText(c: number): string {
  return String(c);
}

const textCache = new WeakMap<IExpr, string>();
const latexCache = new WeakMap<IExpr, string>();

/** Rendered once per expression: ordering a sum renders its terms, which must not repeat below. */
function renderText(e: IExpr): string {
  let s = textCache.get(e);
  if (s === undefined) textCache.set(e, (s = renderTextOnce(e)));
  return s;
}

function renderLatex(e: IExpr): string {
  let s = latexCache.get(e);
  if (s === undefined) latexCache.set(e, (s = renderLatexOnce(e)));
  return s;
}

function renderTextOnce(e: IExpr): string {
  switch (e.kind) {
    case 'num':
      return String(e.value);
    case 'tensor':
      return e.text + indexText(e.indices);
    case 'fn':
      return `${e.text}(${renderText(e.arg)})`;
    case 'pow': {
      const exp = typeof e.exp === 'number' ? String(e.exp) : `(${renderText(e.exp)})`;
      return `${powBaseText(e.base)}^${exp.startsWith('-') ? `(${exp})` : exp}`;
    }
    case 'prod':
      return e.factors.map(atomText).join(' ');
    case 'sum':
      return readingOrder(e.terms)
        .map((t, i) => {
          const body = t.e.kind === 'sum' ? `(${renderText(t.e)})` : renderText(t.e);
          const mag = Math.abs(t.coef);
          const scaled = mag === 1 ? body : `${coefText(mag)} ${body}`;
          if (i === 0) return t.coef < 0 ? `-${scaled}` : scaled;
          return t.coef < 0 ? ` - ${scaled}` : ` + ${scaled}`;
        })
        .join('');
  }
}

/** The base of a power: parenthesized unless it is a plain symbol or a function call. */
function powBaseText(e: IExpr): string {
  const plain = (e.kind === 'tensor' && e.indices.length === 0) || e.kind === 'fn' || (e.kind === 'num' && e.value >= 0);
  return plain ? renderText(e) : `(${renderText(e)})`;
}

function atomText(e: IExpr): string {
  return e.kind === 'sum' || (e.kind === 'num' && e.value < 0) ? `(${renderText(e)})` : renderText(e);
}

function renderLatexOnce(e: IExpr): string {
  switch (e.kind) {
    case 'num':
      return String(e.value);
    case 'tensor': {
      if (e.indices.length === 0) return e.latex;
      return `{${e.latex}}${indexLatex(e.indices)}`;
    }
    case 'fn':
      return `${e.latex}\\left(${renderLatex(e.arg)}\\right)`;
    case 'pow': {
      const exp = typeof e.exp === 'number' ? String(e.exp) : renderLatex(e.exp);
      return `\\left(${renderLatex(e.base)}\\right)^{${exp}}`;
    }
    case 'prod':
      return e.factors.map((f) => (f.kind === 'sum' ? `\\left(${renderLatex(f)}\\right)` : renderLatex(f))).join(' ');
    case 'sum':
      return readingOrder(e.terms)
        .map((t, i) => {
          const body = t.e.kind === 'sum' ? `\\left(${renderLatex(t.e)}\\right)` : renderLatex(t.e);
          const mag = Math.abs(t.coef);
          const scaled = mag === 1 ? body : `${mag} ${body}`;
          if (i === 0) return t.coef < 0 ? `-${scaled}` : scaled;
          return t.coef < 0 ? ` - ${scaled}` : ` + ${scaled}`;
        })
        .join('');
  }
}

export interface IndexForm {
  readonly text: string;
  readonly latex: string;
}

/** Index notation of a node; its free indices are i, j, k, … in axis order. */
export function toIndex(n: Node): IndexForm {
  const namer = new Namer();
  const e = build(n, n.shape.map((_, k) => freeIndexName(k)), namer);
  return { text: renderText(e), latex: renderLatex(e) };
}
