/**
 * The language-independent part of code generation: one walk over the union of the DAGs of the
 * value and of each derivative, in topological order, that names every input, every size symbol
 * and every intermediate (t1, t2, …) once. Because the IR is interned, a sub-expression shared by
 * the value, the gradient and the Hessian is one node and so one temporary.
 *
 * Products (`mul`, an einsum over any number of factors) are split into a sequence of products of
 * at most two tensors, chosen greedily by the number of distinct indices involved, so that a chain
 * such as tr(A*X'*B*X*C) costs a few matrix products instead of one loop nest over every index.
 * Scalar factors are kept apart and multiply the last step.
 */
import { derive, MAX_ORDER, matrixNamesOf, sizeNamesOf, sizeRootsOf, type Result } from '../derive.js';
import { type AddNode, type Dim, type ElemFn, type MulNode, type Node, type VarNode, InternalError, children, constantValue, elemValue, evaluatedChildren, logSigmoidOf, makeAdd, mergePermutation, topoOrder } from '../ir/node.js';
import type { DeclaredType } from '../syntax/check.js';
import type { Declarations } from '../syntax/check.js';
import { inputError } from '../errors.js';
import { NameAllocator, commentText } from './names.js';
import { type Domain, inputDomains } from './domains.js';

/** A size symbol: its name in messages (n) and the local that holds it in generated code. */
export interface Size {
  readonly symbol: string;
  readonly local: string;
}

export interface Input {
  /** The user's variable name: the key it is read by (always quoted by the generator). */
  readonly name: string;
  /** The generated local that holds its values. */
  readonly local: string;
  /** JS only: the local that holds the { shape, data } read from the input object. */
  readonly holder: string;
  readonly type: DeclaredType;
  readonly dims: readonly Size[];
  readonly symmetric: boolean;
  /** Where the generated self-check draws its entries (what the expression needs of it). */
  readonly domain: Domain;
}

/** A size bound from an axis of an input. */
export interface Binding {
  readonly size: Size;
  readonly input: Input;
  readonly axis: number;
}

/** An input whose shape must equal its dims once every size is bound; pattern is for the message. */
export interface Check {
  readonly input: Input;
  readonly pattern: string;
}

/** A value in generated code: a local (rank = dims.length) or, for scalar constants, a literal. */
export interface Temp {
  readonly name: string;
  readonly dims: readonly Size[];
  readonly literal?: number;
}

export interface Operand {
  readonly src: Temp;
  /** One label per axis of src; labels < rank of the output are its axes, in order; the rest are summed. */
  readonly labels: readonly number[];
}

/**
 * A product step that is one term of a sum, written straight into the sum's array (out): it stores
 * coef·product there (first) or adds coef·product to what is there. A sum of k products used
 * nowhere else so holds one array, not k + 1.
 */
export interface Term {
  readonly coef: number;
  readonly first: boolean;
}

export type Instr =
  | { readonly op: 'fill'; readonly out: Temp; readonly value: 0 | 1 }
  | { readonly op: 'eye'; readonly out: Temp }
  | {
      readonly op: 'add';
      readonly out: Temp;
      readonly terms: readonly { readonly coef: number; readonly src: Temp }[];
      /** out already holds the sum's product terms (einsum steps with a term): add these to it. */
      readonly accumulate?: boolean;
    }
  | {
      readonly op: 'einsum';
      readonly out: Temp;
      /** One or two tensors (none for a product of scalars only). */
      readonly factors: readonly Operand[];
      /** Scalars that multiply the product. */
      readonly scalars: readonly Temp[];
      /** The size of every label 0..nlabels-1. */
      readonly labelDims: readonly Size[];
      readonly term?: Term;
    }
  | { readonly op: 'elem'; readonly out: Temp; readonly fn: CodeFn; readonly src: Temp }
  | { readonly op: 'pow'; readonly out: Temp; readonly src: Temp; readonly exp: number }
  | { readonly op: 'powv'; readonly out: Temp; readonly base: Temp; readonly exponent: Temp }
  /**
   * adj2: ∂adj(a)/∂a, n×n×n×n, at singular matrices too (the evaluators' form of a Hessian of det);
   * adj3: ∂adj2(a)/∂a, n⁶ (of a third derivative of det).
   */
  | { readonly op: 'det' | 'adj' | 'adj2' | 'adj3'; readonly out: Temp; readonly src: Temp }
  /** log Σ exp over every entry of src (a scalar), with the largest entry taken out. */
  | { readonly op: 'logsumexp'; readonly out: Temp; readonly src: Temp }
  /** name: how the error for a singular matrix names it (the user's text, else the printed form). */
  | { readonly op: 'inv' | 'logdet'; readonly out: Temp; readonly src: Temp; readonly name: string }
  /** src^exp, or with directions P(src, exp; dirs) (each dir n×n×batch…; out n×n×batch_1…). */
  | { readonly op: 'mpow'; readonly out: Temp; readonly src: Temp; readonly exp: number; readonly dirs: readonly Temp[] }
  /** out = src with its axes taken in the order perm, as a row-major array (vec, kron). */
  | { readonly op: 'permute'; readonly out: Temp; readonly src: Temp; readonly perm: readonly number[] };

