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
import { solveSizes } from '../sizeRelations.js';

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
 * be whole; two products that must be equal, as in vec(X)'*kron(y, z)): see solveSizes. Where none
 * is found the defaults stay, and the generated code's own check names the relation.
 */
function defaultSizes(plan: Plan): (readonly [string, number])[] {
  const start = new Map<Size, number>(plan.bindings.map((b, k) => [b.size, 3 + k]));
  const relations = plan.derived.map((d) => (d.total === undefined ? { total: d.size, parts: d.factors } : { total: d.total, parts: [d.size, ...d.factors] }));
  const sizes = solveSizes(relations, start) ?? start;
  return plan.bindings.map((b) => [b.size.symbol, sizes.get(b.size)!] as const);
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
