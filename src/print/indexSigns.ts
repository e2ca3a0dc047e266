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
export function placeIndexSigns(
  e: IExpr,
  temps: ReadonlySet<string>,
  written: ReadonlySet<string> = new Set(),
  definition = false,
): IExpr {
  const signed = (x: IExpr): IExpr => new IndexSignPass(temps, written).visit(liftSigns(x));
  return alignFree(orientWritten(signed(e), written, signed, definition), written);
}

/**
 * Differences in the order the input wrote them, as orient.ts turns them in matrix notation:
 * each sum whose negation the input wrote (and not it) is replaced by the negation of the written
 * one, the signs carried out and placed again (`signed`), where the tree gains at most one minus
 * sign besides those of the differences that read as written (signCost):
 * 2 (y^i - x^i) exp(…) → -2 (x^i - y^i) exp(…) for exp(-norm2(x - y)^2).
 */
function orientWritten(e: IExpr, written: ReadonlySet<string>, signed: (x: IExpr) => IExpr, definition: boolean): IExpr {
  if (written.size === 0) return e;
  const budget = signCost(e, written) + 1;
  const candidates = new Set<string>();
  const collect = (x: IExpr): void => {
    if (x.kind === 'sum' && x.terms.some((t) => t.coef > 0) && x.terms.some((t) => t.coef < 0)) {
      const negation: IExpr & { kind: 'sum' } = { kind: 'sum', terms: x.terms.map((t) => ({ coef: -t.coef, e: t.e })) };
      const [text, other] = [plainText(x), plainText(negation)];
      if (text !== undefined && !written.has(text) && written.has(other!)) candidates.add(keyOf(x));
    }
    childrenOf(x).forEach(collect);
  };
  collect(e);
  let out = e;
  for (const key of candidates) {
    // Each occurrence with its own indices: -(x^p - y^p) for y^p - x^p.
    const replace = (x: IExpr): IExpr => {
      if (x.kind !== 'sum' || keyOf(x) !== key) return mapChildren(x, replace);
      return minus({ kind: 'sum', terms: x.terms.map((t) => ({ coef: -t.coef, e: t.e })) });
    };
    const trial = signed(replace(out));
    // A temporary's definition keeps its sign (t1 = -tan(…) would name the negation), and a minus
    // left in a function's argument (sigmoid(-(x^p - y^p) a)) does not read better.
    if (definition && leadsNegative(trial) && !leadsNegative(out)) continue;
    if (signCost(trial, written) <= budget && negatedArguments(trial) <= negatedArguments(out)) out = trial;
  }
  return out;
}

/** Whether a tree prints with a minus in front. */
function leadsNegative(e: IExpr): boolean {
  if (e.kind === 'num') return e.value < 0;
  if (e.kind === 'sum') return e.terms.every((t) => t.coef < 0);
  return e.kind === 'prod' && e.factors.length > 0 && leadsNegative(e.factors[0]!);
}

/** Function arguments and powers' bases that print with a minus in front. */
function negatedArguments(e: IExpr): number {
  const own = (e.kind === 'fn' && leadsNegative(e.arg)) || (e.kind === 'pow' && leadsNegative(e.base)) ? 1 : 0;
  return own + childrenOf(e).reduce((s, c) => s + negatedArguments(c), 0);
}

/** The minus signs a tree prints (negative coefficients and numbers) but those of sums that read as written. */
function signCost(e: IExpr, written: ReadonlySet<string>): number {
  let own = e.kind === 'num' && e.value < 0 ? 1 : 0;
  if (e.kind === 'sum') {
    const text = plainText(e);
    own = text !== undefined && written.has(text) ? 0 : e.terms.filter((t) => t.coef < 0).length;
  }
  return own + childrenOf(e).reduce((s, c) => s + signCost(c, written), 0);
}

/** -e as a tree: a sum of one term with coefficient -1. */
const minus = (e: IExpr): IExpr => ({ kind: 'sum', terms: [{ coef: -1, e }] });

/** e where it is -u (a sum of one term with coefficient -1): u; else undefined. */
function negatedPart(e: IExpr): IExpr | undefined {
  return e.kind === 'sum' && e.terms.length === 1 && e.terms[0]!.coef === -1 ? e.terms[0]!.e : undefined;
}

/**
 * Minus signs of parts carried outward, as far as they go: a product takes its factors' signs
 * ((-t1^p) (-t1_p) → t1^p t1_p), an odd function or an odd power its argument's, an even one drops
 * it, a sum multiplies it into the term's coefficient. A turned temporary's uses (-t1^i, see
 * present.ts) are what put such signs in a tree.
 */