/**
 * The element-wise functions of generated code: the language's, and log(sigmoid(u)) and
 * log(1 - sigmoid(u)) computed as -softplus(-u) and -softplus(u) (logSigmoidOf).
 */
export type CodeFn = ElemFn | 'logsigmoid' | 'negsoftplus';

/**
 * A size that is the product of others (the length of vec(X), the rows of kron(A, B)), or — where
 * `total` is given — the quotient total / Π factors (a size argument len(x)/len(y), the eye of
 * kron(eye, M)), which must be a whole number.
 */
export interface Derived {
  readonly size: Size;
  readonly factors: readonly Size[];
  readonly total?: Size;
  /** The size is also bound from an input: check the product instead of defining it. */
  readonly check: boolean;
}

export interface Output {
  /** value, gradient, jacobian, hessian, derivative2, derivative3, … */
  readonly key: string;
  readonly order: number;
  readonly temp: Temp;
  /** The temp is an input or is returned twice: return a copy. */
  readonly copy: boolean;
}

export interface Plan {
  readonly expr: string;
  readonly wrt: string;
  readonly order: number;
  readonly inputs: readonly Input[];
  readonly bindings: readonly Binding[];
  /** Sizes that are products of bound sizes, after the bindings. */
  readonly derived: readonly Derived[];
  readonly checks: readonly Check[];
  readonly body: readonly Instr[];
  readonly outputs: readonly Output[];
  /** Loop indices for the JS loop nests (enough for the einsum with the most labels). */
  readonly loopVars: readonly string[];
  /** JS accumulator name. */
  readonly acc: string;
  /** Language-independent header lines (already safe for a one-line comment). */
  readonly header: readonly string[];
}

export interface PlanOptions {
  readonly order?: number;
  readonly let?: Declarations;
}

/** The key of the order-k entry of the result object. */
export function outputKey(order: number, exprRank: number): string {
  if (order === 0) return 'value';
  if (order === 1) return exprRank === 0 ? 'gradient' : 'jacobian';
  if (order === 2 && exprRank === 0) return 'hessian';
  return `derivative${order}`;
}

export function planCode(expr: string, wrt: string, opts: PlanOptions = {}): Plan {
  const order = opts.order ?? 1;
  const decls = opts.let ?? {};
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER)
    throw inputError(`order must be an integer from 0 to ${MAX_ORDER}, not ${order}`);
  const results: Result[] = [];
  for (let k = 0; k <= order; k++) results.push(derive(expr, wrt, { order: k, let: decls }));
  return buildPlan(results);
}

/**
 * Merged sizes (vec, kron) and size arguments that are products or quotients: each merged size is
 * the product of its parts, or — where it is known and one part is not — that part is a quotient.
 * Repeated until nothing changes, since one may give what another needs. Marks what it binds.
 */
