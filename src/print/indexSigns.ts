/**
 * Where a minus goes in index notation, as signs.ts places it in matrix notation: a negative term
 * whose product has a factor that can carry the sign takes it there, -(1 - a) x^p → (a - 1) x^p,
 * through odd functions and odd powers; 1 - u with u a function's value or a temporary keeps its
 * order (1^p - σ(x^p)). Only where every term of a sum is negative, so that one minus fewer shows.
 * Then, as in matrix notation, a difference whose sign is free (twice a factor of a product, the
 * base of an even power, the argument of abs or cos) takes the sign the form has outside such
 * places, else the sign the input was written with: (x^p - y^p) (x_p - y_p) for norm2(x - y).
 */
import type { IExpr } from './index.js';

type Term = { coef: number; e: IExpr };

/** Functions f with f(-u) = -f(u). */
const ODD: ReadonlySet<string> = new Set(['sin', 'tan', 'arcsin', 'arctan', 'tanh', 'sign']);

/**
 * `e` with its minus signs placed; `temps` are the names of temporaries, `written` the texts of the
 * input's sums (signs.ts, writtenSums).
 */
export function placeIndexSigns(e: IExpr, temps: ReadonlySet<string>, written: ReadonlySet<string> = new Set()): IExpr {
  return alignFree(new IndexSignPass(temps).visit(e), written);
}

/** Functions f with f(-u) = f(u). */
const EVEN: ReadonlySet<string> = new Set(['abs', 'cos']);

/**
 * Sums whose sign is free in the sign the form has outside such places, else in the input's. Sums
 * are compared by their terms' coefficients and symbols, not their indices: turning two factors of
 * a product, whatever they are, leaves its value.
 */
function alignFree(root: IExpr, written: ReadonlySet<string>): IExpr {
  // The sums outside free places (a sum inside a sum is part of it).
  const outside = new Set<string>();
  const count = (e: IExpr, inSum: boolean, free: boolean): void => {
    if (e.kind === 'sum' && !inSum && !free) outside.add(keyOf(e));
    const freed = new Set(freeParts(e, isSum));
    for (const c of childrenOf(e)) count(c, e.kind === 'sum', freed.has(c));
  };
  count(root, false, false);
  const turned = (s: IExpr & { kind: 'sum' }): IExpr | undefined => {
    if (!s.terms.some((t) => t.coef > 0) || !s.terms.some((t) => t.coef < 0)) return undefined;
    const negation: IExpr = { kind: 'sum', terms: s.terms.map((t) => ({ coef: -t.coef, e: t.e })) };
    const [key, other] = [keyOf(s), keyOf(negation)];
    if (outside.has(key)) return undefined;
    if (outside.has(other)) return negation;
    const [text, otherText] = [plainText(s), plainText(negation)];
    return otherText !== undefined && written.has(otherText) && !written.has(text!) ? negation : undefined;
  };
  const align = (e: IExpr): IExpr => {
    const freed = new Set(freeParts(e, isSum));
    return mapChildren(e, (c) => align((freed.has(c) && c.kind === 'sum' ? turned(c) : undefined) ?? c));
  };
  return align(root);
}

/** Whether every use of the temporary `name` in `e` is a place where its sign is free (t1^p t1_p). */
export function usedOnlyFreeIndex(e: IExpr, name: string): boolean {
  const isName = (x: IExpr): boolean => x.kind === 'tensor' && x.text === name;
  const visit = (x: IExpr, inFree: boolean): boolean => {
    if (isName(x)) return inFree;
    const free = new Set(freeParts(x, isName));
    return childrenOf(x).every((c) => visit(c, free.has(c)));
  };
  return visit(e, false);
}

/**
 * The children of `e` that `is` accepts and whose sign is free there: factors of a product that
 * occur there an even number of times (by keyOf), the base of an even power, the argument of an
 * even function.
 */
function freeParts(e: IExpr, is: (x: IExpr) => boolean): IExpr[] {
  if (e.kind === 'pow') return typeof e.exp === 'number' && e.exp % 2 === 0 && is(e.base) ? [e.base] : [];
  if (e.kind === 'fn') return EVEN.has(e.text) && is(e.arg) ? [e.arg] : [];
  if (e.kind !== 'prod') return [];
  const factors = e.factors.filter(is);
  const counts = new Map<string, number>();
  for (const f of factors) counts.set(keyOf(f), (counts.get(keyOf(f)) ?? 0) + 1);
  return factors.filter((f) => counts.get(keyOf(f))! % 2 === 0);
}

const isSum = (e: IExpr): boolean => e.kind === 'sum';

function childrenOf(e: IExpr): IExpr[] {
  switch (e.kind) {
    case 'sum':
      return e.terms.map((t) => t.e);
    case 'prod':
      return e.factors;
    case 'fn':
      return [e.arg];
    case 'pow':
      return typeof e.exp === 'number' ? [e.base] : [e.base, e.exp];
    default:
      return [];
  }
}

function mapChildren(e: IExpr, f: (c: IExpr) => IExpr): IExpr {
  switch (e.kind) {
    case 'sum':
      return { kind: 'sum', terms: e.terms.map((t) => ({ coef: t.coef, e: f(t.e) })) };
    case 'prod':
      return { kind: 'prod', factors: e.factors.map(f) };
    case 'fn':
      return { ...e, arg: f(e.arg) };
    case 'pow':
      return { kind: 'pow', base: f(e.base), exp: typeof e.exp === 'number' ? e.exp : f(e.exp) };
    default:
      return e;
  }
}

const keys = new WeakMap<IExpr, string>();

