/**
 * Where a minus goes in index notation, as signs.ts places it in matrix notation: a negative term
 * whose product has a factor that can carry the sign takes it there, -(1 - a) x^p → (a - 1) x^p,
 * through odd functions and odd powers; 1 - u with u a function's value or a temporary keeps its
 * order (1^p - σ(x^p)). Only where every term of a sum is negative, so that one minus fewer shows.
 */
import type { IExpr } from './index.js';

type Term = { coef: number; e: IExpr };

/** Functions f with f(-u) = -f(u). */
const ODD: ReadonlySet<string> = new Set(['sin', 'tan', 'arcsin', 'arctan', 'tanh', 'sign']);

/** `e` with its minus signs placed; `temps` are the names of temporaries. */
export function placeIndexSigns(e: IExpr, temps: ReadonlySet<string>): IExpr {
  return new IndexSignPass(temps).visit(e);
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
      case 'prod':
        return { kind: 'prod', factors: e.factors.map((f) => this.visit(f)) };
      case 'fn':
        return { ...e, arg: this.visit(e.arg) };
      case 'pow':
        return { kind: 'pow', base: this.visit(e.base), exp: typeof e.exp === 'number' ? e.exp : this.visit(e.exp) };
      default:
        return e;
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
        e.factors.forEach((f, k) => {
          const flipped = this.negated(f);
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