function derivedSizes(nodes: readonly Node[], bound: Map<Dim, Binding>, sizeOf: (d: Dim) => Size): Derived[] {
  const derived: Derived[] = [];
  const done = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of nodes) {
      if (n.kind !== 'merge') continue;
      let axis = 0;
      n.groups.forEach((g, k) => {
        const parts = n.arg.shape.slice(axis, axis + g);
        axis += g;
        const d = n.shape[k]!;
        const key = `${d}|${parts.join(',')}`;
        if (g === 1 || done.has(key)) return;
        const open = parts.filter((p) => !bound.has(p));
        if (open.length === 0) {
          const factors = parts.map(sizeOf);
          const same = derived.some((x) => x.size === sizeOf(d) && x.total === undefined && x.factors.length === factors.length && x.factors.every((f, k) => f === factors[k]));
          if (!same) derived.push({ size: sizeOf(d), factors, check: bound.has(d) });
          if (!bound.has(d)) bound.set(d, bound.get(parts[0]!)!);
        } else if (open.length === 1 && bound.has(d)) {
          const q = open[0]!;
          derived.push({ size: sizeOf(q), factors: parts.filter((p) => p !== q).map(sizeOf), total: sizeOf(d), check: false });
          bound.set(q, bound.get(d)!);
        } else return;
        done.add(key);
        changed = true;
      });
    }
  }
  return derived;
}

/** The node generated code computes for a result (see buildPlan). */
const codeNode = (r: Result): Node => r.singularNode ?? r.evalNode;

