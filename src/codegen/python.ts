/**
 * Python from a plan: a module with one function `evaluate(inputs)` that needs only NumPy.
 * Products read as matrix algebra where they are one (`A @ x`, `A.T @ B`, `np.outer(u, v)`,
 * `s[:, None] * X`, `np.trace(A)`, `np.diag(A)`, `np.sum(x)`); everything else, and every product
 * with an operand or result of order 3 or more, is an `np.einsum`.
 *
 * No user text reaches the code except in one-line `#` comments (sanitised) and as string
 * literals written by pyString; identifiers all come from the plan's name allocator.
 */
import type { ElemFn } from '../ir/node.js';
import { unsupported } from '../errors.js';
import type { Instr, Operand, Plan, Temp } from './plan.js';
import { num, sumExpr } from './js.js';

/** A Python string literal: double-quoted, with every character outside printable ASCII escaped. */
export function pyString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c <= 0xff) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c <= 0xffff) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + '"';
}

const PY_FN: Readonly<Record<ElemFn, (x: string) => string>> = {
  sin: (x) => `np.sin(${x})`,
  cos: (x) => `np.cos(${x})`,
  tan: (x) => `np.tan(${x})`,
  arcsin: (x) => `np.arcsin(${x})`,
  arccos: (x) => `np.arccos(${x})`,
  arctan: (x) => `np.arctan(${x})`,
  exp: (x) => `np.exp(${x})`,
  log: (x) => `np.log(${x})`,
  tanh: (x) => `np.tanh(${x})`,
  abs: (x) => `np.abs(${x})`,
  sign: (x) => `np.sign(${x})`,
  relu: (x) => `np.maximum(${x}, 0.0)`,
  sigmoid: (x) => `1.0 / (1.0 + np.exp(-${x}))`,
  softplus: (x) => `np.logaddexp(0.0, ${x})`,
};

type Helper = 'check' | 'symmetric' | 'logdet';

export function emitPython(plan: Plan): string {
  const lines: string[] = [];
  const used = new Set<Helper>();
  const body = (s: string): number => lines.push(s === '' ? '' : '    ' + s);
  /** A scalar literal as a NumPy float, so that ** never turns into Python's complex power. */
  const ref = (t: Temp): string => (t.literal !== undefined ? `np.float64(${num(t.literal)})` : t.name);

  for (const h of plan.header) lines.push(`# ${h}`);
  const keys = plan.outputs.map((o) => o.key);
  lines.push(`# Usage: evaluate({${plan.inputs.map((i) => `"${i.name}": ...`).join(', ')}}) returns a dict with`);
  lines.push(`#   ${keys.map((k) => `"${k}"`).join(', ')}: NumPy float64 arrays of those shapes (a scalar is a 0-d array).`);
  lines.push('# Inputs: numbers, sequences or NumPy arrays (vectors 1-D, matrices 2-D). Sizes and declared');
  lines.push('#   symmetry are checked. Needs NumPy only.');
  lines.push('import numpy as np');
  lines.push('');
  lines.push('');
  lines.push('def evaluate(inputs):');
  body(`"""${keys.join(', ')} at the point given by inputs (see the comment above)."""`);
  for (const i of plan.inputs) body(`${i.local} = _read(inputs, ${pyString(i.name)}, ${i.dims.length})`);
  for (const b of plan.bindings) body(`${b.size.local} = ${b.input.local}.shape[${b.axis}]`);
  for (const d of plan.derived) {
    const product = d.factors.map((f) => f.local).join(' * ');
    if (!d.check) body(`${d.size.local} = ${product}`);
    else body(`if ${d.size.local} != ${product}: raise ValueError(${pyString(`size ${d.size.symbol} must be ${d.factors.map((f) => f.symbol).join('·')}`)})`);
  }
  for (const c of plan.checks) {
    used.add('check');
    const want = c.input.dims.map((d) => d.local);
    body(`_check(${c.input.local}, ${pyString(c.input.name)}, (${want.join(', ')}${want.length === 1 ? ',' : ''}), ${pyString(c.pattern)})`);
  }
  for (const i of plan.inputs)
    if (i.symmetric) {
      used.add('symmetric');
      body(`_symmetric(${i.local}, ${pyString(i.name)})`);
    }
  const shapeTuple = (t: Temp): string => `(${t.dims.map((d) => d.local).join(', ')}${t.dims.length === 1 ? ',' : ''})`;
  for (const ins of plan.body) {
    const out = ins.out.name;
    switch (ins.op) {
      case 'fill':
        body(`${out} = np.${ins.value === 1 ? 'ones' : 'zeros'}(${shapeTuple(ins.out)})`);
        break;
      case 'eye':
        body(`${out} = np.eye(${ins.out.dims[0]!.local})`);
        break;
      case 'add':
        body(`${out} = ${sumExpr(ins.terms, (t) => t.name)}`);
        break;
      case 'elem':
        body(`${out} = ${PY_FN[ins.fn](ref(ins.src))}`);
        break;
      case 'pow':
        body(`${out} = ${ref(ins.src)} ** ${pow(ins.exp)}`);
        break;
      case 'powv':
        body(`${out} = ${ref(ins.base)} ** ${ref(ins.exponent)}`);
        break;
      case 'inv':
        body(`${out} = np.linalg.inv(${ins.src.name})`);
        break;
      case 'det':
        body(`${out} = np.linalg.det(${ins.src.name})`);
        break;
      case 'logdet':
        used.add('logdet');
        body(`${out} = _logdet(${ins.src.name})`);
        break;
      case 'einsum':
        body(`${out} = ${product(ins, ref)}`);
        break;
      case 'permute':
        body(`${out} = np.transpose(${ins.src.name}, (${ins.perm.join(', ')},)).reshape(${shapeTuple(ins.out)})`);
        break;
    }
  }
  body('return {');
  for (const o of plan.outputs) body(`    ${pyString(o.key)}: np.array(${ref(o.temp)}, dtype=np.float64),`);
  body('}');
  lines.push(HELPERS.read);
  for (const h of ['check', 'symmetric', 'logdet'] as const) if (used.has(h)) lines.push(HELPERS[h]);
  return lines.join('\n') + '\n';
}

