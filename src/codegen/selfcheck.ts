/**
 * Self-checking exports: every generated module carries `check_gradient(sizes=None, seed=0)`
 * (`checkGradient(sizes?, seed = 0)` in JS/TS) that draws a random point of the given sizes — each
 * variable from the domain its uses need (domains.ts), symmetric where declared — evaluates the
 * module there and compares every derivative D_k with central finite differences of D_{k-1}
 * (a 4-point stencil, h = 1e-3·max(1, |x|) and h/16) along every coordinate direction e of the
 * variable (symmetric directions e_ij + e_ji for a symmetric one, where the derivative is the
 * symmetric gradient). It returns, per derivative, ‖D_k·e − FD‖ / max(‖D_k·e‖, ‖FD‖, ε) over all
 * directions, for the step that agrees better (near a pole the larger step's truncation error
 * alone can pass 1e-6), where ε, 1e-8·(1 + |D_{k−1}|)/h entry by entry, is what rounding cannot
 * tell from 0 (a derivative that cancels to 0, as that of (A*x)./(A*x), is rounding noise, which
 * alone would read as 100 %).
 *
 * This module holds what the languages share: the table the generated code reads (variables,
 * their sizes and domains, the result keys) written as a literal of each language. The helpers
 * that run it are fixed text in each emitter; no user text reaches them except as quoted strings.
 */
import type { Plan, Size } from './plan.js';
import { num } from './literals.js';

export interface CheckInput {
  /** The variable's key in the inputs. */
  readonly name: string;
  /** Its size symbols. */
  readonly dims: readonly string[];
  readonly symmetric: boolean;
  readonly lo: number;
  readonly hi: number;
  readonly signed: boolean;
  readonly dominant: boolean;
}

export interface CheckSpec {
  readonly wrt: string;
  readonly wrtSymmetric: boolean;
  /** Result keys by order: value, gradient, hessian, … */
  readonly keys: readonly string[];
  /**
   * Every size symbol with its default: 3, 4, 5, … in order of first appearance (distinct, so a
   * transposed axis shows), then changed where the expression ties sizes together (defaultSizes).
   */
  readonly sizes: readonly (readonly [string, number])[];
  readonly inputs: readonly CheckInput[];
}

export function checkSpec(plan: Plan): CheckSpec {
  const wrt = plan.inputs.find((i) => i.name === plan.wrt)!;
  return {
    wrt: plan.wrt,
    wrtSymmetric: wrt.symmetric,
    keys: plan.outputs.map((o) => o.key),
    sizes: defaultSizes(plan),
    inputs: plan.inputs.map((i) => ({ name: i.name, dims: i.dims.map((d) => d.symbol), symmetric: i.symmetric, ...i.domain })),
  };
}

/**
 * Default sizes that satisfy the plan's size relations (a size that is also a product of others:
 * x's length in x'*vec(X) or in x'*vector(1, len(y)*len(z)); a quotient len(x)/len(y), which must
 * be whole). First the size a relation constrains is set from the others, repeated while one
 * change breaks a relation met before; where that leaves one unmet (two products that must be
 * equal, as vec(X)'*kron(y, z) asks of rows(X)·cols(X) and len(y)·len(z)), a bounded search over
 * small sizes of the sizes that the relations name. Failing both, the defaults stay and the
 * generated code's own check names the relation.
 */
function defaultSizes(plan: Plan): (readonly [string, number])[] {
  const bound = plan.bindings.map((b) => b.size);
  const start = new Map<Size, number>(bound.map((s, k) => [s, 3 + k]));
  const settled = satisfied(plan, propagated(plan, start)) ?? searched(plan, start) ?? start;
  return bound.map((s) => [s.symbol, settled.get(s)!] as const);
}

/** The sizes with each relation's constrained size set from the others, in passes. */
function propagated(plan: Plan, start: ReadonlyMap<Size, number>): Map<Size, number> {
  const value = new Map(start);
  const of = (s: Size): number => value.get(s) ?? 1;
  for (let pass = 0, changed = true; changed && pass < 8; pass++) {
    changed = false;
    const set = (s: Size, v: number): void => {
      if (start.has(s) && value.get(s) !== v) changed = true;
      value.set(s, v);
    };
    for (const d of plan.derived) {
      const product = d.factors.reduce((p, f) => p * of(f), 1);
      if (d.total === undefined) set(d.size, product);
      else {
        if (of(d.total) % product !== 0) set(d.total, product * Math.max(1, Math.round(of(d.total) / product)));
        set(d.size, of(d.total) / product);
      }
    }
  }
  return value;
}

