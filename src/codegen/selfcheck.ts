/**
 * Self-checking exports: every generated module carries `check_gradient(sizes=None, seed=0)`
 * (`checkGradient(sizes?, seed = 0)` in JS/TS) that draws a random point of the given sizes — each
 * variable from the domain its uses need (domains.ts), symmetric where declared — evaluates the
 * module there and compares every derivative D_k with central finite differences of D_{k-1}
 * (a 4-point stencil, h = 1e-3·max(1, |x|)) along every coordinate direction e of the variable
 * (symmetric directions e_ij + e_ji for a symmetric one, where the derivative is the symmetric
 * gradient). It returns, per derivative, ‖D_k·e − FD‖ / max(‖D_k·e‖, ‖FD‖) over all directions.
 *
 * This module holds what the languages share: the table the generated code reads (variables,
 * their sizes and domains, the result keys) written as a literal of each language. The helpers
 * that run it are fixed text in each emitter; no user text reaches them except as quoted strings.
 */
import type { Plan } from './plan.js';
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
  /** Every size symbol with its default: 3, 4, 5, … in order of first appearance (distinct, so a transposed axis shows). */
  readonly sizes: readonly (readonly [string, number])[];
  readonly inputs: readonly CheckInput[];
}

export function checkSpec(plan: Plan): CheckSpec {
  const wrt = plan.inputs.find((i) => i.name === plan.wrt)!;
  return {
    wrt: plan.wrt,
    wrtSymmetric: wrt.symmetric,
    keys: plan.outputs.map((o) => o.key),
    sizes: plan.bindings.map((b, k) => [b.size.symbol, 3 + k] as const),
    inputs: plan.inputs.map((i) => ({ name: i.name, dims: i.dims.map((d) => d.symbol), symmetric: i.symmetric, ...i.domain })),
  };
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