function buildPlan(results: readonly Result[]): Plan {
  const r0 = results[0]!;
  const sizeNames = sizeNamesOf(r0);
  const matrixName = matrixNamesOf(r0);
  const checked = r0.analysis.checked;
  const names = new NameAllocator();

  // Variables: every one the expression names (and wrt), the same interned node in every result.
  const vars: VarNode[] = [];
  for (const r of results)
    for (const v of r.analysis.lowered.vars.values()) {
      const prev = vars.find((u) => u.name === v.name);
      if (!prev) vars.push(v);
      else if (prev !== v) throw new InternalError(`codegen: variable ${v.name} differs between orders`);
    }

  const locals = vars.map((v) => names.take(v.name));
  const sizes = new Map<Dim, Size>();
  const sizeOf = (d: Dim): Size => {
    let s = sizes.get(d);
    if (!s) {
      const symbol = sizeNames.get(d) ?? `n${d}`;
      s = { symbol, local: names.take(/^[A-Za-z_][A-Za-z0-9_]*$/.test(symbol) ? symbol : 'size') };
      sizes.set(d, s);
    }
    return s;
  };
  const bound = new Map<Dim, Binding>();
  // Generated code computes each result's evalNode: the evaluators' form, where adj's derivative is
  // adj2(A), defined at singular A too, not the printed form's A⁻¹ (elsewhere the same node); a
  // third derivative of det its singularNode, where adj2's derivative is adj3(A), likewise.
  const domains = inputDomains(results.map(codeNode));
  const inputs: Input[] = vars.map((v, k) => {
    const info = checked.vars.get(v.name);
    const type: DeclaredType = info?.declared ?? (['scalar', 'vector', 'matrix'][v.shape.length] as DeclaredType);
    const domain = domains.get(v.name) ?? { lo: -1, hi: 1, signed: false, dominant: false };
    return { name: v.name, local: locals[k]!, holder: '', type, dims: v.shape.map(sizeOf), symmetric: v.symmetric, domain };
  });
  const withHolders: Input[] = inputs.map((i) => ({ ...i, holder: names.take(`${i.local}_in`) }));
  const bindings: Binding[] = [];
  withHolders.forEach((input, k) =>
    vars[k]!.shape.forEach((d, axis) => {
      if (bound.has(d)) return;
      const b = { size: sizeOf(d), input, axis };
      bound.set(d, b);
      bindings.push(b);
    }),
  );
  const checks: Check[] = [];
  withHolders.forEach((input, k) => {
    const shape = vars[k]!.shape;
    const selfBound = shape.every((d, axis) => bound.get(d)!.input === input && bound.get(d)!.axis === axis);
    if (selfBound) return;
    const others = [...new Set(shape.filter((d) => bound.get(d)!.input !== input))].map(
      (d) => `${sizeOf(d).symbol} from ${bound.get(d)!.input.name}`,
    );
    const pattern = shape.map((d) => sizeOf(d).symbol).join('×') + (others.length > 0 ? `, with ${others.join(' and ')}` : '');
    checks.push({ input, pattern });
  });

  // The union of the DAGs of the value and every derivative, in topological order.
  const order = topoOrder(results.map(codeNode), evaluatedChildren);
  const derived = derivedSizes(topoOrder([...order, ...sizeRootsOf(r0)]), bound, sizeOf);

  // Temporaries, in topological order over the union of the DAGs.
  const temps = new Map<Node, Temp>();
  vars.forEach((v, k) => temps.set(v, { name: withHolders[k]!.local, dims: withHolders[k]!.dims }));
  const body: Instr[] = [];
  const dimsOf = (n: Node): Size[] =>
    n.shape.map((d) => {
      if (!bound.has(d))
        throw inputError(
          `the size ${sizeNames.get(d) ?? '?'} cannot be read from the inputs (it comes from eye, vector(c) or matrix(c) alone): generated code needs every size from a variable`,
        );
      return sizeOf(d);
    });
  // A sub-expression that the printed forms name (t1 = exp(-y.*(X*w))) has the same name in the
  // code, those of the highest order first; every other step is s1, s2, …
  const printedNames = new Map<Node, string>();
  for (let k = results.length - 1; k >= 0; k--)
    for (const t of results[k]!.temporaries)
      if (!printedNames.has(t.node) && !names.has(t.name)) printedNames.set(t.node, names.take(t.name));
  // A printed temporary may be in the sign the input wrote, where the DAG has its negation: a
  // difference (t1 = X*x - y beside y - X*x) the code computes under its name and negates; any
  // other (t1 = tanh(x - y) beside tanh(y - x), printed as the one-term sum -tanh(y - x)) it
  // computes as the DAG has it, and the header says which step is its negation (t1 = -s2): the
  // code reads the DAG's sign, so an array t1 would never be read.
  const dag = new Set(order);
  const negatedNames = new Map<Node, string>();
  for (const [node, name] of printedNames) {
    if (node.kind !== 'add' || dag.has(node)) continue;
    const negation = makeAdd(node.terms.map((t) => ({ coef: -t.coef, node: t.node })), node.shape);
    if (dag.has(negation)) negatedNames.set(negation, name);
  }
  const newTemp = (dims: readonly Size[], node?: Node): Temp => {
    const printed = node && printedNames.get(node);
    if (printed) printedNames.delete(node);
    return { name: printed ?? names.next('s'), dims };
  };
  const tempOf = (n: Node): Temp => {
    const t = temps.get(n);
    if (!t) throw new InternalError('codegen: node used before it was planned');
    return t;
  };
  /** Printed temporaries whose negation a step computes: [t1, s2] for t1 = tanh(x - y) beside s2 = tanh(y - x). */
  const negatedSteps: [string, string][] = [];
  const nameNegation = (n: Node): void => {
    const printed = negatedNames.get(n);
    if (printed !== undefined && n.kind !== 'add') negatedSteps.push([printed, tempOf(n).name]);
  };
  let maxLabels = 1;
  const steps = new Map<string, Temp>();
  // A sum written under a printed name's negation keeps its own steps; a product with a printed
  // name keeps its array, under that name.
  const fusible = fusibleTerms(order, results.map(codeNode), (m) => negatedNames.has(m), (m) => printedNames.has(m) || negatedNames.has(m));
  /** The array of a sum that product terms were written into, and those terms. */
  const sumArrays = new Map<Node, Temp>();
  const written = new Set<Node>();

  for (const n of order) {
    if (n.kind === 'var') continue;
    const c = constantValue(n) ?? foldedConstant(n, (m) => temps.get(m)?.literal);
    if (c !== undefined) {
      temps.set(n, { name: String(c), dims: [], literal: c });
      continue;
    }
    const dims = dimsOf(n);
    if (n.kind === 'mul') {
      const push = (s: Instr & { op: 'einsum' }): void => {
        maxLabels = Math.max(maxLabels, s.labelDims.length);
        body.push(s);
      };
      const sum = fusible.get(n);
      const into =
        sum &&
        ((): { out: Temp; term: Term } => {
          const array = sumArrays.get(sum.node);
          const out = array ?? newTemp(dims, sum.node);
          sumArrays.set(sum.node, out);
          written.add(n);
          return { out, term: { coef: sum.coef, first: array === undefined } };
        });
      temps.set(n, planMul(n, tempOf, dimsOf, (d, final) => newTemp(d, final ? n : undefined), steps, push, into));
      nameNegation(n);
      continue;
    }
    const array = sumArrays.get(n);
    if (n.kind === 'add' && array) {
      temps.set(n, array);
      const rest = n.terms.filter((t) => !written.has(t.node));
      if (rest.length > 0) body.push({ op: 'add', out: array, terms: rest.map((t) => ({ coef: t.coef, src: tempOf(t.node) })), accumulate: true });
      continue;
    }
    const out = newTemp(dims, n);
    temps.set(n, out);
    switch (n.kind) {
      case 'const':
        body.push({ op: 'fill', out, value: n.value });
        break;
      case 'delta':
        body.push({ op: 'eye', out });
        break;
      case 'add': {
        const printed = negatedNames.get(n);
        if (printed === undefined) {
          body.push({ op: 'add', out, terms: n.terms.map((t) => ({ coef: t.coef, src: tempOf(t.node) })) });
          break;
        }
        const written: Temp = { name: printed, dims };
        body.push({ op: 'add', out: written, terms: n.terms.map((t) => ({ coef: -t.coef, src: tempOf(t.node) })) });
        body.push({ op: 'add', out, terms: [{ coef: -1, src: written }] });
        break;
      }
      case 'elem': {
        const l = logSigmoidOf(n);
        body.push(l ? { op: 'elem', out, fn: l.fn, src: tempOf(l.arg) } : { op: 'elem', out, fn: n.fn, src: tempOf(n.arg) });
        break;
      }
      case 'pow':
        body.push({ op: 'pow', out, src: tempOf(n.base), exp: n.exp });
        break;
      case 'powv':
        body.push({ op: 'powv', out, base: tempOf(n.base), exponent: tempOf(n.exponent) });
        break;
      case 'det':
      case 'adj':
      case 'logsumexp':
        body.push({ op: n.kind, out, src: tempOf(n.arg) });
        break;
      case 'mpow':
        body.push({ op: 'mpow', out, src: tempOf(n.base), exp: n.exp, dirs: n.dirs.map(tempOf) });
        break;
      case 'inv':
      case 'logdet':
        body.push({ op: n.kind, out, src: tempOf(n.arg), name: matrixName(n.arg) });
        break;
      case 'merge':
        body.push({ op: 'permute', out, src: tempOf(n.arg), perm: mergePermutation(n.groups) });
        break;
      case 'adj2':
      case 'adj3':
        body.push({ op: n.kind, out, src: tempOf(n.arg) });
        break;
      case 'adjpart':
        // The compiled evaluator's parts of adj2 (compile/adjugates.ts).
        throw new InternalError(`${n.kind} is not exported`);
    }
    nameNegation(n);
  }

  const exprRank = r0.node.shape.length;
  const returned = new Map<string, number>();
  for (const r of results) returned.set(tempOf(codeNode(r)).name, (returned.get(tempOf(codeNode(r)).name) ?? 0) + 1);
  const outputs: Output[] = results.map((r) => ({
    key: outputKey(r.order, exprRank),
    order: r.order,
    temp: tempOf(codeNode(r)),
    copy: codeNode(r).kind === 'var' || returned.get(tempOf(codeNode(r)).name)! > 1,
  }));

  const loopVars: string[] = [];
  for (let k = 0; k < maxLabels; k++) loopVars.push(names.takeAny(['i', 'j', 'k', 'l'], 'i'));
  const acc = names.take('acc');

  return {
    expr: r0.expr,
    wrt: r0.wrt,
    order: results.length - 1,
    inputs: withHolders,
    bindings,
    derived,
    checks,
    body,
    outputs,
    loopVars,
    acc,
    header: header(results, withHolders, outputs, negatedSteps),
  };
}

