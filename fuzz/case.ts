/**
 * A fuzz case: a generated expression with the variable, the order and the sizes it is checked
 * at, in a form that can be sent to a worker thread; and what a worker reports back.
 */
import type { Ast } from '../src/syntax/ast.js';
import { parse } from '../src/syntax/parse.js';
import { check, type Checked } from '../src/syntax/check.js';
import { ONE, kindOf as checkedKind } from '../src/syntax/types.js';
import { ENV, envVar, factorsOf, isProduct, kindOf, varsOf, type Expr, type GType, type Sym } from './generate.js';
import { mathText, shapeOf, type OType } from './oracle.js';
import { toInput } from './text.js';

export interface Sizes {
  readonly n: number;
  readonly m: number;
}

export interface VarShape {
  readonly name: string;
  readonly shape: readonly number[];
  readonly symmetric: boolean;
}

/** What a worker needs to check one case (plain data: it crosses a thread boundary). */
export interface CaseSpec {
  readonly id: number;
  /** Seeds the points the case is checked at (the same for every shrinking candidate). */
  readonly seed: number;
  readonly text: string;
  /** The expression as mathjs text, from the generator's tree and types. */
  readonly math: string;
  /** Shape of the expression's value (engine layout). */
  readonly shape: readonly number[];
  readonly wrt: string;
  readonly order: number;
  readonly decls: Readonly<Record<string, string>>;
  /** Every variable of the environment (values are drawn for all, in this order). */
  readonly env: readonly VarShape[];
}

/** wrong: a value that differs; stopped: an explicit error (singular matrix) where the derivative exists. */
export type FailureKind = 'wrong' | 'stopped' | 'compiled' | 'exported' | 'roundtrip' | 'crash' | 'rejected' | 'timeout';
export const FAILURE_KINDS: readonly FailureKind[] = ['wrong', 'stopped', 'compiled', 'exported', 'roundtrip', 'crash', 'rejected', 'timeout'];

export interface Failure {
  readonly kind: FailureKind;
  /** One line: what differed, where. */
  readonly detail: string;
  /** For crashes and rejections: the error message with numbers and names blurred, to match while shrinking. */
  readonly signature?: string;
}

export type SkipReason = 'domain' | 'fd-untrusted' | 'ill-conditioned';

export interface Outcome {
  readonly id: number;
  readonly deriveMs?: number;
  /** Printed length of the result (matrix form, else index form) over the length of the input. */
  readonly sizeRatio?: number;
  readonly hasMatrix?: boolean;
  /** Whether the result is in a class that must have a matrix form (issue 9, src/print/coverage.ts). */
  readonly matrixRequired?: boolean;
  /** Of those orders and shapes, but written with vec or kron (outside the classes; counted apart). */
  readonly vecKronClass?: boolean;
  /**
   * The vec layout, where the expression or the variable is a matrix and the result a matrix or a
   * vector in it: whether it has a matrix form, and its printed length over the input's.
   */
  readonly vec?: { readonly hasMatrix: boolean; readonly sizeRatio: number };
  readonly failures: readonly Failure[];
  /** Points given up on, by the reason most of their draws were rejected for. */
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>;
  readonly pointsChecked: number;
  /**
   * Points checked where the printed form is undefined (an inv of a matrix that is singular there:
   * the printed derivative of adj) while the derivative is defined: no round trip was judged there.
   */
  readonly printedUndefined?: number;
  /** The vec layout's printed form is longer than the input limit: not input, so its round trip is not judged. */
  readonly tooLong?: boolean;
  /** Largest error / tolerance ratio of the passing comparisons, per check (how close the calls were). */
  readonly closest: Readonly<Record<'fd' | 'compiled' | 'roundtrip', number>>;
  /** Abandoned: the mathjs oracle (the fuzzer's own cost) ran too long. */
  readonly oracleTimeout?: boolean;
}

export const sizeOfSym = (s: Sym, sizes: Sizes): number => {
  const [a, b] = factorsOf(s);
  return a === 1 ? 1 : isProduct(s) ? sizes[a as 'n' | 'm'] * sizes[b as 'n' | 'm'] : sizes[a as 'n' | 'm'];
};

export function otype(t: GType, sizes: Sizes): OType {
  return { kind: kindOf(t), rows: sizeOfSym(t.r, sizes), cols: sizeOfSym(t.c, sizes) };
}

/**
 * The case for an expression, or the reason it cannot be one: every size must be fixed by a
 * variable (sum(vector(1)) has a size nothing fixes; that is the generator's doing, not a finding).
 * Our checker decides that; a check error on a generated, well-typed expression is a finding.
 */
export type Prepared = { readonly ok: true; readonly spec: CaseSpec } | { readonly ok: false; readonly unbound: true } | { readonly ok: false; readonly unbound: false; readonly failure: Failure };

