/**
 * The independent oracle: mathjs evaluates the expression text itself. Our AST is printed back as
 * mathjs text, with the few constructs mathjs names differently mapped: element-wise functions go
 * through map(), norm2 is norm(·, 'fro'), vector(c)/matrix(c)/eye become ones/identity of the size
 * the checker inferred (only the sizes come from our code; every value is computed by mathjs).
 * Vectors are n×1 matrices so that x' and x*y' mean what they mean in the input language.
 */
import { create, all, type MathJsInstance, type Matrix } from 'mathjs';
import { parse } from '../../src/syntax/parse.js';
import { check, type Declarations } from '../../src/syntax/check.js';
import type { Ast } from '../../src/syntax/ast.js';
import { ONE, kindOf } from '../../src/syntax/types.js';
import type { Tensor } from '../../src/tensor.js';

const math: MathJsInstance = create(all, {});

const SCALAR_FNS: Record<string, (t: number) => number> = {
  relu: (t) => Math.max(t, 0),
  sigmoid: (t) => 1 / (1 + Math.exp(-t)),
  softplus: (t) => Math.log1p(Math.exp(t)),
};
math.import(
  {
    ...SCALAR_FNS,
    // 1×1 results of products (x'*y) are scalars in our language.
    s1: (v: unknown) => (math.isMatrix(v) ? (v as Matrix).get([0, 0]) : v),
    ew: (v: unknown, f: (t: number) => number) => (math.isMatrix(v) ? math.map(v as Matrix, (t: number) => f(t)) : f(v as number)),
    // adj: the transposed cofactor matrix, each cofactor a mathjs det of a minor.
    radj: (v: unknown) => {
      if (!math.isMatrix(v)) return 1;
      const a = (v as Matrix).toArray() as number[][];
      const n = a.length;
      const minor = (i: number, j: number): number =>
        n === 1 ? 1 : (math.det(a.filter((_, r) => r !== j).map((row) => row.filter((_, c) => c !== i))) as number);
      return math.matrix(a.map((_, i) => a.map((__, j) => ((i + j) % 2 === 0 ? 1 : -1) * minor(i, j))));
    },
    // diag: vector → diagonal matrix; square matrix → column vector of its diagonal.
    rdiag: (v: unknown) => {
      if (!math.isMatrix(v)) return v;
      const m = v as Matrix;
      const [r, c] = m.size() as [number, number];
      if (r === 1 || c === 1) return math.diag(math.flatten(m));
      return math.reshape(math.diag(m), [r, 1]);
    },
  },
  { override: true },
);

const FN: Record<string, string> = {
  sin: 'sin', cos: 'cos', tan: 'tan', arcsin: 'asin', arccos: 'acos', arctan: 'atan', exp: 'exp',
  log: 'log', tanh: 'tanh', abs: 'abs', sign: 'sign', relu: 'relu', sqrt: 'sqrt', sigmoid: 'sigmoid', softplus: 'softplus',
};

export interface MathjsFunction {
  (values: ReadonlyMap<string, Tensor>): Tensor;
  readonly text: string;
}