/**
 * The value of a scalar node built from numbers alone (sin(1.5), 2^0.5, 3*sin(1.5)), given the
 * values of its children (literal: undefined where a child is not a number). Printed forms keep such
 * a constant as it is written; generated code computes it once, here. Undefined where it is not
 * finite (log(-3)): the code then computes it as written.
 */
function foldedConstant(n: Node, literal: (child: Node) => number | undefined): number | undefined {
  if (n.shape.length !== 0) return undefined;
  const finite = (v: number | undefined): number | undefined => (v !== undefined && Number.isFinite(v) ? v : undefined);
  switch (n.kind) {
    case 'elem': {
      // log(sigmoid(c)) reads c: the code never forms sigmoid(c) (evaluatedChildren).
      const l = logSigmoidOf(n);
      const x = literal(l?.arg ?? n.arg);
      if (x === undefined) return undefined;
      // log(sigmoid(c)) = -softplus(-c), log(1 - sigmoid(c)) = -softplus(c), as the code computes them.
      return finite(l ? -elemValue('softplus', l.fn === 'logsigmoid' ? -x : x) : elemValue(n.fn, x));
    }
    case 'pow': {
      const x = literal(n.base);
      return x === undefined ? undefined : finite(Math.pow(x, n.exp));
    }
    case 'add': {
      const xs = n.terms.map((t) => literal(t.node));
      return xs.every((x) => x !== undefined) ? finite(n.terms.reduce((acc, t, i) => acc + t.coef * xs[i]!, 0)) : undefined;
    }
    case 'mul': {
      const xs = n.factors.map((f) => literal(f.node));
      return xs.every((x) => x !== undefined) ? finite(xs.reduce((acc, x) => acc * x!, 1)) : undefined;
    }
    default:
      return undefined;
  }
}