function liftSigns(e: IExpr): IExpr {
  const m = mapChildren(e, liftSigns);
  switch (m.kind) {
    case 'sum': {
      const terms = m.terms.map((t) => {
        const u = negatedPart(t.e);
        return u ? { coef: -t.coef, e: u } : t;
      });
      return terms.length === 1 && terms[0]!.coef === 1 ? terms[0]!.e : { kind: 'sum', terms };
    }
    case 'prod': {
      let negative = false;
      const factors = m.factors.map((f) => {
        const u = negatedPart(f);
        if (u) negative = !negative;
        return u ?? f;
      });
      return negative ? minus({ kind: 'prod', factors }) : { kind: 'prod', factors };
    }
    case 'fn': {
      const u = negatedPart(m.arg);
      if (!u) return m;
      if (EVEN.has(m.text)) return { ...m, arg: u };
      return ODD.has(m.text) ? minus({ ...m, arg: u }) : m;
    }
    case 'pow': {
      const u = negatedPart(m.base);
      if (!u || typeof m.exp !== 'number' || !Number.isInteger(m.exp)) return m;
      const p: IExpr = { kind: 'pow', base: u, exp: m.exp };
      return m.exp % 2 === 0 ? p : minus(p);
    }
    default:
      return m;
  }
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

/**
 * Whether every use of the temporary `name` in `e` is a place where its sign is free (t1^p t1_p).
 * A tensor in matrix notation that holds the name is a use: where the name is a member of its
 * Hadamard product, (t1.*exp(x))^i, as many times as it is one; anywhere else in its text,
 * (inv(t1 + A))^i_j, a use whose sign is never free.
 */
export function usedOnlyFreeIndex(e: IExpr, name: string): boolean {
  const word = new RegExp(`(?<![\\p{L}\\w])${name}(?![\\p{L}\\w])`, 'gu');
  /** How many factors `name` the tensor x is; NaN where its text holds the name otherwise. */
  const carries = (x: IExpr): number => {
    if (x.kind !== 'tensor') return 0;
    if (x.text === name) return 1;
    const inText = x.text.match(word)?.length ?? 0;
    return inText === 0 ? 0 : x.members?.get(name) === inText ? inText : NaN;
  };
  const freeHere = (x: IExpr): IExpr[] => {
    if (x.kind === 'pow') return typeof x.exp === 'number' && x.exp % 2 === 0 && carries(x.base) > 0 ? [x.base] : [];
    if (x.kind === 'fn') return EVEN.has(x.text) && carries(x.arg) > 0 ? [x.arg] : [];
    if (x.kind !== 'prod') return [];
    // Negating the name negates each factor that is it once: the product keeps its sign where
    // they are an even number of times in all.
    const holding = x.factors.filter((f) => carries(f) !== 0);
    const times = holding.reduce((acc, f) => acc + carries(f), 0);
    return times % 2 === 0 ? holding : [];
  };
  const visit = (x: IExpr, inFree: boolean): boolean => {
    const c = carries(x);
    if (c !== 0) return inFree && !Number.isNaN(c);
    const free = new Set(freeHere(x));
    return childrenOf(x).every((y) => visit(y, free.has(y)));
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

/** The subtrees of a tree (a symmetrization, only at the top, has none here). */
export function childrenOf(e: IExpr): IExpr[] {
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
    case 'sym':
      return `sym(${keyOf(e.arg)})`;
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
  constructor(
    private readonly temps: ReadonlySet<string>,
    private readonly written: ReadonlySet<string>,
  ) {}

  visit(e: IExpr): IExpr {
    switch (e.kind) {
      case 'sum': {
        const terms = e.terms.map((t) => {
          if (t.e.kind !== 'prod') return { coef: t.coef, e: this.visit(t.e) };
          // A product's all-negative sum factors give their sign to the term: a - (x + y) z.
          const { prod, negative } = this.signedProduct(t.e);
          return { coef: negative ? -t.coef : t.coef, e: prod };
        });
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
      case 'prod': {
        // 2 (-u - v) w → -2 (u + v) w: a number factor takes the sign where there is one, else a
        // minus in front (one minus for the sum's several).
        const { prod, negative } = this.signedProduct(e);
        if (!negative) return prod;
        const k = prod.factors.findIndex((f) => f.kind === 'num');
        if (k < 0) return minus(prod);
        return { kind: 'prod', factors: prod.factors.map((f, j) => (j === k && f.kind === 'num' ? { kind: 'num', value: -f.value } : f)) };
      }
      default:
        return mapChildren(e, (c) => this.visit(c));
    }
  }

  /** A product with its factors visited and its all-negative sums turned positive, and whether that negated it. */
  private signedProduct(e: IExpr & { kind: 'prod' }): { prod: IExpr & { kind: 'prod' }; negative: boolean } {
    let negative = false;
    const factors = e.factors.map((f) => {
      const v = this.visit(f);
      if (v.kind !== 'sum' || v.terms.length < 2 || !v.terms.every((t) => t.coef < 0)) return v;
      negative = !negative;
      return { kind: 'sum' as const, terms: v.terms.map((t) => ({ coef: -t.coef, e: t.e })) };
    });
    return { prod: { kind: 'prod', factors }, negative };
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

  /**
   * The terms negated, where one of them then is positive or can take the sign; else undefined,
   * also for a difference as the input wrote it (a minus does not turn x^p - y^p around).
   */
  private negatedSum(terms: readonly Term[]): IExpr | undefined {
    if (this.keepsOrder(terms)) return undefined;
    const flipped = terms.map((t) => ({ coef: -t.coef, e: t.e }));
    const [text, otherText] = [plainText({ kind: 'sum', terms: [...terms] }), plainText({ kind: 'sum', terms: flipped })];
    if (text !== undefined && this.written.has(text) && !this.written.has(otherText!)) return undefined;
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
