/**
 * Code export: self-contained source for a function that returns the value of an expression and
 * its derivatives up to the given order (value, gradient, Hessian, …), sharing common
 * sub-expressions as named temporaries, checking the shapes of its inputs, and carrying a
 * self-check against finite differences (selfcheck.ts).
 *
 *   generateCode("x'*A*x", 'x', { order: 2, lang: 'python' })
 *
 * JS/TS: an ES module exporting evaluate(input) → { value, gradient, hessian }, each
 * { shape: number[], data: Float64Array } (row-major), and checkGradient(sizes?, seed); no
 * dependencies. Python: a module with evaluate(inputs) → dict of NumPy float64 arrays and
 * check_gradient(sizes=None, seed=0), needing NumPy only. Torch: the same with torch tensors on
 * the inputs' device and dtype, needing PyTorch only.
 */
import { inputError } from '../errors.js';
import { planCode } from './plan.js';
import { emitJs } from './js.js';
import { emitPython } from './python.js';
import { emitTorch } from './torch.js';

export type CodeLang = 'js' | 'ts' | 'python' | 'torch';
export const CODE_LANGS: readonly CodeLang[] = ['js', 'ts', 'python', 'torch'];

export interface CodeOptions {
  /** 0 = value only, 1 = value and gradient (or Jacobian), 2 = … and Hessian; default 1. */
  readonly order?: number;
  readonly lang: CodeLang;
  /** Declarations that override the naming convention: { A: 'symmetric matrix' }. */
  readonly let?: Record<string, string>;
}

const EMIT: Readonly<Record<CodeLang, (plan: ReturnType<typeof planCode>) => string>> = {
  js: (p) => emitJs(p, false),
  ts: (p) => emitJs(p, true),
  python: emitPython,
  torch: emitTorch,
};

export function generateCode(expr: string, wrt: string, opts: CodeOptions): string {
  if (!CODE_LANGS.includes(opts.lang)) throw inputError(`unknown language '${String(opts.lang)}': use ${CODE_LANGS.join(', ')}`);
  const plan = planCode(expr, wrt, { order: opts.order ?? 1, ...(opts.let ? { let: opts.let } : {}) });
  return EMIT[opts.lang](plan);
}

export { planCode, type Plan } from './plan.js';