function header(results: readonly Result[], inputs: readonly Input[], outputs: readonly Output[], negatedSteps: readonly (readonly [string, string])[]): string[] {
  const r0 = results[0]!;
  const shapeText = (dims: readonly string[]): string => (dims.length === 0 ? 'scalar' : dims.join('×'));
  const lines = [
    `Generated by ricci from: ${r0.expr}`,
    `Variables: ${inputs.map((i) => `${i.name}: ${i.type}${i.dims.length > 0 ? ` (${i.dims.map((d) => d.symbol).join('×')})` : ''}`).join(', ')}`,
    results.length === 1 ? 'The value only (order 0).' : `Derivatives with respect to ${r0.wrt}, orders 0 to ${results.length - 1}:`,
  ];
  const width = Math.max(...outputs.map((o) => o.key.length));
  results.forEach((r, k) => {
    const form = r.matrix ?? `${r.index}  (index notation: no matrix form)`;
    lines.push(`  ${outputs[k]!.key.padEnd(width)} = ${form}  [${shapeText(r.shape)}]`);
  });
  for (const [printed, step] of negatedSteps) lines.push(`${printed} of the printed forms is -${step} below.`);
  lines.push('Layout: row-major; the derivative of f with respect to X has shape shape(f) ++ shape(X).');
  return lines.map(commentText);
}

/**
 * The product terms that generated code writes straight into their sum's array: a term that is a
 * product of tensors, used by that sum alone and not a result, of a sum of two or more terms with
 * axes; keptSum and keptTerm exclude others. A term's coef multiplies its product.
 */
function fusibleTerms(
  order: readonly Node[],
  roots: readonly Node[],
  keptSum: (n: Node) => boolean,
  keptTerm: (n: Node) => boolean,
): Map<Node, { node: AddNode; coef: number }> {
  const uses = new Map<Node, number>();
  const use = (n: Node): void => void uses.set(n, (uses.get(n) ?? 0) + 1);
  for (const n of order) for (const c of children(n)) use(c);
  for (const r of roots) use(r);
  const fusible = new Map<Node, { node: AddNode; coef: number }>();
  for (const n of order) {
    if (n.kind !== 'add' || n.shape.length === 0 || n.terms.length < 2 || keptSum(n)) continue;
    for (const t of n.terms) {
      const m = t.node;
      if (m.kind !== 'mul' || uses.get(m) !== 1 || keptTerm(m) || !m.factors.some((f) => f.node.shape.length > 0)) continue;
      fusible.set(m, { node: n, coef: t.coef });
    }
  }
  return fusible;
}

/**
 * A product split into steps of at most two tensors: repeatedly contract the pair that involves
 * the fewest distinct labels (ties: the smallest result, then the first pair), keeping the labels
 * that are output axes or occur in another remaining factor. Steps are memoized by their
 * relabelled form, so that a contraction such as x'*x that occurs inside several products (which
 * are different IR nodes) is computed once.
 */