/** A tree's coefficients and symbols, without its indices. */
function keyOf(e: IExpr): string {
  let k = keys.get(e);
  if (k === undefined) keys.set(e, (k = keyOnce(e)));
  return k;
}

function keyOnce(e: IExpr): string {
  switch (e.kind) {
    case 'num':
      return String(e.value);
    case 'tensor':
      return e.text;
    case 'sum':
      return `(${e.terms.map((t) => `${t.coef}*${keyOf(t.e)}`).join(' + ')})`;
    case 'prod':
      return e.factors.map(keyOf).join(' ');
    case 'fn':
      return `${e.text}(${keyOf(e.arg)})`;
    case 'pow':
      return `${keyOf(e.base)}^${typeof e.exp === 'number' ? e.exp : keyOf(e.exp)}`;
  }
}

/** A sum of symbols as matrix notation writes it (x - y, 2*y - x), positive terms first; else undefined. */
function plainText(s: IExpr & { kind: 'sum' }): string | undefined {
  if (!s.terms.every((t) => t.e.kind === 'tensor')) return undefined;
  const ordered = [...s.terms.filter((t) => t.coef > 0), ...s.terms.filter((t) => t.coef < 0)];
  return ordered
    .map((t, i) => {
      const mag = Math.abs(t.coef);
      const term = `${mag === 1 ? '' : `${mag}*`}${(t.e as IExpr & { kind: 'tensor' }).text}`;
      return i === 0 ? term : `${t.coef < 0 ? ' - ' : ' + '}${term}`;
    })
    .join('');
}

class IndexSignPass {
  constructor(private readonly temps: ReadonlySet<string>) {}

  visit(e: IExpr): IExpr {
    switch (e.kind) {
      case 'sum': {
        const terms = e.terms.map((t) => ({ coef: t.coef, e: this.visit(t.e) }));
        if (terms.every((t) => t.coef < 0))
          for (let k = 0; k < terms.length; k++) {
            const flipped = this.negated(terms[k]!.e);
            if (flipped) {
              terms[k] = { coef: -terms[k]!.coef, e: flipped };
              break;
            }
          }
        return { kind: 'sum', terms };
      }
      default:
        return mapChildren(e, (c) => this.visit(c));
    }
  }

  /** -e written with no minus of its own, where a part of e can take the sign; else undefined. */
  private negated(e: IExpr): IExpr | undefined {
    switch (e.kind) {
      case 'sum':
        return this.negatedSum(e.terms);
      case 'prod': {
        // The longest factor that can take the sign: t (1 - t) (6 t - 1), not t (t - 1) (1 - 6 t).
        let best: { k: number; flipped: IExpr; size: number } | undefined;
        // One of a pair (u^p u_p) turned alone would write (x^p - y^p) (y_p - x_p).
        const paired = new Set(freeParts(e, isSum));
        e.factors.forEach((f, k) => {
          const flipped = paired.has(f) ? undefined : this.negated(f);
          const size = flipped ? weight(f) : 0;
          if (flipped && (!best || size > best.size)) best = { k, flipped, size };
        });
        const b = best as { k: number; flipped: IExpr } | undefined;
        return b && { kind: 'prod', factors: e.factors.map((f, k) => (k === b.k ? b.flipped : f)) };
      }
      case 'fn': {
        const arg = ODD.has(e.text) ? this.negated(e.arg) : undefined;
        return arg && { ...e, arg };
      }
      case 'pow': {
        const odd = typeof e.exp === 'number' && Math.abs(e.exp % 2) === 1;
        const base = odd ? this.negated(e.base) : undefined;
        return base && { kind: 'pow', base, exp: e.exp };
      }
      default:
        return undefined;
    }
  }

  /** The terms negated, where one of them then is positive or can take the sign; else undefined. */
  private negatedSum(terms: readonly Term[]): IExpr | undefined {
    if (this.keepsOrder(terms)) return undefined;
    const flipped = terms.map((t) => ({ coef: -t.coef, e: t.e }));
    if (flipped.every((t) => t.coef < 0)) {
      const k = flipped.findIndex((t) => this.negated(t.e) !== undefined);
      if (k < 0) return undefined;
      flipped[k] = { coef: -flipped[k]!.coef, e: this.negated(flipped[k]!.e)! };
    }
    return { kind: 'sum', terms: flipped };
  }

  /** 1 - u with u a function's value, a temporary or a power of one (1 - a with a variable turns). */
  private keepsOrder(terms: readonly Term[]): boolean {
    if (terms.length !== 2) return false;
    const [one, u] = terms[0]!.coef > 0 ? [terms[0]!, terms[1]!] : [terms[1]!, terms[0]!];
    if (one.coef !== 1 || u.coef >= 0 || !isOnes(one.e)) return false;
    const valued = (x: IExpr): boolean =>
      x.kind === 'fn' || (x.kind === 'tensor' && this.temps.has(x.text)) || (x.kind === 'pow' && valued(x.base));
    return valued(u.e);
  }
}

/** 1 and the all-ones vector. */
function isOnes(e: IExpr): boolean {
  return (e.kind === 'num' && e.value === 1) || (e.kind === 'tensor' && e.text === '1');
}

/** A size of a tree that needs no rendering (renderings are cached only after indices are placed). */
function weight(e: IExpr): number {
  switch (e.kind) {
    case 'sum':
      return e.terms.reduce((s, t) => s + weight(t.e), 1);
    case 'prod':
      return e.factors.reduce((s, f) => s + weight(f), 0);
    case 'fn':
      return 1 + weight(e.arg);
    case 'pow':
      return weight(e.base) + (typeof e.exp === 'number' ? 1 : weight(e.exp));
    default:
      return 1;
  }
}
