/**
 * Names in generated code. User variables are validated identifiers, but they may still be
 * keywords, builtins or globals of the target language (`class`, `lambda`, `np`, `Math`, `None`),
 * or collide with names the generator makes up (t1, loop indices, helpers). One allocator hands
 * out every local name of a generated function, for JS/TS and Python alike, so that the two
 * outputs use the same names and none of them shadows anything the code relies on.
 */
import { InternalError } from '../ir/node.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** JavaScript/TypeScript reserved words, strict-mode and module restrictions, and globals the code uses. */
const JS_RESERVED = `
  await break case catch class const continue debugger default delete do else enum export extends
  false finally for function if import in instanceof new null return super switch this throw true
  try typeof var void while with yield let static implements interface package private protected
  public arguments eval undefined NaN Infinity globalThis Math Number Float64Array Array Object
  Error TypeError RangeError JSON String Symbol Boolean BigInt Date Reflect Proxy Map Set WeakMap
  ArrayBuffer Uint8Array Int32Array Float32Array console process require module exports any
  unknown never number string boolean object symbol bigint type as declare readonly keyof infer
  is asserts satisfies namespace abstract constructor`;

/** Python keywords, soft keywords, builtins and modules the code uses. */
const PY_RESERVED = `
  False None True and as assert async await break class continue def del elif else except finally
  for from global if import in is lambda nonlocal not or pass raise return try while with yield
  match case type np numpy math abs all any bool callable chr complex dict dir divmod enumerate
  filter float format frozenset getattr globals hasattr hash hex id input int isinstance
  issubclass iter len list locals map max min next object oct open ord pow print property range
  repr reversed round set setattr slice sorted staticmethod str sum super tuple vars zip
  Exception ValueError TypeError KeyError IndexError ArithmeticError ZeroDivisionError
  NotImplemented Ellipsis __builtins__ __name__ __file__ __doc__ self torch functorch`;

/** Names of the generated function, its parameter and the helpers the generators emit. */
export const GENERATED_GLOBALS = [
  'evaluate', 'input', 'inputs', 'Tensor', 'Input', 'Inputs', 'Result',
  'read_', 'check_', 'symmetric_', 'eye_', 'inv_', 'det_', 'sigmoid_', 'softplus_', 'describe_',
  '_read', '_check', '_symmetric', '_logdet', '_describe',
  // The self-check (selfcheck.ts) and torch's value checks.
  'checkGradient', 'check_gradient', 'check_inputs', 'CHECK_', 'STEPS_', 'CheckSpec', 'CheckVariable',
  'gradientErrors_', 'directions_', 'draw_', 'random_', '_CHECK', '_STEPS', '_gradient_errors', '_sizes',
  '_ratio', '_directions', '_draw', '_check_values',
  'lu_', 'times2_', 'logdet_', 'logsumexp_', '_logsumexp', 'adj_', 'rem_',
  '_lu', '_inv', '_det', '_adj', '_solve',
] as const;

export const RESERVED: ReadonlySet<string> = new Set([...JS_RESERVED.split(/\s+/), ...PY_RESERVED.split(/\s+/), ...GENERATED_GLOBALS].filter((s) => s !== ''));

export function isIdentifier(s: string): boolean {
  return IDENT.test(s);
}

/** Hands out unique identifiers that are neither reserved nor taken. */
export class NameAllocator {
  private readonly taken = new Set<string>(RESERVED);

  /** The preferred name if free, else preferred_1, preferred_2, … */
  take(preferred: string): string {
    if (!isIdentifier(preferred)) throw new InternalError(`codegen: '${preferred}' is not an identifier`);
    let name = preferred;
    for (let k = 1; this.taken.has(name); k++) name = `${preferred}_${k}`;
    this.taken.add(name);
    return name;
  }

  has(name: string): boolean {
    return this.taken.has(name);
  }

  /** The first free name of a numbered family: t1, t2, … */
  next(prefix: string, from = 1): string {
    for (let k = from; ; k++) {
      const name = `${prefix}${k}`;
      if (!this.taken.has(name)) {
        this.taken.add(name);
        return name;
      }
    }
  }

  /** The first free name of a list of candidates, then of a numbered family. */
  takeAny(candidates: readonly string[], prefix: string): string {
    for (const c of candidates)
      if (!this.taken.has(c)) {
        this.taken.add(c);
        return c;
      }
    return this.next(prefix);
  }
}

/**
 * Text for a one-line comment: every run of characters that could end a line comment in JS or
 * Python (line and paragraph separators, all other control and non-space whitespace characters)
 * becomes one space, lone surrogates become U+FFFD, so a comment can never spill into code.
 */
export function commentText(s: string): string {
  return s
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[^\S ]+|[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .trimEnd();
}
