/**
 * The Code tab's words, computed without touching the DOM: the languages it offers and the line
 * that says what the generated `evaluate` returns. The keys come from the generator's own
 * outputKey, so the line names exactly the entries the code returns.
 */
import type { CodeLang } from '../src/codegen/index.js';
import { outputKey } from '../src/codegen/plan.js';

export const LANG_NAMES: Readonly<Record<CodeLang, string>> = { js: 'JavaScript', ts: 'TypeScript', python: 'Python', torch: 'PyTorch' };

export interface CodeOutput {
  /** The key of the result entry: value, gradient, jacobian, hessian, derivative2, … */
  readonly key: string;
  /** What it is, in words: "f", "its gradient", "its Hessian", "its 3rd derivative". */
  readonly what: string;
  /** Symbolic shape of the entry, "scalar" or "n×m". */
  readonly shape: string;
}

function ordinal(k: number): string {
  return k === 2 ? '2nd' : k === 3 ? '3rd' : `${k}th`;
}

function what(key: string, order: number): string {
  if (order === 0) return 'f';
  if (key === 'gradient') return 'its gradient';
  if (key === 'jacobian') return 'its Jacobian';
  if (key === 'hessian') return 'its Hessian';
  return `its ${ordinal(order)} derivative`;
}

function shapeText(dims: readonly string[]): string {
  return dims.length === 0 ? 'scalar' : dims.join('×');
}

/**
 * The entries evaluate() returns for derivatives up to `order`, given the symbolic shapes of the
 * expression and of the variable: the order-k entry has shape shape(f) ++ shape(x) k times.
 */
export function codeOutputs(exprShape: readonly string[], wrtShape: readonly string[], order: number): CodeOutput[] {
  const out: CodeOutput[] = [];
  for (let k = 0; k <= order; k++) {
    const key = outputKey(k, exprShape.length);
    const dims = [...exprShape];
    for (let i = 0; i < k; i++) dims.push(...wrtShape);
    out.push({ key, what: what(key, k), shape: shapeText(dims) });
  }
  return out;
}

function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`;
}

/**
 * One line on what the generated function returns, e.g. for x'*A*x by x at order 2 in JavaScript:
 *   evaluate(inputs) returns { value, gradient, hessian }: f (scalar), its gradient (n) and its
 *   Hessian (n×n) with respect to x, each { shape, data } with row-major Float64Array data.
 */
export function describeReturns(lang: CodeLang, wrt: string, outputs: readonly CodeOutput[]): string {
  const parts = list(outputs.map((o) => `${o.what} (${o.shape})`));
  const by = outputs.length > 1 ? ` with respect to ${wrt}` : '';
  if (lang === 'python' || lang === 'torch') {
    const keys = outputs.map((o) => `"${o.key}"`).join(', ');
    const as = lang === 'python' ? 'as NumPy float64 arrays (a scalar is a 0-d array)' : "as torch tensors on the inputs' device and dtype (a scalar is a 0-d tensor)";
    return `evaluate(inputs) returns a dict with ${keys}: ${parts}${by}, ${as}.`;
  }
  const keys = outputs.map((o) => o.key).join(', ');
  return `evaluate(inputs) returns { ${keys} }: ${parts}${by}, each { shape, data } with row-major Float64Array data.`;
}