/** Compiles an expression for mathjs, for values whose shapes are those given. */
export function mathjsFunction(
  expr: string,
  decls: Declarations,
  shapes: Readonly<Record<string, readonly number[]>>,
  resultShape?: readonly number[],
): MathjsFunction {
  const ast = parse(expr);
  const c = check(expr, ast, decls);
  const size = new Map<number, number>();
  if (resultShape) {
    // Sizes that only the result fixes (2*eye, vector(1)) come from the shape it must have.
    const t = c.types.get(ast)!;
    const dims = [t.rows, t.cols].map((d) => c.sizes.find(d)).filter((d) => d !== ONE);
    dims.forEach((d, i) => size.set(d, resultShape[i]!));
  }
  for (const v of c.vars.values()) {
    const s = shapes[v.name];
    if (!s) throw new Error(`no shape for ${v.name}`);
    const dims = [v.type.rows, v.type.cols].map((d) => c.sizes.find(d)).filter((d) => d !== ONE);
    dims.forEach((d, i) => size.set(d, s[i]!));
  }
  const dim = (d: number): number => {
    const r = c.sizes.find(d);
    if (r === ONE) return 1;
    const s = size.get(r);
    if (s === undefined) throw new Error('size not inferable for mathjs');
    return s;
  };
  const text = (a: Ast): string => {
    const t = c.types.get(a)!;
    const isScalar = kindOf(t, c.sizes) === 'scalar';
    const wrap = (s: string): string => (isScalar && a.kind !== 'num' && a.kind !== 'name' ? `s1(${s})` : s);
    switch (a.kind) {
      case 'num':
        return `(${a.text})`;
      case 'name':
        return a.name === 'eye' ? `identity(${dim(t.rows)})` : a.name;
      case 'neg':
        return wrap(`(-${text(a.arg)})`);
      case 'transpose':
        return wrap(`(${text(a.arg)})'`);
      case 'binary': {
        if (a.op === '^' && !isScalar && (a.right.kind === 'neg' || (a.right.kind === 'num' && a.right.value < 0))) {
          const k = a.right.kind === 'neg' ? a.right.arg : { ...a.right, text: String(-a.right.value) };
          return `(inv(${text(a.left)})^${text(k)})`;
        }
        return wrap(`(${text(a.left)} ${a.op} ${text(a.right)})`);
      }
      case 'call': {
        const x = text(a.args[0]!);
        const fn = a.fn;
        if (fn in FN) return wrap(`ew(${x}, ${FN[fn]})`);
        switch (fn) {
          case 'sum':
            return `sum(${x})`;
          case 'norm1':
            return `sum(ew(${x}, abs))`;
          case 'norm2':
            return `norm(${x}, 'fro')`;
          case 'tr':
            return isScalarAst(a.args[0]!) ? x : `trace(${x})`;
          case 'det':
            return isScalarAst(a.args[0]!) ? x : `det(${x})`;
          case 'logdet':
            return isScalarAst(a.args[0]!) ? `log(${x})` : `log(det(${x}))`;
          case 'inv':
            return isScalarAst(a.args[0]!) ? `(1/${x})` : `inv(${x})`;
          case 'adj':
            return isScalarAst(a.args[0]!) ? '(1)' : `radj(${x})`;
          case 'diag':
            return `rdiag(${x})`;
          case 'vector':
            return `(${x} * ones(${dim(t.rows)}, 1))`;
          case 'matrix':
            return `(${x} * ones(${dim(t.rows)}, ${dim(t.cols)}))`;
        }
        throw new Error(`mathjs: no mapping for ${fn}`);
      }
    }
  };
  const isScalarAst = (a: Ast): boolean => kindOf(c.types.get(a)!, c.sizes) === 'scalar';
  const src = text(ast);
  const compiled = math.compile(src);
  const f = (values: ReadonlyMap<string, Tensor>): Tensor => {
    const scope: Record<string, unknown> = {};
    for (const [k, v] of values) {
      if (v.shape.length === 0) scope[k] = v.data[0];
      else if (v.shape.length === 1) scope[k] = math.matrix(Array.from(v.data, (e) => [e]));
      else {
        const [m, n] = v.shape as [number, number];
        scope[k] = math.matrix(Array.from({ length: m }, (_, i) => Array.from(v.data.subarray(i * n, i * n + n))));
      }
    }
    const r = compiled.evaluate(scope) as unknown;
    if (typeof r === 'number') return { shape: [], data: Float64Array.of(r) };
    const m = r as Matrix;
    const sz = m.size() as number[];
    const flat = Float64Array.from(math.flatten(m).toArray() as number[]);
    const t = c.types.get(ast)!;
    const k = kindOf(t, c.sizes);
    const shape = k === 'scalar' ? [] : k === 'matrix' ? sz : [flat.length];
    return { shape, data: flat };
  };
  return Object.assign(f, { text: src });
}