export function prepare(expr: Expr, wrt: string, order: number, sizes: Sizes, id: number, seed: number): Prepared {
  const text = toInput(expr.ast);
  const present = varsOf(expr.ast);
  const decls: Record<string, string> = {};
  for (const name of present) {
    const d = envVar(name)?.declared;
    if (d) decls[name] = d;
  }
  try {
    const ast = parse(text);
    const c = check(text, ast, decls);
    const bound = new Map<number, number>([[ONE, 1]]);
    for (const v of c.vars.values()) {
      const t = otype(envVar(v.name)!.type, sizes);
      bound.set(c.sizes.find(v.type.rows), t.rows);
      bound.set(c.sizes.find(v.type.cols), t.cols);
    }
    inferProductSizes(c, bound);
    for (const t of c.types.values()) for (const d of [t.rows, t.cols]) if (!bound.has(c.sizes.find(d))) return { ok: false, unbound: true };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, unbound: false, failure: { kind: 'rejected', detail: `the checker rejects a well-typed expression: ${msg}`, signature: signatureOf(msg) } };
  }
  const ty = (a: Ast): OType => otype(expr.types.get(a)!, sizes);
  const env = ENV.map((v) => ({ name: v.name, shape: shapeOf(otype(v.type, sizes)), symmetric: v.declared === 'symmetric matrix' }));
  return {
    ok: true,
    spec: { id, seed, text, math: mathText(expr.ast, ty), shape: shapeOf(ty(expr.ast)), wrt, order, decls, env },
  };
}

/**
 * Sizes that vec and kron fix, into `sizes` (keyed by the checker's representative size symbols):
 * the product of the sizes they merge where those are known, and a factor by division where the
 * product and the other factor are (the eye in kron(eye, A)*vec(X)), as the evaluators infer them
 * (reference.ts bindMergedSizes). Repeated until nothing changes.
 */
export function inferProductSizes(c: Checked, sizes: Map<number, number>): void {
  const find = (d: number): number => c.sizes.find(d);
  const groups: { total: number; parts: number[] }[] = [];
  for (const [a, t] of c.types) {
    if (a.kind !== 'call') continue;
    if (a.fn === 'vec') {
      const m = c.types.get(a.args[0]!)!;
      groups.push({ total: find(t.rows), parts: [find(m.rows), find(m.cols)] });
    } else if (a.fn === 'kron') {
      const [p, q] = [c.types.get(a.args[0]!)!, c.types.get(a.args[1]!)!];
      groups.push({ total: find(t.rows), parts: [find(p.rows), find(q.rows)] }, { total: find(t.cols), parts: [find(p.cols), find(q.cols)] });
    }
  }
  // Size arguments that are products or quotients (vector(1, len(x)*len(z)/len(y))).
  for (const r of c.sizeProducts) groups.push({ total: find(r.total), parts: r.parts.map(find) });
  for (let changed = true; changed; ) {
    changed = false;
    for (const { total, parts } of groups) {
      const unknown = parts.filter((p) => !sizes.has(p));
      const known = parts.filter((p) => sizes.has(p)).reduce((acc, p) => acc * sizes.get(p)!, 1);
      if (unknown.length === 0 && !sizes.has(total)) {
        sizes.set(total, known);
        changed = true;
      } else if (unknown.length === 1 && sizes.has(total) && known > 0 && sizes.get(total)! % known === 0) {
        sizes.set(unknown[0]!, sizes.get(total)! / known);
        changed = true;
      }
    }
  }
}

/** An error message with numbers and quoted or single-letter names blurred, so that one bug matches itself. */
export function signatureOf(message: string): string {
  return message
    .split('\n')[0]!
    .replace(/[0-9.]+(e[-+]?\d+)?/g, '#')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\b[A-Za-z]\b/g, '_')
    .slice(0, 80);
}

/** The one-line reproduction of a case. */
export function reproduction(text: string, wrt: string, order: number, decls: Readonly<Record<string, string>>): string {
  const lets = Object.entries(decls).map(([k, v]) => ` --let "${k}: ${v}"`).join('');
  return `ricci derive "${text}" --wrt ${wrt} --order ${order}${lets}`;
}

/**
 * A case for an expression typed in by hand (--expr): types come from our checker, as they must,
 * so this mode does not test the parser; each size symbol gets one of `dims` in turn.
 */
export function specFromText(text: string, wrt: string, order: number, decls: Readonly<Record<string, string>>, seed: number, dims: readonly number[] = [3, 2, 4, 5]): CaseSpec {
  const ast = parse(text);
  const c = check(text, ast, decls, [wrt]);
  const sizes = new Map<number, number>([[ONE, 1]]);
  const dim = (d: number): number => {
    const r = c.sizes.find(d);
    if (!sizes.has(r)) sizes.set(r, dims[(sizes.size - 1) % dims.length]!);
    return sizes.get(r)!;
  };
  // The variables' sizes first, then the products vec and kron make of them.
  for (const v of c.vars.values()) [v.type.rows, v.type.cols].forEach(dim);
  inferProductSizes(c, sizes);
  const ty = (a: Ast): OType => {
    const t = c.types.get(a)!;
    const k = checkedKind(t, c.sizes);
    return { kind: k === 'row vector' ? 'row' : k, rows: dim(t.rows), cols: dim(t.cols) };
  };
  const env = [...c.vars.values()].map((v) => {
    const k = checkedKind(v.type, c.sizes);
    const shape = k === 'scalar' ? [] : k === 'vector' ? [dim(v.type.rows)] : [dim(v.type.rows), dim(v.type.cols)];
    return { name: v.name, shape, symmetric: v.symmetric };
  });
  return { id: 0, seed, text, math: mathText(ast, ty), shape: shapeOf(ty(ast)), wrt, order, decls, env };
}