/** The bound sizes if every relation holds with them (derived sizes worked out in order), else undefined. */
function satisfied(plan: Plan, sizes: ReadonlyMap<Size, number>): Map<Size, number> | undefined {
  const bound = new Set(plan.bindings.map((b) => b.size));
  const value = new Map([...sizes].filter(([s]) => bound.has(s)));
  for (const d of plan.derived) {
    const product = d.factors.reduce((p, f) => p * (value.get(f) ?? NaN), 1);
    const v = d.total === undefined ? product : (value.get(d.total) ?? NaN) / product;
    if (!Number.isInteger(v) || v < 1) return undefined;
    if (value.has(d.size) && value.get(d.size) !== v) return undefined;
    value.set(d.size, v);
  }
  return value;
}

/**
 * A depth-first search over 2..12 for the bound sizes the relations name, each trying its default
 * first; the first assignment that satisfies every relation, within 100,000 tries.
 */
function searched(plan: Plan, start: ReadonlyMap<Size, number>): Map<Size, number> | undefined {
  const named = new Set(plan.derived.flatMap((d) => [d.size, ...d.factors, ...(d.total ? [d.total] : [])]));
  const free = [...start.keys()].filter((s) => named.has(s));
  const value = new Map(start);
  let tries = 0;
  const go = (k: number): Map<Size, number> | undefined => {
    if (k === free.length) return ++tries > 100_000 ? undefined : satisfied(plan, value);
    const own = start.get(free[k]!)!;
    for (const v of [own, ...Array.from({ length: 11 }, (_, i) => i + 2).filter((x) => x !== own)]) {
      value.set(free[k]!, v);
      const found = go(k + 1);
      if (found || tries > 100_000) return found;
    }
    return undefined;
  };
  return go(0);
}

/** The table as a JS/TS object literal (strings through JSON.stringify). */
export function jsCheckSpec(spec: CheckSpec): string[] {
  const s = JSON.stringify;
  return [
    '{',
    `  wrt: ${s(spec.wrt)},`,
    `  wrtSymmetric: ${spec.wrtSymmetric},`,
    `  keys: [${spec.keys.map((k) => s(k)).join(', ')}],`,
    `  sizes: [${spec.sizes.map(([k, v]) => `[${s(k)}, ${v}]`).join(', ')}],`,
    '  inputs: [',
    ...spec.inputs.map(
      (i) =>
        `    { name: ${s(i.name)}, dims: [${i.dims.map((d) => s(d)).join(', ')}], symmetric: ${i.symmetric}, lo: ${num(i.lo)}, hi: ${num(i.hi)}, signed: ${i.signed}, dominant: ${i.dominant} },`,
    ),
    '  ],',
    '}',
  ];
}

/** The table as a Python dict literal (strings through pyString). */
export function pyCheckSpec(spec: CheckSpec, pyString: (s: string) => string): string[] {
  const b = (x: boolean): string => (x ? 'True' : 'False');
  const f = (x: number): string => (Number.isInteger(x) ? `${num(x)}.0` : num(x));
  const tuple = (xs: readonly string[]): string => `(${xs.join(', ')}${xs.length === 1 ? ',' : ''})`;
  return [
    '{',
    `    "wrt": ${pyString(spec.wrt)},`,
    `    "wrt_symmetric": ${b(spec.wrtSymmetric)},`,
    `    "keys": ${tuple(spec.keys.map(pyString))},`,
    `    "sizes": ${tuple(spec.sizes.map(([k, v]) => `(${pyString(k)}, ${v})`))},`,
    '    # name, sizes, symmetric, entries uniform in [lo, hi], times a random sign, diagonally dominant',
    '    "inputs": (',
    ...spec.inputs.map((i) => `        (${pyString(i.name)}, ${tuple(i.dims.map(pyString))}, ${b(i.symmetric)}, ${f(i.lo)}, ${f(i.hi)}, ${b(i.signed)}, ${b(i.dominant)}),`),
    '    ),',
    '}',
  ];
}