function pow(e: number): string {
  return e < 0 ? `(${num(e)})` : num(e);
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function product(ins: Instr & { op: 'einsum' }, ref: (t: Temp) => string): string {
  const r = ins.out.dims.length;
  const scal = ins.scalars.map(ref);
  if (ins.factors.length === 0) return scal.join(' * ');
  const core = plainProduct(ins.factors, r) ?? einsumCall(ins.factors, r, ins.labelDims.length);
  if (scal.length === 0) return core;
  return `${scal.join(' * ')} * ${/^[\w.]+(\[[^\]]*\])?$|^np\.\w+\([^()]*\)$/.test(core) ? core : `(${core})`}`;
}

function einsumCall(factors: readonly Operand[], r: number, nlabels: number): string {
  if (nlabels > LETTERS.length) throw unsupported(`a product with ${nlabels} indices is beyond np.einsum's ${LETTERS.length} subscripts`);
  const sub = (ls: readonly number[]): string => ls.map((l) => LETTERS[l]).join('');
  const spec = `${factors.map((f) => sub(f.labels)).join(',')}->${sub(Array.from({ length: r }, (_, i) => i))}`;
  return `np.einsum("${spec}", ${factors.map((f) => f.src.name).join(', ')})`;
}

/** The operand with its axes in the order of `want` (labels), where that is the identity or a transpose. */
function oriented(f: Operand, want: readonly number[]): string | undefined {
  const ls = f.labels;
  if (ls.length !== want.length) return undefined;
  if (ls.every((l, i) => l === want[i])) return f.src.name;
  if (ls.length === 2 && ls[0] === want[1] && ls[1] === want[0]) return `${f.src.name}.T`;
  return undefined;
}

/** The product in matrix notation where it is a plain matrix product, or undefined. */
function plainProduct(factors: readonly Operand[], r: number): string | undefined {
  if (r > 2 || factors.some((f) => f.labels.length > 2)) return undefined;
  const outLabels = Array.from({ length: r }, (_, i) => i);
  const distinct = (f: Operand): boolean => new Set(f.labels).size === f.labels.length;
  if (factors.length === 1) {
    const f = factors[0]!;
    const name = f.src.name;
    if (!distinct(f)) {
      if (r === 0) return `np.trace(${name})`;
      if (r === 1) return `np.diag(${name})`;
      return undefined;
    }
    const summed = f.labels.filter((l) => l >= r);
    if (summed.length === 0) return oriented(f, outLabels);
    if (r === 0) return `np.sum(${name})`;
    if (f.labels.length === 2 && r === 1) return `np.sum(${name}, axis=${f.labels.indexOf(summed[0]!)})`;
    return undefined;
  }
  if (factors.length !== 2) return undefined;
  const [a, b] = factors as [Operand, Operand];
  if (!distinct(a) || !distinct(b)) return undefined;
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const summed = [...new Set([...a.labels, ...b.labels])].filter((l) => l >= r);
  if (summed.length === 0) {
    if (shared.length === a.labels.length && shared.length === b.labels.length) {
      const x = oriented(a, outLabels);
      const y = oriented(b, outLabels);
      return x && y ? `${x} * ${y}` : undefined;
    }
    if (shared.length === 0 && a.labels.length === 1 && b.labels.length === 1)
      return a.labels[0] === 0 ? `np.outer(${a.src.name}, ${b.src.name})` : `np.outer(${b.src.name}, ${a.src.name})`;
    // A vector scaling the rows or columns of a matrix: s[:, None] * X, X * s.
    const [big, small] = a.labels.length === 2 && b.labels.length === 1 ? [a, b] : b.labels.length === 2 && a.labels.length === 1 ? [b, a] : [];
    if (big && small && shared.length === 1) {
      const m = oriented(big, outLabels);
      if (!m) return undefined;
      return small.labels[0] === 0 ? `${small.src.name}[:, None] * ${m}` : `${m} * ${small.src.name}`;
    }
    return undefined;
  }
  if (summed.length === 1 && shared.length === 1 && shared[0] === summed[0]) {
    const k = summed[0]!;
    const ao = a.labels.filter((l) => l !== k);
    const bo = b.labels.filter((l) => l !== k);
    // A matrix times a vector reads best matrix first: A @ x, A.T @ x.
    if (r === 1 && a.labels.length === 1 && b.labels.length === 2) {
      const m = oriented(b, [0, k]);
      return m ? `${m} @ ${a.src.name}` : undefined;
    }
    if (r === 1 && a.labels.length === 2 && b.labels.length === 1) {
      const m = oriented(a, [0, k]);
      return m ? `${m} @ ${b.src.name}` : undefined;
    }
    const order = [...ao, ...bo];
    if (order.every((l, i) => l === i)) {
      const x = oriented(a, [...ao, k]);
      const y = oriented(b, [k, ...bo]);
      return x && y ? `${x} @ ${y}` : undefined;
    }
    const x = oriented(b, [...bo, k]);
    const y = oriented(a, [k, ...ao]);
    return x && y ? `${x} @ ${y}` : undefined;
  }
  return undefined;
}

const HELPERS: Readonly<Record<Helper | 'read', string>> = {
  read: `

def _read(inputs, key, rank):
    """inputs[key] as a float64 array of the given rank (a copy: inputs are never modified)."""
    try:
        value = inputs[key]
    except (KeyError, IndexError, TypeError):
        raise ValueError("missing input " + key) from None
    a = np.array(value, dtype=np.float64)
    if a.ndim != rank:
        if a.ndim == 0:
            got = "a scalar"
        elif a.ndim == 1:
            got = "a vector of %d entries" % a.shape[0]
        else:
            got = "a " + "\\u00d7".join(str(d) for d in a.shape) + " array"
        raise ValueError(key + " must be " + ("a scalar", "a vector", "a matrix")[rank] + ", got " + got)
    if not np.all(np.isfinite(a)):
        raise ValueError(key + ": entries must be finite numbers")
    return a`,
  check: `

def _check(a, key, want, pattern):
    """Raises unless a has the shape want; pattern names the sizes and where they come from."""
    if tuple(a.shape) == tuple(want):
        return
    if len(want) == 1:
        raise ValueError("%s must have %d entries (%s), got %d" % (key, want[0], pattern, a.shape[0]))
    times = "\\u00d7"
    raise ValueError("%s must be %s (%s), got %s" % (key, times.join(map(str, want)), pattern, times.join(map(str, a.shape))))`,
  symmetric: `

def _symmetric(a, key):
    """Raises unless the square matrix a is symmetric (to a relative 1e-9)."""
    bad = np.abs(a - a.T) > 1e-9 * (np.abs(a) + np.abs(a.T) + 1e-300)
    if np.any(bad):
        i, j = np.argwhere(np.tril(bad, -1))[0]
        raise ValueError("%s is declared symmetric, but entries (%d,%d) and (%d,%d) differ" % (key, i + 1, j + 1, j + 1, i + 1))`,
  logdet: `

def _logdet(a):
    """log(det(a)): -inf for a singular matrix, NaN for a negative determinant."""
    sign, logabs = np.linalg.slogdet(a)
    if sign > 0:
        return logabs
    return np.float64(-np.inf) if sign == 0 else np.float64(np.nan)`,
};
