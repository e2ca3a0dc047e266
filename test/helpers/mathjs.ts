/**
 * The independent oracle: mathjs evaluates the expression text itself. Our AST is printed back as
 * mathjs text, with the few constructs mathjs names differently mapped: element-wise functions go
 * through map(), norm2 is norm(·, 'fro'), vector(c)/matrix(c)/eye become ones/identity of the size
 * the checker inferred (only the sizes come from our code; every value is computed by mathjs), and
 * dpow(A, k, E) is its defining sum Σ_j A^j*E*A^(k-1-j).
 * Vectors are n×1 matrices so that x' and x*y' mean what they mean in the input language.
 */
import { create, all, type MathJsInstance, type Matrix } from 'mathjs';
import { parse } from '../../src/syntax/parse.js';
import { check, type Declarations } from '../../src/syntax/check.js';
import type { Ast } from '../../src/syntax/ast.js';
import { astChildren } from '../../src/syntax/ast.js';
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
    // dpow(A, k, E1, …, Em): the sum of every product of k factors in which each E occurs once and A
    // fills the other places (for one E: Σ_{j=0}^{k-1} A^j E A^(k-1-j)), summed as written.
    dpow: (A: Matrix, k: number, ...E: Matrix[]) => {
      const words = (len: number, left: readonly Matrix[]): Matrix => {
        let acc = math.multiply(A, 0) as Matrix;
        if (len === 0) return left.length === 0 ? (math.identity((A.size() as number[])[0]!) as Matrix) : acc;
        if (len > left.length) acc = math.add(acc, math.multiply(A, words(len - 1, left))) as Matrix;
        left.forEach((e, i) => {
          acc = math.add(acc, math.multiply(e, words(len - 1, left.filter((_, j) => j !== i)))) as Matrix;
        });
        return acc;
      };
      return words(k, E);
    },
    // vec: columns stacked into one column (column-major).
    rvec: (v: unknown) => {
      if (!math.isMatrix(v)) return v;
      const m = v as Matrix;
      const [r, c] = m.size() as [number, number];
      return math.reshape(math.transpose(m), [r * c, 1]);
    },
    rrows: (v: unknown) => (math.isMatrix(v) ? ((v as Matrix).size() as number[])[0]! : 1),
    rcols: (v: unknown) => (math.isMatrix(v) ? ((v as Matrix).size() as number[])[1]! : 1),
    // commutation(m, n): the permutation taking vec(A) to vec(A') for an m×n A.
    rcomm: (m: number, n: number) => {
      const k = math.zeros(m * n, m * n) as Matrix;
      for (let a = 0; a < m; a++) for (let b = 0; b < n; b++) k.set([b + n * a, a + m * b], 1);
      return k;
    },
    rkron: (a: unknown, b: unknown) => (math.isMatrix(a) && math.isMatrix(b) ? math.kron(a as Matrix, b as Matrix) : math.multiply(a as Matrix, b as Matrix)),
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
  // Sizes that are products (kron, vec): a factor bound by nothing else is the product's size
  // divided by the other factor's (the eye in kron(eye, X'*X), with the result's shape known).
  const products: [number, number[]][] = [];
  const collect = (a: Ast): void => {
    if (a.kind === 'call' && (a.fn === 'kron' || a.fn === 'vec')) {
      const t = c.types.get(a)!;
      const args = a.args.map((x) => c.types.get(x)!);
      const parts = (side: 'rows' | 'cols'): number[] => args.map((u) => u[side]);
      if (a.fn === 'kron') {
        products.push([t.rows, parts('rows')], [t.cols, parts('cols')]);
      } else products.push([t.rows, [args[0]!.rows, args[0]!.cols]]);
    }
    if (a.kind === 'call' && a.fn === 'commutation') {
      // Each argument is rows(X), cols(X) or len(x): the size of that axis of its argument.
      const dims = a.args.map((x) => {
        const call = x as Ast & { kind: 'call' };
        const u = c.types.get(call.args[0]!)!;
        return call.fn === 'cols' || (call.fn === 'len' && c.sizes.find(u.rows) === ONE) ? u.cols : u.rows;
      });
      products.push([c.types.get(a)!.rows, dims]);
    }
    for (const x of astChildren(a)) collect(x);
  };
  collect(ast);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [whole, parts] of products) {
      const w = c.sizes.find(whole);
      const ps = parts.map((p) => c.sizes.find(p)).filter((p) => p !== ONE && p !== w);
      const unknown = ps.filter((p) => !size.has(p));
      const known = ps.filter((p) => size.has(p)).reduce((acc, p) => acc * size.get(p)!, 1);
      if (unknown.length === 0 && !size.has(w) && w !== ONE) {
        size.set(w, known);
        changed = true;
      } else if (new Set(unknown).size === 1 && size.has(w)) {
        size.set(unknown[0]!, Math.round(Math.pow(size.get(w)! / known, 1 / unknown.length)));
        changed = true;
      }
    }
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
      case 'where':
        throw new Error('mathjs: where only at the top');
      case 'call': {
        const x = text(a.args[0]!);
        const fn = a.fn;
        if (fn === 'dpow') return `dpow(${a.args.map(text).join(', ')})`;
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
          // As written (no shift by the largest entry): the oracle for the range where exp is finite.
          case 'logsumexp':
            return isScalarAst(a.args[0]!) ? x : `log(sum(ew(${x}, ${FN.exp})))`;
          case 'softmax':
            return isScalarAst(a.args[0]!) ? '(1)' : `(ew(${x}, ${FN.exp}) / sum(ew(${x}, ${FN.exp})))`;
          case 'inv':
            return isScalarAst(a.args[0]!) ? `(1/${x})` : `inv(${x})`;
          case 'adj':
            return isScalarAst(a.args[0]!) ? '(1)' : `radj(${x})`;
          case 'diag':
            return `rdiag(${x})`;
          case 'kron':
            return `rkron(${x}, ${text(a.args[1]!)})`;
          case 'eye':
            return `identity(${dim(t.rows)})`;
          case 'vec':
            return `rvec(${x})`;
          case 'commutation':
            return `rcomm(${x}, ${text(a.args[1]!)})`;
          case 'rows':
          case 'len':
            return kindOf(c.types.get(a.args[0]!)!, c.sizes) === 'row vector' ? `rcols(${x})` : `rrows(${x})`;
          case 'cols':
            return `rcols(${x})`;
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
  // A where clause: each temporary is evaluated into the scope before the body.
  const body = ast.kind === 'where' ? ast.body : ast;
  const temps = ast.kind === 'where' ? ast.bindings.map((b) => [b.name, math.compile(text(b.value))] as const) : [];
  const src = text(body);
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
    for (const [name, code] of temps) scope[name] = code.evaluate(scope);
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
