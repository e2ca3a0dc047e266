/**
 * An evaluator of printed index notation, independent of the printer: it reads the tree that the
 * index text renders (every index placed) and sums over indices as the summation convention says —
 * a name that two factors of a product carry is summed there, a name inside a factor that the
 * factor sums is bound inside it. Tensors are looked up by their text: δ (1 where all its indices
 * agree), 1 and 0 (the all-ones and the zero tensor), a temporary's name, or a matrix-notation text evaluated as the
 * input language (inv(S), (t1.*exp(x)), rows(B)). Every axis has the same size n.
 */
import type { IExpr } from '../../src/print/index.js';
import type { Tensor } from '../../src/tensor.js';

export class Unsupported extends Error {}

const FNS: Readonly<Record<string, (x: number) => number>> = {
  sin: Math.sin, cos: Math.cos, tan: Math.tan, arcsin: Math.asin, arccos: Math.acos, arctan: Math.atan,
  exp: Math.exp, log: Math.log, tanh: Math.tanh, abs: Math.abs, sign: Math.sign, sqrt: Math.sqrt,
  relu: (x) => Math.max(x, 0), sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
};

/**
 * The names an expression leaves free (in a product, a name that two factors carry is summed).
 * The rule is written here again rather than taken from the printer (freeNames in
 * src/print/index.ts), so that the check does not share the code it checks.
 */
function freeOf(e: IExpr): string[] {
  switch (e.kind) {
    case 'num':
      return [];
    case 'tensor': {
      const names = e.indices.map((x) => x.name);
      return names.filter((x) => names.indexOf(x) === names.lastIndexOf(x));
    }
    case 'sum':
      return e.terms.length > 0 ? freeOf(e.terms[0]!.e) : [];
    case 'prod': {
      const count = new Map<string, number>();
      for (const f of e.factors) for (const x of freeOf(f)) count.set(x, (count.get(x) ?? 0) + 1);
      return [...count].filter(([, c]) => c === 1).map(([x]) => x);
    }
    case 'fn':
    case 'sym':
      return freeOf(e.arg);
    case 'pow':
      return [...new Set([...freeOf(e.base), ...(typeof e.exp === 'number' ? [] : freeOf(e.exp))])];
  }
}

export interface IndexEvaluator {
  /** The value of a tree at an assignment of its free indices. */
  at(e: IExpr, env: ReadonlyMap<string, number>): number;
}

/** `tensorOf(text)`: the tensor a text names (δ and 1 are handled here). */
export function indexEvaluator(n: number, tensorOf: (text: string) => Tensor): IndexEvaluator {
  const cache = new Map<string, Tensor>();
  const lookup = (text: string): Tensor => {
    let t = cache.get(text);
    if (!t) cache.set(text, (t = tensorOf(text)));
    return t;
  };
  /** Calls f with env extended by every assignment of `names` (0 … n−1 each). */
  const each = (names: readonly string[], env: ReadonlyMap<string, number>, f: (env: Map<string, number>) => void): void => {
    const e = new Map(env);
    const rec = (k: number): void => {
      if (k === names.length) return f(e);
      for (let v = 0; v < n; v++) {
        e.set(names[k]!, v);
        rec(k + 1);
      }
    };
    rec(0);
  };
  const tensorAt = (e: IExpr & { kind: 'tensor' }, env: ReadonlyMap<string, number>): number => {
    const names = e.indices.map((x) => x.name);
    const inner = names.filter((x, k) => names.indexOf(x) !== k);
    let total = 0;
    each(inner, env, (env2) => {
      const idx = names.map((x) => {
        const v = env2.get(x);
        if (v === undefined) throw new Error(`index ${x} of ${e.text} is bound nowhere`);
        return v;
      });
      if (e.text === 'δ') total += idx.every((v) => v === idx[0]) ? 1 : 0;
      else if (e.text === '1') total += 1;
      else if (e.text === '0') total += 0;
      else {
        const t = lookup(e.text);
        if (t.shape.length !== idx.length) throw new Error(`${e.text} has ${t.shape.length} axes, indexed by ${idx.length}`);
        let off = 0;
        for (let k = 0; k < idx.length; k++) off = off * t.shape[k]! + idx[k]!;
        total += t.data[off]!;
      }
    });
    return total;
  };
  // A tree's value depends only on the values of its free names (the others are bound inside it).
  const memo = new Map<IExpr, { free: readonly string[]; values: Map<string, number> }>();
  const at = (e: IExpr, env: ReadonlyMap<string, number>): number => {
    let m = memo.get(e);
    if (!m) memo.set(e, (m = { free: freeOf(e), values: new Map() }));
    const key = m.free.map((x) => env.get(x)).join(',');
    let v = m.values.get(key);
    if (v === undefined) m.values.set(key, (v = compute(e, env)));
    return v;
  };
  const compute = (e: IExpr, env: ReadonlyMap<string, number>): number => {
    switch (e.kind) {
      case 'num':
        return e.value;
      case 'tensor':
        return tensorAt(e, env);
      case 'sum':
        return e.terms.reduce((acc, t) => acc + t.coef * at(t.e, env), 0);
      case 'prod': {
        const count = new Map<string, number>();
        for (const f of e.factors) for (const x of freeOf(f)) count.set(x, (count.get(x) ?? 0) + 1);
        const summed = [...count].filter(([, c]) => c >= 2).map(([x]) => x);
        for (const [x, c] of count) if (c > 2) throw new Error(`${x} is in ${c} factors of one product`);
        if (summed.length > 12) throw new Unsupported(`${summed.length} indices summed in one product`);
        // δ first: an entry off its diagonal is no term at all (0, even beside a NaN factor).
        const isDelta = (f: IExpr): boolean => f.kind === 'tensor' && f.text === 'δ';
        const ordered = [...e.factors.filter(isDelta), ...e.factors.filter((f) => !isDelta(f))];
        let total = 0;
        each(summed, env, (env2) => {
          let p = 1;
          for (const f of ordered) {
            p *= at(f, env2);
            if (p === 0 && isDelta(f)) return;
          }
          total += p;
        });
        return total;
      }
      case 'fn': {
        const f = FNS[e.text];
        if (!f) throw new Unsupported(`function ${e.text}`);
        return f(at(e.arg, env));
      }
      case 'pow':
        return Math.pow(at(e.base, env), typeof e.exp === 'number' ? e.exp : at(e.exp, env));
      case 'sym': {
        // The mean over swapping each pair's values.
        let total = 0;
        const m = e.pairs.length;
        for (let mask = 0; mask < 1 << m; mask++) {
          const env2 = new Map(env);
          e.pairs.forEach(([a, b], k) => {
            if (mask & (1 << k)) {
              env2.set(a, env.get(b)!);
              env2.set(b, env.get(a)!);
            }
          });
          total += at(e.arg, env2);
        }
        return total / (1 << m);
      }
    }
  };
  return { at };
}

/** The whole tensor of a tree whose free indices are `free` (in axis order). */
export function evaluateIndexTree(ev: IndexEvaluator, e: IExpr, free: readonly string[], n: number): Float64Array {
  const out = new Float64Array(n ** free.length);
  const env = new Map<string, number>();
  const rec = (k: number, off: number): void => {
    if (k === free.length) {
      out[off] = ev.at(e, env);
      return;
    }
    for (let v = 0; v < n; v++) {
      env.set(free[k]!, v);
      rec(k + 1, off * n + v);
    }
  };
  rec(0, 0);
  return out;
}
