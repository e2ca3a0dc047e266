/**
 * A family of expressions with constant tensors (matrix(c), vector(c), eye, scalars) on every
 * label pattern of a product: free (a broadcast), summed between 2 and 3 factors, traced. Each
 * template is instantiated with every matrix operand in turn, the other operands rotating; only
 * instances whose sizes all come from the variables B (n×n) and x (n) are kept.
 */
import { derive } from '../../src/derive.js';
import { bindSizes } from '../../src/compile/reference.js';
import type { Tensor } from '../../src/tensor.js';
import { randomTensor, rng } from './numeric.js';

/** Matrix operands: constants alone, constants in sums with a variable, scaled. */
export const MATS = ['B', 'matrix(1)', 'matrix(-0.5)', '(B + matrix(1))', '(matrix(0.5) + B)', '(eye + matrix(2))', '(B - 3*eye)', "(matrix(1)*B')"];
/** Vector operands. */
export const VECS = ['x', 'vector(1)', 'vector(-2)', '(x + vector(0.5))', '(B*vector(1))', "(matrix(1)'*x)"];

/**
 * Templates over one or two matrix operands M, N and a vector v: each puts the constants on a
 * different label pattern.
 */
export const TEMPLATES: readonly string[] = [
  // free labels only (broadcasts, Hadamard, outer)
  'M', "M'", 'M.*N', 'v*v\'', 'v.*v', '2*M - N',
  // one summed label shared by two factors
  'M*N', "M'*N", 'M*v', "v'*M", "v'*v", "v'*M*v", 'sum(M)', 'sum(v)',
  // traced labels
  'tr(M)', 'tr(M*N)', "tr(M'*N)", 'sum(diag(M))', 'diag(M)', 'diag(M*N)', 'diag(v)*M',
  // a label shared by three factors
  'sum(v.*v.*v)', "(M.*N)*v", "diag(M)'*diag(N)", "v'*diag(v)*v", 'M*N*M', 'tr(M*N*M)', "M*N'*v",
];

export interface Case {
  expr: string;
  wrt: string;
  template: string;
}

function instances(): Case[] {
  const out: Case[] = [];
  TEMPLATES.forEach((t, k) => {
    // Every template with each constant-bearing operand in turn, the other operands rotating.
    MATS.forEach((m, i) => {
      const n = MATS[(i + k + 1) % MATS.length]!;
      const v = VECS[(i + k) % VECS.length]!;
      const expr = t.replace(/\bM\b/g, m).replace(/\bN\b/g, n).replace(/\bv\b/g, v);
      const wrt = /B/.test(expr) ? 'B' : 'x';
      if (sizesFromVariables(expr, wrt)) out.push({ expr, wrt, template: t });
    });
  });
  return [...new Map(out.map((e) => [e.expr, e])).values()];
}

/** Whether every size of the expression is tied to B or x (else no evaluator can size it). */
function sizesFromVariables(expr: string, wrt: string): boolean {
  const r = derive(expr, wrt, { order: 0 });
  try {
    bindSizes([...r.analysis.lowered.vars.values(), r.analysis.lowered.root], valuesAt(2, 1));
    return true;
  } catch {
    return false;
  }
}

export const CASES = instances();

export function valuesAt(n: number, seed: number): Map<string, Tensor> {
  const rand = rng(seed);
  return new Map([
    ['B', randomTensor([n, n], 'any', rand)],
    ['x', randomTensor([n], 'any', rand)],
  ]);
}