function planMul(
  n: MulNode,
  tempOf: (n: Node) => Temp,
  dimsOf: (n: Node) => Size[],
  /** A new temp; final: the product's own result (not an intermediate contraction). */
  newTemp: (dims: readonly Size[], final: boolean) => Temp,
  memo: Map<string, Temp>,
  push: (ins: Instr & { op: 'einsum' }) => void,
  /** The product is a term of a sum: its last step writes into the sum's array (see Term). */
  into?: () => { out: Temp; term: Term },
): Temp {
  const rank = n.shape.length;
  const labelSize = new Map<number, Size>();
  const scalars: Temp[] = [];
  let work: Operand[] = [];
  for (const f of n.factors) {
    const dims = dimsOf(f.node);
    f.labels.forEach((l, i) => labelSize.set(l, dims[i]!));
    if (f.node.shape.length === 0) scalars.push(tempOf(f.node));
    else work.push({ src: tempOf(f.node), labels: f.labels });
  }

  /** The step relabelled so that `outLabels` become 0..k-1 and the other labels follow in order. */
  const relabel = (ops: readonly Operand[], outLabels: readonly number[], scal: readonly Temp[]): Omit<Instr & { op: 'einsum' }, 'out'> => {
    const map = new Map<number, number>();
    outLabels.forEach((l, i) => map.set(l, i));
    for (const o of ops) for (const l of o.labels) if (!map.has(l)) map.set(l, map.size);
    const labelDims: Size[] = [];
    for (const [l, k] of map) labelDims[k] = labelSize.get(l)!;
    return { op: 'einsum', factors: ops.map((o) => ({ src: o.src, labels: o.labels.map((l) => map.get(l)!) })), scalars: scal, labelDims };
  };
  const keyOf = (s: Omit<Instr & { op: 'einsum' }, 'out'>, rank: number): string =>
    `${rank}|${s.factors.map((f) => `${f.src.name}:${f.labels.join('.')}`).join(',')}|${s.scalars.map((t) => t.name).sort().join(',')}`;
  const emit = (ops: readonly Operand[], outLabels: readonly number[], scal: readonly Temp[], final = false): Temp => {
    // A factor without axes (a contraction done in an earlier step) only scales the product.
    const tensors = ops.filter((o) => o.labels.length > 0);
    const allScalars = [...scal, ...ops.filter((o) => o.labels.length === 0).map((o) => o.src)];
    const s = relabel(tensors, outLabels, allScalars);
    const keys = [keyOf(s, outLabels.length)];
    if (tensors.length === 2) keys.push(keyOf(relabel([tensors[1]!, tensors[0]!], outLabels, allScalars), outLabels.length));
    for (const k of keys) {
      const hit = memo.get(k);
      if (hit) return hit;
    }
    if (final && into) {
      // Not memoized: the array is the sum's, and holds other terms too.
      const { out, term } = into();
      push({ ...s, out, term });
      return out;
    }
    const out = newTemp(outLabels.map((l) => labelSize.get(l)!), final);
    push({ ...s, out });
    for (const k of keys) memo.set(k, out);
    return out;
  };

  while (work.length > 2) {
    let best: { a: number; b: number; cost: number; kept: number[] } | undefined;
    for (let a = 0; a < work.length; a++)
      for (let b = a + 1; b < work.length; b++) {
        const [big, small] = work[a]!.labels.length >= work[b]!.labels.length ? [work[a]!, work[b]!] : [work[b]!, work[a]!];
        const union = [...new Set([...big.labels, ...small.labels])];
        const kept = union.filter((l) => l < rank || work.some((o, k) => k !== a && k !== b && o.labels.includes(l)));
        const cost = union.length * 64 + kept.length;
        if (!best || cost < best.cost) best = { a, b, cost, kept };
      }
    const { a, b, kept } = best!;
    const out = emit([work[a]!, work[b]!], kept, []);
    work = [...work.filter((_, k) => k !== a && k !== b), { src: out, labels: kept }];
  }
  return emit(
    work,
    Array.from({ length: rank }, (_, i) => i),
    scalars,
    true,
  );
}
