/**
 * JavaScript and TypeScript from a plan: an ES module with one exported function
 * `evaluate(input)` and its small helpers, no imports. Every tensor is a flat row-major
 * Float64Array; scalars are numbers. Products are loop nests (one per einsum step of the plan);
 * inv/det/logdet use a self-contained LU of the equilibrated matrix with the evaluators' rule for
 * singularity (compile/kernels/lu.ts). JS and TS differ only in type annotations.
 *
 * No user text reaches the code except in one-line comments (sanitised) and as string literals
 * written by JSON.stringify; identifiers all come from the plan's name allocator.
 */
import type { ElemFn } from '../ir/node.js';
import { InternalError } from '../ir/node.js';
import type { CodeFn, Instr, Operand, Plan, Size, Temp } from './plan.js';
import { num } from './literals.js';
import { checkSpec, jsCheckSpec } from './selfcheck.js';

export { num };

class Writer {
  private readonly lines: string[] = [];
  private depth = 0;
  constructor(private readonly unit: string) {}
  line(s: string): void {
    this.lines.push(s === '' ? '' : this.unit.repeat(this.depth) + s);
  }
  open(s: string): void {
    this.line(s);
    this.depth++;
  }
  close(s = '}'): void {
    this.depth--;
    this.line(s);
  }
  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

const JS_FN: Readonly<Record<CodeFn, (x: string) => string>> = {
  sin: (x) => `Math.sin(${x})`,
  cos: (x) => `Math.cos(${x})`,
  tan: (x) => `Math.tan(${x})`,
  arcsin: (x) => `Math.asin(${x})`,
  arccos: (x) => `Math.acos(${x})`,
  arctan: (x) => `Math.atan(${x})`,
  exp: (x) => `Math.exp(${x})`,
  log: (x) => `Math.log(${x})`,
  tanh: (x) => `Math.tanh(${x})`,
  abs: (x) => `Math.abs(${x})`,
  sign: (x) => `Math.sign(${x})`,
  relu: (x) => `Math.max(${x}, 0)`,
  sigmoid: (x) => `sigmoid_(${x})`,
  softplus: (x) => `softplus_(${x})`,
  logsigmoid: (x) => `-softplus_(-(${x}))`,
  negsoftplus: (x) => `-softplus_(${x})`,
};

type Helper = 'read' | 'check' | 'symmetric' | 'eye' | 'lu' | 'inv' | 'det' | 'logdet' | 'adj' | 'minor' | 'adj2' | 'adj3' | 'mpow' | 'dpow' | 'sigmoid' | 'softplus' | 'logsumexp' | 'permute';

export function emitJs(plan: Plan, ts: boolean): string {
  const w = new Writer('  ');
  const ty = (s: string): string => (ts ? s : '');
  const used = new Set<Helper>(['read']);
  const v = plan.loopVars;
  const ref = (t: Temp): string => (t.literal !== undefined ? (t.literal < 0 ? `(${num(t.literal)})` : num(t.literal)) : t.name);
  const size = (dims: readonly Size[]): string => (dims.length === 0 ? '1' : dims.map((d) => d.local).join(' * '));
  const at = (t: Temp, i: string): string => (t.dims.length === 0 ? ref(t) : `${t.name}[${i}]`);

  for (const h of plan.header) w.line(`// ${h}`);
  const keys = plan.outputs.map((o) => o.key);
  w.line(`// Usage: evaluate({ ${plan.inputs.map((i) => i.name).join(', ')} }) returns { ${keys.join(', ')} }, each a`);
  w.line('//   { shape: number[], data: Float64Array } (row-major; a scalar has shape [] and one entry).');
  w.line('// Inputs: a number (scalar), an array or Float64Array (vector), an array of rows (matrix), or');
  w.line('//   { shape, data }. Sizes and declared symmetry are checked; no dependencies.');
  w.line('// Self-check: checkGradient(sizes?, seed) compares each derivative with finite differences.');
  w.line('');
  if (ts) {
    w.line('export interface Tensor {');
    w.line('  shape: number[];');
    w.line('  data: Float64Array;');
    w.line('}');
    w.line('');
    w.line('export type Input =');
    w.line('  | number');
    w.line('  | Float64Array');
    w.line('  | readonly number[]');
    w.line('  | readonly (readonly number[])[]');
    w.line('  | { readonly shape: readonly number[]; readonly data: ArrayLike<number> };');
    w.line('');
    w.line('export interface Inputs {');
    for (const i of plan.inputs) w.line(`  readonly ${JSON.stringify(i.name)}: Input;`);
    w.line('}');
    w.line('');
    w.line('export interface Result {');
    for (const k of keys) w.line(`  ${k}: Tensor;`);
    w.line('}');
    w.line('');
  }
  w.open(`export function evaluate(input${ty(': Inputs')})${ty(': Result')} {`);
  for (const i of plan.inputs) w.line(`const ${i.holder} = read_(input, ${JSON.stringify(i.name)}, ${i.dims.length});`);
  for (const b of plan.bindings) w.line(`const ${b.size.local} = ${b.input.holder}.shape[${b.axis}];`);
  for (const d of plan.derived) {
    const product = d.factors.map((f) => f.local).join(' * ');
    if (d.total) {
      w.line(`const ${d.size.local} = ${d.total.local} / (${product});`);
      w.line(`if (!Number.isInteger(${d.size.local})) throw new Error(${JSON.stringify(`size ${d.total.symbol} must be a multiple of ${d.factors.map((f) => f.symbol).join('·')}`)});`);
    } else if (!d.check) w.line(`const ${d.size.local} = ${product};`);
    else w.line(`if (${d.size.local} !== ${product}) throw new Error(${JSON.stringify(`size ${d.size.symbol} must be ${d.factors.map((f) => f.symbol).join('·')}`)});`);
  }
  for (const c of plan.checks) {
    used.add('check');
    w.line(`check_(${c.input.holder}, ${JSON.stringify(c.input.name)}, [${c.input.dims.map((d) => d.local).join(', ')}], ${JSON.stringify(c.pattern)});`);
  }
  for (const i of plan.inputs)
    if (i.symmetric) {
      used.add('symmetric');
      w.line(`symmetric_(${i.holder}, ${JSON.stringify(i.name)});`);
    }
  for (const i of plan.inputs) w.line(`const ${i.local} = ${i.holder}.data${i.dims.length === 0 ? '[0]' : ''};`);

  const elementwise = (out: Temp, expr: (i: string) => string): void => {
    if (out.dims.length === 0) {
      w.line(`const ${out.name} = ${expr('')};`);
      return;
    }
    const i = v[0]!;
    w.line(`const ${out.name} = new Float64Array(${size(out.dims)});`);
    w.line(`for (let ${i} = 0; ${i} < ${out.name}.length; ${i}++) ${out.name}[${i}] = ${expr(i)};`);
  };

  for (const ins of plan.body) {
    switch (ins.op) {
      case 'fill':
        w.line(`const ${ins.out.name} = new Float64Array(${size(ins.out.dims)})${ins.value === 1 ? '.fill(1)' : ''};`);
        break;
      case 'eye':
        used.add('eye');
        w.line(`const ${ins.out.name} = eye_(${ins.out.dims[0]!.local});`);
        break;
      case 'add':
        if (ins.accumulate) {
          const i = v[0]!;
          w.line(`for (let ${i} = 0; ${i} < ${ins.out.name}.length; ${i}++) ${ins.out.name}[${i}] += ${sumExpr(ins.terms, (t) => at(t, i))};`);
        } else elementwise(ins.out, (i) => sumExpr(ins.terms, (t) => at(t, i)));
        break;
      case 'elem':
        if (ins.fn === 'sigmoid' || ins.fn === 'softplus') used.add(ins.fn);
        if (ins.fn === 'logsigmoid' || ins.fn === 'negsoftplus') used.add('softplus');
        elementwise(ins.out, (i) => JS_FN[ins.fn](at(ins.src, i)));
        break;
      case 'pow':
        elementwise(ins.out, (i) => `Math.pow(${at(ins.src, i)}, ${num(ins.exp)})`);
        break;
      case 'powv':
        elementwise(ins.out, (i) => `Math.pow(${at(ins.base, i)}, ${at(ins.exponent, i)})`);
        break;
      case 'inv':
      case 'logdet':
        used.add(ins.op).add('lu');
        w.line(`const ${ins.out.name} = ${ins.op}_(${ins.src.name}, ${ins.src.dims[0]!.local}, ${JSON.stringify(`${ins.op}(${ins.name})`)});`);
        break;
      case 'logsumexp':
        used.add('logsumexp');
        w.line(`const ${ins.out.name} = logsumexp_(${ins.src.name});`);
        break;
      case 'det':
        used.add('det').add('lu');
        w.line(`const ${ins.out.name} = det_(${ins.src.name}, ${ins.src.dims[0]!.local});`);
        break;
      case 'adj':
        used.add('adj').add('lu');
        w.line(`const ${ins.out.name} = adj_(${ins.src.name}, ${ins.src.dims[0]!.local});`);
        break;
      case 'adj2':
      case 'adj3':
        used.add(ins.op).add('adj2').add('minor').add('adj').add('det').add('lu');
        w.line(`const ${ins.out.name} = ${ins.op}_(${ins.src.name}, ${ins.src.dims[0]!.local});`);
        break;
      case 'einsum':
        einsum(ins, w, v, plan.acc, ref);
        break;
      case 'mpow': {
        const n = ins.src.dims[0]!.local;
        if (ins.dirs.length === 0) {
          used.add('mpow');
          w.line(`const ${ins.out.name} = mpow_(${ins.src.name}, ${n}, ${ins.exp});`);
          break;
        }
        used.add('dpow');
        const dirs = ins.dirs.map((d) => `{ data: ${d.name}, size: ${d.dims.length > 2 ? size(d.dims.slice(2)) : '1'} }`);
        w.line(`const ${ins.out.name} = dpow_(${ins.src.name}, ${n}, ${ins.exp}, [${dirs.join(', ')}]);`);
        break;
      }
      case 'permute':
        used.add('permute');
        w.line(`const ${ins.out.name} = permute_(${ins.src.name}, [${ins.src.dims.map((d) => d.local).join(', ')}], [${ins.perm.join(', ')}]);`);
        break;
    }
  }

  w.open('return {');
  for (const o of plan.outputs) {
    const t = o.temp;
    const data = t.dims.length === 0 ? `Float64Array.of(${ref(t)})` : o.copy ? `${t.name}.slice()` : t.name;
    w.line(`${o.key}: { shape: [${t.dims.map((d) => d.local).join(', ')}], data: ${data} },`);
  }
  w.close('};');
  w.close('}');
  selfCheck(plan, w, ty);
  for (const h of HELPER_ORDER) if (used.has(h)) w.line('\n' + HELPERS[h](ty).trim());
  w.line('\n' + SELF_CHECK_HELPERS(ty).trim());
  return w.text();
}

/** checkGradient and the table it reads (see selfcheck.ts). */
function selfCheck(plan: Plan, w: Writer, ty: (s: string) => string): void {
  w.line('');
  w.line('/**');
  w.line(' * Self-check at a random point (seeded; default sizes unless `sizes` gives some, e.g. { n: 5 }):');
  w.line(' * for each derivative, ‖D·e − FD‖ / max(‖D·e‖, ‖FD‖) over every coordinate direction e of the');
  w.line(' * variable, where FD is the central difference (4-point stencil) of the order below along e.');
  w.line(' */');
  w.open(`export function checkGradient(sizes${ty('?: Record<string, number>')}, seed = 0)${ty(': Record<string, number>')} {`);
  w.line('return gradientErrors_(CHECK_, sizes, seed);');
  w.close();
  w.line('');
  const table = jsCheckSpec(checkSpec(plan));
  w.line(`const CHECK_${ty(': CheckSpec')} = ${table[0]!}`);
  for (const l of table.slice(1, -1)) w.line(l);
  w.line(`${table.at(-1)!};`);
}

/** coef·term + … with signs folded: a - 2 * b + 0.5. */
export function sumExpr(terms: readonly { readonly coef: number; readonly src: Temp }[], at: (t: Temp) => string): string {
  let s = '';
  terms.forEach(({ coef, src }, k) => {
    let neg: boolean;
    let mag: string;
    if (src.literal !== undefined) {
      const c = coef * src.literal;
      neg = c < 0;
      mag = num(Math.abs(c));
    } else {
      neg = coef < 0;
      const c = Math.abs(coef);
      mag = c === 1 ? at(src) : `${num(c)} * ${at(src)}`;
    }
    s += k === 0 ? (neg ? `-${mag}` : mag) : neg ? ` - ${mag}` : ` + ${mag}`;
  });
  return s;
}

/** Row-major offset of an operand's entry: (i * m + j) * p + k. */
function offset(labels: readonly number[], dims: readonly Size[], v: readonly string[]): string {
  let e = v[labels[0]!]!;
  for (let a = 1; a < labels.length; a++) e = `${a > 1 ? `(${e})` : e} * ${dims[a]!.local} + ${v[labels[a]!]!}`;
  return e;
}

/**
 * out[labels < r] = scalars · Σ over the other labels of Π operands, as a loop nest: the output's
 * axes outermost (in order, so the store is row-major), the summed labels inside.
 */
function einsum(ins: Instr & { op: 'einsum' }, w: Writer, v: readonly string[], acc: string, ref: (t: Temp) => string): void {
  const { out, factors, scalars, labelDims, term } = ins;
  const r = out.dims.length;
  if (term && r === 0) throw new InternalError('codegen: a scalar step written into a sum');
  const L = labelDims.length;
  if (L > v.length) throw new InternalError('codegen: too few loop variables');
  const operand = (f: Operand): string => (f.labels.length === 0 ? ref(f.src) : `${f.src.name}[${offset(f.labels, f.src.dims, v)}]`);
  const prod = factors.map(operand).join(' * ');
  const coef = term === undefined || Math.abs(term.coef) === 1 ? [] : [num(Math.abs(term.coef))];
  const scale = [...coef, ...scalars.map(ref)].join(' * ');
  if (factors.length === 0) {
    if (r !== 0) throw new InternalError('codegen: a product of scalars with axes');
    w.line(`const ${out.name} = ${scale};`);
    return;
  }
  const loop = (l: number): void => w.open(`for (let ${v[l]} = 0; ${v[l]} < ${labelDims[l]!.local}; ${v[l]}++) {`);
  const assign = term === undefined || term.first ? '=' : '+=';
  const sign = term !== undefined && term.coef < 0 ? '-' : '';
  const comment = `// ${out.name}${r > 0 ? `[${v.slice(0, r).join(', ')}]` : ''} ${assign} ${sign}${L > r ? `Σ_${v.slice(r, L).join(',')} ` : ''}${[
    ...coef,
    ...scalars.map(ref),
    ...factors.map((f) => (f.labels.length === 0 ? ref(f.src) : `${f.src.name}[${f.labels.map((l) => v[l]).join(', ')}]`)),
  ].join(' · ')}`;
  w.line(comment);
  if (r === 0) {
    w.line(`let ${out.name} = 0;`);
    for (let l = 0; l < L; l++) loop(l);
    w.line(`${out.name} += ${prod};`);
    for (let l = 0; l < L; l++) w.close();
    if (scale !== '') w.line(`${out.name} *= ${scale};`);
    return;
  }
  if (term === undefined || term.first) w.line(`const ${out.name} = new Float64Array(${out.dims.map((d) => d.local).join(' * ')});`);
  for (let l = 0; l < r; l++) loop(l);
  const store = `${out.name}[${offset(
    Array.from({ length: r }, (_, i) => i),
    out.dims,
    v,
  )}]`;
  const scaled = (x: string): string => sign + (scale === '' ? x : `${scale} * ${x}`);
  if (L > r) {
    w.line(`let ${acc} = 0;`);
    for (let l = r; l < L; l++) loop(l);
    w.line(`${acc} += ${prod};`);
    for (let l = r; l < L; l++) w.close();
    w.line(`${store} ${assign} ${scaled(acc)};`);
  } else w.line(`${store} ${assign} ${scaled(prod)};`);
  for (let l = 0; l < r; l++) w.close();
}

const SELF_CHECK_HELPERS = (ty: (s: string) => string): string => `
${ty(`interface CheckVariable {
  name: string;
  dims: string[];
  symmetric: boolean;
  lo: number;
  hi: number;
  signed: boolean;
  dominant: boolean;
}

interface CheckSpec {
  wrt: string;
  wrtSymmetric: boolean;
  keys: string[];
  sizes: [string, number][];
  inputs: CheckVariable[];
}
`)}
/** Central differences: f'(x) ≈ (8 (f(x + h) - f(x - h)) - (f(x + 2h) - f(x - 2h))) / 12h. */
const STEPS_ = [-2, -1, 1, 2];

/** The relative errors that checkGradient returns. */
function gradientErrors_(spec${ty(': CheckSpec')}, sizes${ty(': Record<string, number> | undefined')}, seed${ty(': number')})${ty(': Record<string, number>')} {
  const dims = new Map${ty('<string, number>')}(spec.sizes);
  if (sizes !== undefined)
    for (const [k, v] of Object.entries(sizes)) {
      if (!dims.has(k)) throw new RangeError('unknown size ' + k + ': the sizes are ' + [...dims.keys()].join(', '));
      if (!Number.isInteger(v) || v < 1) throw new RangeError('size ' + k + ' must be a whole number ≥ 1, got ' + v);
      dims.set(k, v);
    }
  const rand = random_(seed);
  const point${ty(': [string, Tensor][]')} = spec.inputs.map((v) => [v.name, draw_(v, v.dims.map((d) => dims.get(d)${ty('!')}), rand)]);
  const at = (p${ty(': [string, Tensor][]')})${ty(': Record<string, Tensor>')} => evaluate(Object.fromEntries(p)${ty(' as unknown as Inputs')})${ty(' as unknown as Record<string, Tensor>')};
  const base = at(point);
  const w = point.findIndex((p) => p[0] === spec.wrt);
  const x = point[w][1];
  const K = spec.keys.length;
  // Per step (h and h/16: where the function curves fast, as near a pole, the smaller step is
  // right) and derivative: |D·e − FD|², |D·e|², |FD|², and what rounding cannot tell from 0,
  // 1e-8·(1 + |f|)/h per entry of the function differenced.
  const sums = [0, 1].map(() => Array.from({ length: K }, () => new Float64Array(4)));
  for (const e of directions_(x.shape, spec.wrtSymmetric)) {
    let scale = 1;
    for (let a = 0; a < e.length; a++) if (e[a] !== 0) scale = Math.max(scale, Math.abs(x.data[a]));
    [1e-3 * scale, (1e-3 * scale) / 16].forEach((h, step) => {
      // At x - 2he, x - he, x + he, x + 2he; differences first, so that a constant is exactly 0.
      const outs = STEPS_.map((o) => at(point.map((p, i)${ty(': [string, Tensor]')} => (i === w ? [p[0], { shape: x.shape, data: x.data.map((v, a) => v + o * h * e[a]) }] : p))));
      for (let k = 1; k < K; k++) {
        const [m2, m1, p1, p2] = outs.map((out) => out[spec.keys[k - 1]].data);
        const d = base[spec.keys[k]].data;
        const f = base[spec.keys[k - 1]].data;
        const m = e.length;
        const sum = sums[step][k];
        for (let i = 0; i < m1.length; i++) {
          const fd = (8 * (p1[i] - m1[i]) - (p2[i] - m2[i])) / (12 * h);
          let s = 0;
          for (let a = 0; a < m; a++) if (e[a] !== 0) s += d[i * m + a] * e[a];
          sum[0] += (s - fd) ** 2;
          sum[1] += s * s;
          sum[2] += fd ** 2;
          sum[3] += ((1e-8 * (1 + Math.abs(f[i]))) / h) ** 2;
        }
      }
    });
  }
  const ratio = (s${ty(': Float64Array')})${ty(': number')} => {
    const norm = Math.sqrt(Math.max(s[1], s[2], s[3]));
    return norm === 0 ? 0 : Math.sqrt(s[0]) / norm;
  };
  const errors${ty(': Record<string, number>')} = {};
  for (let k = 1; k < K; k++) {
    const [a, b] = [ratio(sums[0][k]), ratio(sums[1][k])];
    errors[spec.keys[k]] = a !== a || b !== b ? NaN : Math.min(a, b);
  }
  return errors;
}

/** Unit directions of the variable: e_a, or e_ij + e_ji (i ≥ j) for a symmetric matrix. */
function directions_(shape${ty(': number[]')}, symmetric${ty(': boolean')})${ty(': Float64Array[]')} {
  const size = shape.reduce((a, b) => a * b, 1);
  const out${ty(': Float64Array[]')} = [];
  if (symmetric) {
    const n = shape[0];
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        const e = new Float64Array(size);
        e[i * n + j] = 1;
        e[j * n + i] = 1;
        out.push(e);
      }
  } else
    for (let a = 0; a < size; a++) {
      const e = new Float64Array(size);
      e[a] = 1;
      out.push(e);
    }
  return out;
}

/** A random variable of the given shape from its domain. */
function draw_(v${ty(': CheckVariable')}, shape${ty(': number[]')}, rand${ty(': () => number')})${ty(': Tensor')} {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    data[i] = v.lo + (v.hi - v.lo) * rand();
    if (v.signed && rand() < 0.5) data[i] = -data[i];
  }
  const n = shape[0];
  // Strictly diagonally dominant with a positive diagonal: invertible, positive determinant.
  if (v.dominant) for (let i = 0; i < n; i++) data[i * n + i] += (n + 1) * Math.max(Math.abs(v.lo), Math.abs(v.hi));
  if (v.symmetric) for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) data[j * n + i] = data[i * n + j];
  return { shape, data };
}

/** A seeded uniform random source on [0, 1) (mulberry32). */
function random_(seed${ty(': number')})${ty(': () => number')} {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}`;

const HELPER_ORDER: readonly Helper[] = ['read', 'check', 'symmetric', 'eye', 'lu', 'inv', 'det', 'logdet', 'adj', 'minor', 'adj2', 'adj3', 'mpow', 'dpow', 'sigmoid', 'softplus', 'logsumexp', 'permute'];

const HELPERS: Readonly<Record<Helper, (ty: (s: string) => string) => string>> = {
  // vec and kron: the axes of a row-major array in another order (B's axis k is a's axis perm[k]).
  permute: (ty) => `
function permute_(a${ty(': Float64Array')}, shape${ty(': number[]')}, perm${ty(': number[]')})${ty(': Float64Array')} {
  const r = shape.length;
  const strides${ty(': number[]')} = new Array(r).fill(1);
  for (let k = r - 2; k >= 0; k--) strides[k] = strides[k + 1] * shape[k + 1];
  const dims = perm.map((p) => shape[p]);
  const out = new Float64Array(a.length);
  const idx${ty(': number[]')} = new Array(r).fill(0);
  for (let b = 0; b < out.length; b++) {
    let src = 0;
    for (let k = 0; k < r; k++) src += idx[k] * strides[perm[k]];
    out[b] = a[src];
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}`,
  read: (ty) => `
/** Reads input[key] as a tensor of the given rank: a number, (nested) arrays, a Float64Array or { shape, data }. */
function read_(input${ty(': Inputs')}, key${ty(': string')}, rank${ty(': number')})${ty(': Tensor')} {
  if (typeof input !== 'object' || input === null) throw new TypeError('evaluate expects an object from variable names to values');
  if (!Object.prototype.hasOwnProperty.call(input, key)) throw new TypeError('missing input ' + key);
  const v${ty(': unknown')} = ${ty('(')}input${ty(' as unknown as Record<string, unknown>)')}[key];
  let shape${ty(': number[]')};
  let data${ty(': Float64Array')};
  if (typeof v === 'number') {
    shape = [];
    data = Float64Array.of(v);
  } else if (v instanceof Float64Array) {
    shape = [v.length];
    data = v;
  } else if (Array.isArray(v)) {
    const dims${ty(': number[]')} = [];
    for (let p${ty(': unknown')} = v; Array.isArray(p); p = p[0]) dims.push(p.length);
    const flat = new Float64Array(dims.reduce((a, b) => a * b, 1));
    let k = 0;
    const walk = (x${ty(': unknown')}, depth${ty(': number')})${ty(': void')} => {
      if (depth === dims.length) {
        if (typeof x !== 'number') throw new TypeError(key + ': expected numbers, got ' + (x === null ? 'null' : typeof x));
        flat[k++] = x;
      } else {
        if (!Array.isArray(x) || x.length !== dims[depth]) throw new TypeError(key + ': rows of different lengths');
        for (const y of x) walk(y, depth + 1);
      }
    };
    walk(v, 0);
    shape = dims;
    data = flat;
  } else if (typeof v === 'object' && v !== null && 'shape' in v && 'data' in v) {
    const t = v${ty(' as { shape: ArrayLike<number>; data: ArrayLike<number> }')};
    shape = Array.from(t.shape);
    data = Float64Array.from(t.data);
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new TypeError(key + ': shape ' + shape.join('×') + ' needs ' + n + ' entries, data has ' + data.length);
  } else throw new TypeError(key + ': expected a number, an array, a Float64Array or { shape, data }');
  if (shape.length !== rank) {
    const got = shape.length === 0 ? 'a scalar' : shape.length === 1 ? 'a vector of ' + shape[0] + ' entries' : 'a ' + shape.join('×') + ' array';
    throw new TypeError(key + ' must be ' + ['a scalar', 'a vector', 'a matrix'][rank] + ', got ' + got);
  }
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new RangeError(key + ': entry ' + i + ' is not a finite number');
  return { shape, data };
}`,
  check: (ty) => `
/** Throws unless t has the shape want; pattern names the sizes and where they come from. */
function check_(t${ty(': Tensor')}, key${ty(': string')}, want${ty(': number[]')}, pattern${ty(': string')})${ty(': void')} {
  for (let a = 0; a < want.length; a++) {
    if (t.shape[a] === want[a]) continue;
    if (want.length === 1) throw new RangeError(key + ' must have ' + want[0] + ' entries (' + pattern + '), got ' + t.shape[0]);
    throw new RangeError(key + ' must be ' + want.join('×') + ' (' + pattern + '), got ' + t.shape.join('×'));
  }
}`,
  symmetric: (ty) => `
/** Throws unless the square matrix t is symmetric (to a relative 1e-9). */
function symmetric_(t${ty(': Tensor')}, key${ty(': string')})${ty(': void')} {
  const n = t.shape[0];
  const a = t.data;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) {
      const x = a[i * n + j];
      const y = a[j * n + i];
      if (Math.abs(x - y) > 1e-9 * (Math.abs(x) + Math.abs(y) + 1e-300))
        throw new RangeError(key + ' is declared symmetric, but entries (' + (i + 1) + ',' + (j + 1) + ') and (' + (j + 1) + ',' + (i + 1) + ') differ');
    }
}`,
  eye: (ty) => `
function eye_(n${ty(': number')})${ty(': Float64Array')} {
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) r[i * n + i] = 1;
  return r;
}`,
  lu: (ty) => `
/** x·2^k in steps (k may lie beyond the exponent range of one double; an infinite k is one step). */
function times2_(x${ty(': number')}, k${ty(': number')})${ty(': number')} {
  if (!Number.isFinite(k)) return x * 2 ** k;
  for (; k > 1000; k -= 1000) x *= 2 ** 1000;
  for (; k < -1000; k += 1000) x *= 2 ** -1000;
  return x * 2 ** k;
}

/**
 * LU factorisation of a copy of the n×n matrix a (P·a = L·U), pivoting on the largest |a_ic|·2^-e_i
 * (2^e_i the size of row i's largest entry). a is singular to working precision — null — when a
 * pivot is 0 or at most 32·n·eps times |pivot| + Σ |terms subtracted from it| (its rounding
 * level), a rule that no scaling of a's rows and columns changes. (A non-finite entry: only an
 * exact zero pivot counts.) perm[i] is the row of a that ends up in row i.
 */
function lu_(a${ty(': Float64Array')}, n${ty(': number')})${ty(': { m: Float64Array; perm: Int32Array; sign: number } | null')} {
  const m = Float64Array.from(a);
  const size = new Float64Array(n * n);
  const w = new Float64Array(n);
  const finite = a.every((v) => Number.isFinite(v));
  for (let i = 0; i < n; i++) {
    let big = 0;
    for (let j = 0; j < n; j++) big = Math.max(big, Math.abs(a[i * n + j]));
    if (big === 0) return null;
    w[i] = finite ? 2 ** Math.min(1023, -Math.floor(Math.log2(big))) : 1;
  }
  const tol = finite ? 32 * n * Number.EPSILON : 0;
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let sign = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(m[i * n + c]) * w[i] > Math.abs(m[p * n + c]) * w[p]) p = i;
    const piv = m[p * n + c];
    if (piv === 0 || Math.abs(piv) <= tol * (Math.abs(piv) + size[p * n + c])) return null;
    if (p !== c) {
      sign = -sign;
      for (let k = 0; k < n; k++) {
        let t = m[p * n + k];
        m[p * n + k] = m[c * n + k];
        m[c * n + k] = t;
        t = size[p * n + k];
        size[p * n + k] = size[c * n + k];
        size[c * n + k] = t;
      }
      let t = w[p];
      w[p] = w[c];
      w[c] = t;
      t = perm[p];
      perm[p] = perm[c];
      perm[c] = t;
    }
    for (let i = c + 1; i < n; i++) {
      const l = (m[i * n + c] /= piv);
      if (l === 0) continue;
      for (let k = c + 1; k < n; k++) {
        const t = l * m[c * n + k];
        m[i * n + k] -= t;
        size[i * n + k] += Math.abs(t);
      }
    }
  }
  return { m, perm, sign };
}`,
  inv: (ty) => `
/** Inverse of the n×n matrix a, from lu_; name says which matrix in the error. */
function inv_(a${ty(': Float64Array')}, n${ty(': number')}, name${ty(': string')})${ty(': Float64Array')} {
  const lu = lu_(a, n);
  if (lu === null) throw new RangeError(name + ': the matrix is singular to working precision, so it has no inverse');
  const { m, perm } = lu;
  // Column j of a⁻¹ solves L·U·x = P·(unit vector j).
  const r = new Float64Array(n * n);
  const x = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      let s = perm[i] === j ? 1 : 0;
      for (let k = 0; k < i; k++) s -= m[i * n + k] * x[k];
      x[i] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i];
      for (let k = i + 1; k < n; k++) s -= m[i * n + k] * x[k];
      x[i] = s / m[i * n + i];
    }
    for (let i = 0; i < n; i++) r[i * n + j] = x[i];
  }
  return r;
}`,
  det: (ty) => `
/** Determinant of the n×n matrix a (0 when singular to working precision), kept in range by powers of 2. */
function det_(a${ty(': Float64Array')}, n${ty(': number')})${ty(': number')} {
  const lu = lu_(a, n);
  if (lu === null) return 0;
  let d = lu.sign;
  let shift = 0;
  for (let i = 0; i < n; i++) {
    d *= lu.m[i * n + i];
    if (!Number.isFinite(d) || d === 0) return d; // an infinite entry, or a product below the smallest double
    if (Math.abs(d) > 2 ** 100 || Math.abs(d) < 2 ** -100) {
      const k = Math.round(Math.log2(Math.abs(d)));
      d = times2_(d, -k);
      shift += k;
    }
  }
  return times2_(d, shift);
}`,
  logdet: (ty) => `
/** log(det(a)) from the pivots' logs: NaN for a negative determinant; name says which matrix in the error. */
function logdet_(a${ty(': Float64Array')}, n${ty(': number')}, name${ty(': string')})${ty(': number')} {
  const lu = lu_(a, n);
  if (lu === null) throw new RangeError(name + ': the matrix is singular to working precision, so its log-determinant is -∞');
  let sign = lu.sign;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const u = lu.m[i * n + i];
    if (u < 0) sign = -sign;
    s += Math.log(Math.abs(u));
  }
  return sign > 0 ? s : NaN;
}`,
  minor: (ty) => `
/** sub = the n×n matrix a without row j and column i ((n−1)×(n−1)), the minor of adj(a)[i, j]. */
function minor_(a${ty(': Float64Array')}, n${ty(': number')}, i${ty(': number')}, j${ty(': number')}, sub${ty(': Float64Array')})${ty(': void')} {
  const m = n - 1;
  for (let k = 0, r = 0; k < n; k++) {
    if (k === j) continue;
    for (let l = 0, c = 0; l < n; l++) if (l !== i) sub[r * m + c++] = a[k * n + l];
    r++;
  }
}`,
  adj2: (ty) => `
/**
 * adj2(a)[i, j, k, l] = ∂adj(a)[i, j]/∂a[k, l], at singular matrices too. Where a's condition
 * number in the 1-norm, ‖a‖·‖adj(a)‖/|det(a)|, is at most 1000, Jacobi's identity:
 * (adj_ij·adj_lk − adj_ik·adj_lj)/det(a). Elsewhere from minors: adj(a)[i, j] is (−1)^(i+j) times
 * the minor of a without row j and column i, whose derivative by a[k, l] (k ≠ j, l ≠ i) is that
 * submatrix's adjugate at (l, k): n² adjugates of (n−1)×(n−1) matrices.
 */
function adj2_(a${ty(': Float64Array')}, n${ty(': number')})${ty(': Float64Array')} {
  const out = new Float64Array(n * n * n * n);
  const d = det_(a, n);
  const b = adj_(a, n);
  const norm1 = (x${ty(': Float64Array')})${ty(': number')} => {
    let most = 0;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.abs(x[i * n + j]);
      most = Math.max(most, s);
    }
    return most;
  };
  if (d !== 0 && Number.isFinite(d) && norm1(a) * norm1(b) <= 1e3 * Math.abs(d)) {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        for (let k = 0; k < n; k++)
          for (let l = 0; l < n; l++) out[((i * n + j) * n + k) * n + l] = (b[i * n + j] * b[l * n + k] - b[i * n + k] * b[l * n + j]) / d;
    return out;
  }
  const m = n - 1;
  const sub = new Float64Array(m * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      minor_(a, n, i, j, sub);
      const b = m > 0 ? adj_(sub, m) : sub;
      const s = (i + j) % 2 === 0 ? 1 : -1;
      for (let k = 0, r = 0; k < n; k++) {
        if (k === j) continue;
        for (let l = 0, c = 0; l < n; l++) if (l !== i) out[((i * n + j) * n + k) * n + l] = s * b[c++ * m + r];
        r++;
      }
    }
  return out;
}`,
  adj3: (ty) => `
/**
 * adj3(a)[i, j, p, q, r, s] = ∂adj2(a)[i, j, p, q]/∂a[r, s], the third derivative of det, at
 * singular matrices too. adj(a)[i, j] is (−1)^(i+j) times the minor of a without row j and column
 * i, so adj2(a)[i, j, p, q] is (−1)^(i+j) times that submatrix's adjugate at (q, p) and adj3 its
 * adj2 at (q, p, r, s) (p, r ≠ j and q, s ≠ i; 0 elsewhere): n² adj2's of (n−1)×(n−1) matrices,
 * each by Jacobi's identity or from minors as its own condition says.
 */
function adj3_(a${ty(': Float64Array')}, n${ty(': number')})${ty(': Float64Array')} {
  const out = new Float64Array(n ** 6);
  if (n < 3) return out;
  const m = n - 1;
  const sub = new Float64Array(m * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      minor_(a, n, i, j, sub);
      const b = adj2_(sub, m);
      const sign = (i + j) % 2 === 0 ? 1 : -1;
      // Among the rows without j, row k is k − 1 past j; among the columns without i likewise.
      const row = (k${ty(': number')})${ty(': number')} => (k > j ? k - 1 : k);
      const col = (l${ty(': number')})${ty(': number')} => (l > i ? l - 1 : l);
      for (let p = 0; p < n; p++)
        for (let q = 0; q < n; q++)
          for (let r = 0; r < n; r++)
            for (let s = 0; s < n; s++) {
              if (p === j || r === j || q === i || s === i) continue;
              out[((((i * n + j) * n + p) * n + q) * n + r) * n + s] = sign * b[((col(q) * m + row(p)) * m + row(r)) * m + col(s)];
            }
    }
  return out;
}`,
  adj: (ty) => `
/**
 * The adjugate of the n×n matrix a (a·adj(a) = det(a)·I), at singular matrices too. B = R·a·C is a
 * equilibrated by powers of 2 (a zero row or column keeps scale 1); P·B·Q = L·U with complete
 * pivoting, U = [U1 b; 0 d]; adj(U) = det(U1)·[d·U1⁻¹, −U1⁻¹b; 0, 1] (a polynomial in d, so d = 0,
 * rank n − 1, needs nothing special); adj(B) = det(P)det(Q)·Q·adj(U)·L⁻¹·P; adj(a) = 2^(Σe+Σf)·C·adj(B)·R.
 * An exactly zero remaining block before the last step means rank ≤ n − 2: adj(a) = 0.
 */
function adj_(a${ty(': Float64Array')}, n${ty(': number')})${ty(': Float64Array')} {
  const out = new Float64Array(n * n);
  if (!a.every((v) => Number.isFinite(v))) return out.fill(NaN);
  const e = new Float64Array(n);
  const f = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    let big = 0;
    for (let j = 0; j < n; j++) big = Math.max(big, Math.abs(a[i * n + j]));
    e[i] = big === 0 ? 0 : Math.floor(Math.log2(big));
    for (let j = 0; j < n; j++) if (a[i * n + j] !== 0) f[j] = Math.max(f[j], Math.floor(Math.log2(Math.abs(a[i * n + j]))) - e[i]);
  }
  for (let j = 0; j < n; j++) if (f[j] === -Infinity) f[j] = 0;
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = times2_(a[i * n + j], -e[i] - f[j]);
  const rows = new Int32Array(n);
  const cols = new Int32Array(n);
  for (let k = 0; k < n; k++) rows[k] = cols[k] = k;
  let sign = 1;
  for (let k = 0; k < n - 1; k++) {
    let p = k;
    let q = k;
    for (let i = k; i < n; i++) for (let j = k; j < n; j++) if (Math.abs(m[i * n + j]) > Math.abs(m[p * n + q])) [p, q] = [i, j];
    if (m[p * n + q] === 0) return out;
    if (p !== k) {
      for (let j = 0; j < n; j++) [m[k * n + j], m[p * n + j]] = [m[p * n + j], m[k * n + j]];
      [rows[k], rows[p]] = [rows[p], rows[k]];
      sign = -sign;
    }
    if (q !== k) {
      for (let i = 0; i < n; i++) [m[i * n + k], m[i * n + q]] = [m[i * n + q], m[i * n + k]];
      [cols[k], cols[q]] = [cols[q], cols[k]];
      sign = -sign;
    }
    for (let i = k + 1; i < n; i++) {
      const l = (m[i * n + k] /= m[k * n + k]);
      if (l !== 0) for (let j = k + 1; j < n; j++) m[i * n + j] -= l * m[k * n + j];
    }
  }
  // det(U1) = mant·2^shift
  let mant = sign;
  let shift = 0;
  for (let k = 0; k < n; k++) shift += e[k] + f[k];
  for (let k = 0; k < n - 1; k++) {
    mant *= m[k * n + k];
    if (Math.abs(mant) > 2 ** 100 || Math.abs(mant) < 2 ** -100) {
      const s = Math.round(Math.log2(Math.abs(mant)));
      mant = times2_(mant, -s);
      shift += s;
    }
  }
  // L⁻¹ (unit lower)
  const li = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    li[j * n + j] = 1;
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= m[i * n + k] * li[k * n + j];
      li[i * n + j] = s;
    }
  }
  // Row r of M = [d·U1⁻¹, −U1⁻¹b; 0, 1], times L⁻¹, into adj(a).
  const n1 = n - 1;
  const d = m[n1 * n + n1];
  const row = new Float64Array(n);
  const z = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    row.fill(0);
    if (r === n1) row[n1] = 1;
    else {
      z.fill(0);
      z[r] = 1 / m[r * n + r];
      for (let j = r + 1; j < n1; j++) {
        let s = 0;
        for (let k = r; k < j; k++) s += z[k] * m[k * n + j];
        z[j] = -s / m[j * n + j];
      }
      let zb = 0;
      for (let k = r; k < n1; k++) {
        row[k] = d * z[k];
        zb += z[k] * m[k * n + n1];
      }
      row[n1] = -zb;
    }
    for (let c = 0; c < n; c++) {
      let y = 0;
      for (let k = c; k < n; k++) y += row[k] * li[k * n + c];
      out[cols[r] * n + rows[c]] = times2_(mant * y, shift - f[cols[r]] - e[rows[c]]);
    }
  }
  return out;
}`,
  mpow: (ty) => `
/** a·b for n×n row-major matrices. */
function matmul_(a${ty(': Float64Array')}, b${ty(': Float64Array')}, n${ty(': number')})${ty(': Float64Array')} {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < n; p++) {
      const x = a[i * n + p];
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[p * n + j];
    }
  return c;
}

/** a^k (k ≥ 1) of the n×n matrix a by repeated squaring, the bits of k from the top. */
function mpow_(a${ty(': Float64Array')}, n${ty(': number')}, k${ty(': number')})${ty(': Float64Array')} {
  const bits = k.toString(2);
  let r${ty(': Float64Array')} = Float64Array.from(a);
  for (let i = 1; i < bits.length; i++) {
    r = matmul_(r, r, n);
    if (bits[i] === '1') r = matmul_(r, a, n);
  }
  return r;
}`,
  dpow: (ty) => `
/**
 * P(a, k; E_1..E_m), the m-th derivative of a^k in the directions E (the sum over their orders of
 * a^a_0 E a^a_1 ⋯ E a^a_m, exponents summing to k − m), at every batch entry: the coefficient of
 * t_1⋯t_m in (a + t_1 E_1 + … + t_m E_m)^k. That is block (∅, all) of M^k, M the matrix of blocks
 * indexed by the subsets S of the directions with a on the diagonal and E_i at (S, S ∪ {i}). A
 * block (S, T) of a power of M is 0 unless S ⊆ T and depends on T ∖ S alone, so a power is held
 * as one n×n block per subset D = T ∖ S, and M^k is taken by squaring with the subset product
 * (X·Y)[D] = Σ_{D1 ⊆ D} X[D1]·Y[D ∖ D1]: 3^m block products where M·M takes 8^m.
 * dirs[t] holds E_t+1 with \`size\` batch entries per (i, j); the result is n×n×batch… row-major.
 */
function dpow_(a${ty(': Float64Array')}, n${ty(': number')}, k${ty(': number')}, dirs${ty(': { data: Float64Array; size: number }[]')})${ty(': Float64Array')} {
  const m = dirs.length;
  const subsets = 1 << m;
  const total = dirs.reduce((p, d) => p * d.size, 1);
  const out = new Float64Array(n * n * total);
  const at = new Array${ty('<number>')}(m).fill(0);
  for (let b = 0; b < total; b++) {
    for (let t = m - 1, rest = b; t >= 0; t--) {
      at[t] = rest % dirs[t].size;
      rest = Math.floor(rest / dirs[t].size);
    }
    const base = new Array${ty('<Float64Array | null>')}(subsets).fill(null);
    base[0] = a;
    for (let t = 0; t < m; t++) {
      const e = new Float64Array(n * n);
      for (let i = 0; i < n * n; i++) e[i] = dirs[t].data[i * dirs[t].size + at[t]];
      base[1 << t] = e;
    }
    // a^k by squaring, the bits of k from the top (k ≥ 1).
    const bits = k.toString(2);
    let r = base;
    for (let i = 1; i < bits.length; i++) {
      r = subsetProduct_(r, r, n);
      if (bits[i] === '1') r = subsetProduct_(r, base, n);
    }
    const f = r[subsets - 1];
    if (f) for (let i = 0; i < n * n; i++) out[i * total + b] = f[i];
  }
  return out;
}

/** (x·y)[D] = Σ over the subsets D1 of D of x[D1]·y[D ∖ D1], for n×n blocks (null: a zero block). */
function subsetProduct_(x${ty(': (Float64Array | null)[]')}, y${ty(': (Float64Array | null)[]')}, n${ty(': number')})${ty(': (Float64Array | null)[]')} {
  const z = new Array${ty('<Float64Array | null>')}(x.length).fill(null);
  for (let d = 0; d < x.length; d++)
    for (let d1 = d; ; d1 = (d1 - 1) & d) {
      const u = x[d1];
      const v = y[d & ~d1];
      if (u && v) {
        const w = z[d] ?? (z[d] = new Float64Array(n * n));
        for (let i = 0; i < n; i++)
          for (let p = 0; p < n; p++) {
            const c = u[i * n + p];
            if (c !== 0) for (let j = 0; j < n; j++) w[i * n + j] += c * v[p * n + j];
          }
      }
      if (d1 === 0) break;
    }
  return z;
}`,
  sigmoid: (ty) => `
function sigmoid_(x${ty(': number')})${ty(': number')} {
  return 1 / (1 + Math.exp(-x));
}`,
  softplus: (ty) => `
/** log(1 + exp(x)) without overflow. */
function softplus_(x${ty(': number')})${ty(': number')} {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}`,
  logsumexp: (ty) => `
/** log(sum(exp(a))) over every entry, with the largest entry taken out (no overflow). */
function logsumexp_(a${ty(': Float64Array')})${ty(': number')} {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i])) return NaN;
    if (a[i] > m) m = a[i];
  }
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i] - m);
  return m + Math.log(s);
}`,
};
