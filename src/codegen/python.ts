/**
 * Python from a plan: a module with `evaluate(inputs)` and `check_gradient(sizes=None, seed=0)`.
 * One emitter serves the array libraries that share Python's syntax — NumPy here, PyTorch in
 * torch.ts — through a Target that spells what differs (functions, constants, reading inputs,
 * results, helpers). Products read as matrix algebra where they are one (`A @ x`, `A.T @ B`,
 * outer, trace, diagonal, sums, `s[:, None] * X`), a solve where one side is an inverse that is
 * needed nowhere else, an einsum otherwise and for every product of order 3 or more
 * (products.ts).
 *
 * No user text reaches the code except in one-line `#` comments (sanitised) and as string
 * literals written by pyString; identifiers all come from the plan's name allocator.
 */
import type { ElemFn } from '../ir/node.js';
import type { CodeFn, Instr, Output, Plan, Temp } from './plan.js';
import { num } from './literals.js';
import { sumExpr } from './js.js';
import { type Dialect, type PlainOp, plainOp, renderProduct, solvedInverses } from './products.js';
import { checkSpec, pyCheckSpec } from './selfcheck.js';

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

/** A Python tuple of the given items: (), (a,), (a, b). */
export function pyTuple(items: readonly string[]): string {
  return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;
}

/** What a Python array library spells its own way. `like` names a tensor of the result's dtype and device. */
export interface Target {
  /** Comment lines after the header (usage), then the imports. */
  readonly preamble: (plan: Plan) => string[];
  readonly fn: Readonly<Record<CodeFn, (x: string) => string>>;
  readonly dialect: Dialect;
  /** A scalar literal inside an expression. */
  readonly literal: (c: number) => string;
  /**
   * A scalar constant as the operand of a function or a power: an array scalar, so that log(-0.5)
   * and (-0.5)**0.5 are NaN as for any other value (a Python float is refused by torch.log, and
   * its power is complex).
   */
  readonly constant: (c: number, like: string) => string;
  readonly fill: (value: 0 | 1, shape: string, like: string) => string;
  readonly eye: (n: string, like: string) => string;
  /** `name` is a string literal naming the matrix for a singular-matrix error. */
  readonly inv: (a: string, name: string) => string;
  readonly det: (a: string) => string;
  readonly logdet: (a: string, name: string) => string;
  /** log(sum(exp(a))) over every entry, without overflow. */
  readonly logsumexp: (a: string) => string;
  readonly adj: (a: string) => string;
  /** ∂adj(a)/∂a (n×n×n×n), at singular matrices too. */
  readonly adj2: (a: string) => string;
  /** ∂adj2(a)/∂a (n⁶), at singular matrices too. */
  readonly adj3: (a: string) => string;
  /** The helpers (see `helpers`) each matrix function and a solve need. */
  readonly needs: Readonly<Record<'inv' | 'solve' | 'det' | 'logdet' | 'logsumexp' | 'adj' | 'adj2' | 'adj3', readonly string[]>>;
  /** a^k for a constant integer k ≥ 2 (a square matrix). */
  readonly matpow: (a: string, k: number) => string;
  /** vec, kron: a's axes in the order perm, as an array of the given shape. */
  readonly permute: (a: string, perm: string, shape: string) => string;
  /** Lines of evaluate() that read every input into its local. */
  readonly read: (plan: Plan) => string[];
  /** Whether evaluate() itself checks declared symmetry (else only check_inputs does). */
  readonly symmetryInEvaluate: boolean;
  /** A result entry: `expr` computes it; `alias` when it may share memory with an input or another result. */
  readonly result: (expr: string, literal: number | undefined, alias: boolean, like: string) => string;
  /** Module-level code after evaluate(): helpers (those named in `used`) and the self-check. */
  readonly helpers: (plan: Plan, used: ReadonlySet<string>) => string[];
}

const NUMPY_FN: Readonly<Record<CodeFn, (x: string) => string>> = {
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
  logsigmoid: (x) => `-np.logaddexp(0.0, -(${x}))`,
  negsoftplus: (x) => `-np.logaddexp(0.0, ${x})`,
};

const NUMPY_DIALECT: Dialect = {
  trace: (a) => `np.trace(${a})`,
  diagonal: (a) => `np.diag(${a})`,
  sum: (a) => `np.sum(${a})`,
  sumAxis: (a, axis) => `np.sum(${a}, axis=${axis})`,
  outer: (a, b) => `np.outer(${a}, ${b})`,
  einsum: (spec, ops) => `np.einsum("${spec}", ${ops.join(', ')})`,
  // The evaluators' LU and singularity rule (_lu), so a singular matrix is an error, never noise.
  solve: (a, b, name) => `_solve(${a}, ${b}, ${pyString(name)})`,
};

export const NUMPY: Target = {
  preamble: (plan) => {
    const keys = plan.outputs.map((o) => `"${o.key}"`).join(', ');
    return [
      `# Usage: evaluate({${plan.inputs.map((i) => `"${i.name}": ...`).join(', ')}}) returns a dict with`,
      `#   ${keys}: NumPy float64 arrays of those shapes (a scalar is a 0-d array).`,
      '# Inputs: numbers, sequences or NumPy arrays (vectors 1-D, matrices 2-D). Sizes and declared',
      '#   symmetry are checked. Needs NumPy only.',
      '# Self-check: check_gradient(sizes=None, seed=0) compares each derivative with finite differences.',
      'import numpy as np',
    ];
  },
  fn: NUMPY_FN,
  dialect: NUMPY_DIALECT,
  // A NumPy float, so that ** never turns into Python's complex power.
  literal: (c) => `np.float64(${num(c)})`,
  constant: (c) => `np.float64(${num(c)})`,
  fill: (value, shape) => `np.${value === 1 ? 'ones' : 'zeros'}(${shape})`,
  eye: (n) => `np.eye(${n})`,
  inv: (a, name) => `_inv(${a}, ${name})`,
  det: (a) => `_det(${a})`,
  logdet: (a, name) => `_logdet(${a}, ${name})`,
  logsumexp: (a) => `_logsumexp(${a})`,
  adj: (a) => `_adj(${a})`,
  adj2: (a) => `_adj2(${a})`,
  adj3: (a) => `_adj3(${a})`,
  needs: { inv: ['lu', 'solve', 'inv'], solve: ['lu', 'solve'], det: ['lu', 'det'], logdet: ['lu', 'logdet'], logsumexp: ['logsumexp'], adj: ['adj'], adj2: ['adj', 'adj2'], adj3: ['adj', 'adj2', 'adj3'] },
  matpow: (a, k) => `np.linalg.matrix_power(${a}, ${k})`,
  permute: (a, perm, shape) => `np.transpose(${a}, ${perm}).reshape(${shape})`,
  read: (plan) => plan.inputs.map((i) => `${i.local} = _read(inputs, ${pyString(i.name)}, ${i.dims.length})`),
  symmetryInEvaluate: true,
  result: (expr) => `np.array(${expr}, dtype=np.float64)`,
  helpers: (plan, used) => [
    NUMPY_HELPERS.read,
    ...(['check', 'symmetric', 'lu', 'solve', 'inv', 'det', 'logdet', 'logsumexp', 'adj', 'adj2', 'adj3', 'dpow'] as const).filter((h) => used.has(h)).map((h) => NUMPY_HELPERS[h]),
    ...selfCheckLines(plan, NUMPY_SELF_CHECK),
  ],
};

export function emitPython(plan: Plan): string {
  return emitPythonLike(plan, NUMPY);
}

/** The module for a target: header, evaluate(), helpers, self-check. */
export function emitPythonLike(plan: Plan, target: Target): string {
  const lines: string[] = [];
  const used = new Set<string>();
  const need = (what: keyof Target['needs']): void => {
    for (const h of target.needs[what]) used.add(h);
  };
  const errorName = (ins: { op: string; name: string }): string => pyString(`${ins.op}(${ins.name})`);
  const body = (s: string): number => lines.push(s === '' ? '' : '    ' + s);
  const ref = (t: Temp): string => (t.literal !== undefined ? target.literal(t.literal) : t.name);
  const like = plan.inputs[0]!.local;
  /** An operand of a function or a power (see Target.constant). */
  const arg = (t: Temp): string => (t.literal !== undefined ? target.constant(t.literal, like) : t.name);

  for (const h of plan.header) lines.push(`# ${h}`);
  lines.push(...target.preamble(plan), '', '');
  lines.push('def evaluate(inputs):');
  body(`"""${plan.outputs.map((o) => o.key).join(', ')} at the point given by inputs (see the comment above)."""`);
  for (const l of target.read(plan)) body(l);
  for (const b of plan.bindings) body(`${b.size.local} = ${b.input.local}.shape[${b.axis}]`);
  for (const d of plan.derived) {
    const product = d.factors.map((f) => f.local).join(' * ');
    if (d.total) {
      body(`${d.size.local}, rem_ = divmod(${d.total.local}, ${product})`);
      body(`if rem_: raise ValueError(${pyString(`size ${d.total.symbol} must be a multiple of ${d.factors.map((f) => f.symbol).join('·')}`)})`);
    } else if (!d.check) body(`${d.size.local} = ${product}`);
    else body(`if ${d.size.local} != ${product}: raise ValueError(${pyString(`size ${d.size.symbol} must be ${d.factors.map((f) => f.symbol).join('·')}`)})`);
  }
  for (const c of plan.checks) {
    used.add('check');
    body(`_check(${c.input.local}, ${pyString(c.input.name)}, ${pyTuple(c.input.dims.map((d) => d.local))}, ${pyString(c.pattern)})`);
  }
  if (target.symmetryInEvaluate)
    for (const i of plan.inputs)
      if (i.symmetric) {
        used.add('symmetric');
        body(`_symmetric(${i.local}, ${pyString(i.name)})`);
      }

  const ops = new Map<Instr, PlainOp | undefined>();
  for (const ins of plan.body) if (ins.op === 'einsum') ops.set(ins, plainOp(ins.factors, ins.out.dims.length));
  const solved = solvedInverses(plan, ops);
  /** Temporaries that are views of others (a transpose, a diagonal): results copy them. */
  const views = new Set<string>();
  const shapeOf = (t: Temp): string => pyTuple(t.dims.map((d) => d.local));
  for (const ins of plan.body) {
    const out = ins.out.name;
    switch (ins.op) {
      case 'fill':
        body(`${out} = ${target.fill(ins.value, shapeOf(ins.out), like)}`);
        break;
      case 'eye':
        body(`${out} = ${target.eye(ins.out.dims[0]!.local, like)}`);
        break;
      case 'add':
        body(`${out} = ${ins.accumulate ? added(out, sumExpr(ins.terms, (t) => t.name)) : sumExpr(ins.terms, (t) => t.name)}`);
        break;
      case 'elem':
        body(`${out} = ${target.fn[ins.fn](arg(ins.src))}`);
        break;
      case 'pow':
        body(`${out} = ${arg(ins.src)} ** ${ins.exp < 0 ? `(${num(ins.exp)})` : num(ins.exp)}`);
        break;
      case 'powv':
        body(`${out} = ${arg(ins.base)} ** ${ref(ins.exponent)}`);
        break;
      case 'inv':
        // Where every use is one side of a matrix product, the products solve instead.
        if (!solved.has(out)) {
          need('inv');
          body(`${out} = ${target.inv(ins.src.name, errorName(ins))}`);
        }
        break;
      case 'det':
        need('det');
        body(`${out} = ${target.det(ins.src.name)}`);
        break;
      case 'logdet':
        need('logdet');
        body(`${out} = ${target.logdet(ins.src.name, errorName(ins))}`);
        break;
      case 'logsumexp':
        need('logsumexp');
        body(`${out} = ${target.logsumexp(ins.src.name)}`);
        break;
      case 'adj':
        need('adj');
        body(`${out} = ${target.adj(ins.src.name)}`);
        break;
      case 'adj2':
        need('adj2');
        body(`${out} = ${target.adj2(ins.src.name)}`);
        break;
      case 'adj3':
        need('adj3');
        body(`${out} = ${target.adj3(ins.src.name)}`);
        break;
      case 'mpow':
        if (ins.dirs.length === 0) body(`${out} = ${target.matpow(ins.src.name, ins.exp)}`);
        else {
          used.add('dpow');
          body(`${out} = _dpow(${ins.src.name}, ${ins.exp}, [${ins.dirs.map((d) => d.name).join(', ')}])`);
        }
        break;
      case 'einsum': {
        const op = ops.get(ins);
        const product = renderProduct(ins, op, target.dialect, solved, ref);
        if (ins.term) {
          // A term of a sum: out = out + c * product keeps no more than the sum and this product.
          const scaled = sumExpr([{ coef: ins.term.coef, src: { name: product, dims: ins.out.dims } }], (t) => (ins.term!.coef === 1 || SIMPLE.test(t.name) ? t.name : `(${t.name})`));
          body(`${out} = ${ins.term.first ? scaled : added(out, scaled)}`);
          break;
        }
        if (op && (op.k === 'operand' || op.k === 'diagonal') && ins.scalars.length === 0) views.add(out);
        body(`${out} = ${product}`);
        break;
      }
      case 'permute':
        body(`${out} = ${target.permute(ins.src.name, pyTuple(ins.perm.map(String)), shapeOf(ins.out))}`);
        break;
    }
  }
  body('return {');
  for (const o of plan.outputs) body(`    ${pyString(o.key)}: ${result(o, target, ref, views, like)},`);
  body('}');
  if (solved.size > 0) need('solve');
  lines.push(...target.helpers(plan, used));
  return lines.join('\n') + '\n';
}

/** An expression that needs no parentheses as a factor: a name, an item, a call. */
const SIMPLE = /^[\w.]+(\[[^\]]*\])?$|^[\w.]+\([^()]*\)$/;

/** out + expr, with a leading minus of expr folded: out - a + b. */
function added(out: string, expr: string): string {
  return expr.startsWith('-') ? `${out} - ${expr.slice(1)}` : `${out} + ${expr}`;
}

function result(o: Output, target: Target, ref: (t: Temp) => string, views: ReadonlySet<string>, like: string): string {
  return target.result(ref(o.temp), o.temp.literal, o.copy || views.has(o.temp.name), like);
}

/** check_gradient(), its table and its helper; `device` adds torch's device parameter. */
export function selfCheckLines(plan: Plan, helper: string, device = false): string[] {
  const table = pyCheckSpec(checkSpec(plan), pyString);
  return [
    '',
    '',
    `def check_gradient(sizes=None, seed=0${device ? ', device="cpu"' : ''}):`,
    '    """Self-check at a random point (seeded; default sizes unless sizes gives some, e.g. {"n": 5}):',
    '    for each derivative, |D.e - FD| / max(|D.e|, |FD|) over every coordinate direction e of the',
    `    variable, where FD is the central difference (4-point stencil) of the order below along e.${device ? '' : '"""'}`,
    ...(device ? ['    The point is drawn in float64 on the CPU and evaluated on the given device."""'] : []),
    `    return _gradient_errors(_CHECK, sizes, seed${device ? ', device' : ''})`,
    '',
    '',
    `_CHECK = ${table[0]!}`,
    ...table.slice(1),
    helper,
  ];
}

/** _check(a, key, want, pattern): the shape check of the NumPy and the torch modules. */
export const PY_CHECK_HELPER = `

def _check(a, key, want, pattern):
    """Raises unless a has the shape want; pattern names the sizes and where they come from."""
    if tuple(a.shape) == tuple(want):
        return
    if len(want) == 1:
        raise ValueError("%s must have %d entries (%s), got %d" % (key, want[0], pattern, a.shape[0]))
    times = "\\u00d7"
    raise ValueError("%s must be %s (%s), got %s" % (key, times.join(map(str, want)), pattern, times.join(map(str, a.shape))))`;

/**
 * _dpow and _subset_product for NumPy and torch (which spell a few calls differently; torch's note
 * says why it writes nothing in place).
 */
export function pyDpowHelper(lib: { readonly movedim: string; readonly zeros: string; readonly eye: string; readonly note: string }): string {
  return `

def _dpow(a, k, dirs):
    """P(a, k; E_1..E_m), the m-th derivative of a^k in the directions E (the sum over their orders
    of a^a_0 E a^a_1 ... E a^a_m, exponents summing to k - m), at every batch entry (E_t is
    n x n x batch_t; the result n x n x batch_1 x ... x batch_m): the coefficient of t_1...t_m in
    (a + t_1 E_1 + ... + t_m E_m)^k. A power of that sum is held as one n x n block per subset D
    of the directions, the coefficient of the product of the t_i in D (None: a zero block), and
    the k-th power is taken by squaring with _subset_product: 3^m block products where the
    matrix of blocks indexed by the subsets takes 8^m. Each direction keeps its own batch axes,
    which the products broadcast.${lib.note}"""
    n, m = a.shape[0], len(dirs)
    batch = [tuple(d.shape[2:]) for d in dirs]
    shape = tuple(s for b in batch for s in b)
    base, at = [None] * (1 << m), 0
    base[0] = a
    for t, d in enumerate(dirs):
        e = ${lib.movedim}(d, (0, 1), (-2, -1))
        base[1 << t] = e.reshape((1,) * at + batch[t] + (1,) * (len(shape) - at - len(batch[t])) + (n, n))
        at += len(batch[t])
    r = base if k > 0 else [${lib.eye}] + [None] * ((1 << m) - 1)
    for bit in bin(k)[3:]:
        r = _subset_product(r, r)
        if bit == "1":
            r = _subset_product(r, base)
    p = ${lib.zeros} if r[-1] is None else r[-1]
    return ${lib.movedim}(p, (-2, -1), (0, 1))


def _subset_product(x, y):
    """(x y)[D] = the sum over the subsets D1 of D of x[D1] @ y[D - D1], for blocks (None: zero)."""
    z = [None] * len(x)
    for d in range(len(x)):
        d1 = d
        while True:
            u, v = x[d1], y[d & ~d1]
            if u is not None and v is not None:
                z[d] = u @ v if z[d] is None else z[d] + u @ v
            if d1 == 0:
                break
            d1 = (d1 - 1) & d
    return z`;
}

const NUMPY_HELPERS = {
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
  check: PY_CHECK_HELPER,
  symmetric: `

def _symmetric(a, key):
    """Raises unless the square matrix a is symmetric (to a relative 1e-9)."""
    bad = np.abs(a - a.T) > 1e-9 * (np.abs(a) + np.abs(a.T) + 1e-300)
    if np.any(bad):
        i, j = np.argwhere(np.tril(bad, -1))[0]
        raise ValueError("%s is declared symmetric, but entries (%d,%d) and (%d,%d) differ" % (key, i + 1, j + 1, j + 1, i + 1))`,
  lu: `

def _lu(a):
    """LU factorisation P a = L U, pivoting on the largest |a_ic| 2^-e_i (2^e_i the size of row
    i's largest entry). Returns (LU, perm, sign of the permutation), perm[i] the row of a that
    ends up in row i; or None when a is singular to working precision: a pivot is 0 or at most
    32*n*eps times |pivot| + sum |terms subtracted from it| (its rounding level), a rule that no
    scaling of a's rows and columns changes. (A non-finite entry: only an exact zero pivot counts.)"""
    n = a.shape[0]
    big = np.abs(a).max(axis=1) if n > 0 else np.zeros(0)
    if np.any(big == 0):
        return None
    finite = bool(np.all(np.isfinite(a)))
    w = np.ldexp(1.0, np.minimum(1023, -np.floor(np.log2(big))).astype(np.int64)) if finite else np.ones(n)
    m = a.copy()
    size = np.zeros((n, n))
    perm = np.arange(n)
    tol = 32 * n * np.finfo(np.float64).eps if finite else 0.0
    sign = 1.0
    for c in range(n):
        p = c + int(np.argmax(np.abs(m[c:, c]) * w[c:]))
        piv = m[p, c]
        if piv == 0 or abs(piv) <= tol * (abs(piv) + size[p, c]):
            return None
        if p != c:
            m[[c, p]] = m[[p, c]]
            size[[c, p]] = size[[p, c]]
            w[[c, p]] = w[[p, c]]
            perm[[c, p]] = perm[[p, c]]
            sign = -sign
        m[c + 1:, c] /= piv
        t = np.outer(m[c + 1:, c], m[c, c + 1:])
        m[c + 1:, c + 1:] -= t
        size[c + 1:, c + 1:] += np.abs(t)
    return m, perm, sign`,
  inv: `

def _inv(a, name):
    """The inverse of a, from _lu; name says which matrix in the error."""
    return _solve(a, np.eye(a.shape[0]), name)`,
  det: `

def _det(a):
    """det(a) from the pivots, as a mantissa and a binary exponent (no overflow on the way); 0 when singular."""
    lu = _lu(a)
    if lu is None:
        return np.float64(0.0)
    m, _, sign = lu
    mant, shift = np.float64(sign), 0
    for u in np.diag(m):
        mant, s = np.frexp(mant * u)
        shift += int(s)
    return np.ldexp(mant, shift)`,
  logsumexp: `

def _logsumexp(a):
    """log(sum(exp(a))) over every entry, with the largest entry taken out (no overflow)."""
    m = np.max(a)
    if not np.isfinite(m):
        return np.log(np.sum(np.exp(a)))
    return m + np.log(np.sum(np.exp(a - m)))`,
  logdet: `

def _logdet(a, name):
    """log(det(a)) from the pivots' logs: NaN for a negative determinant; name says which matrix in the error."""
    lu = _lu(a)
    if lu is None:
        raise np.linalg.LinAlgError(name + ": the matrix is singular to working precision, so its log-determinant is -inf")
    m, _, sign = lu
    d = np.diag(m)
    if sign * np.prod(np.sign(d)) < 0:
        return np.float64(np.nan)
    return np.sum(np.log(np.abs(d)))`,
  adj2: `

def _adj2(a):
    """adj2(a)[i, j, k, l] = d adj(a)[i, j] / d a[k, l], at singular matrices too: adj(a)[i, j] is
    (-1)^(i+j) times the minor of a without row j and column i, whose derivative by a[k, l]
    (k != j, l != i) is that submatrix's adjugate at (l, k): n^2 adjugates of (n-1) x (n-1) matrices.
    Where a's singular values are within a factor 1000 of each other, Jacobi's identity instead:
    (adj_ij adj_lk - adj_ik adj_lj) / det(a)."""
    n = a.shape[0]
    s = np.linalg.svd(a, compute_uv=False) if np.all(np.isfinite(a)) else np.zeros(n)
    if n > 0 and s[-1] >= 1e-3 * s[0] > 0:
        b = _adj(a)
        return (np.einsum("ij,lk->ijkl", b, b) - np.einsum("ik,lj->ijkl", b, b)) / np.linalg.det(a)
    out = np.zeros((n, n, n, n))
    for i in range(n):
        for j in range(n):
            rows = [k for k in range(n) if k != j]
            cols = [l for l in range(n) if l != i]
            if n > 1:
                out[i, j][np.ix_(rows, cols)] = (-1) ** (i + j) * _adj(a[np.ix_(rows, cols)]).T
    return out`,
  adj3: `

def _adj3(a):
    """adj3(a)[i, j, p, q, r, s] = d adj2(a)[i, j, p, q] / d a[r, s], the third derivative of det, at
    singular matrices too: adj2(a)[i, j, p, q] is (-1)^(i+j) times the adjugate of a without row j
    and column i at (q, p), so adj3 is that submatrix's adj2 at (q, p, r, s) (p, r != j and
    q, s != i; 0 elsewhere): n^2 adj2's of (n-1) x (n-1) matrices."""
    n = a.shape[0]
    out = np.zeros((n,) * 6)
    if n < 3:
        return out
    for i in range(n):
        for j in range(n):
            rows = [k for k in range(n) if k != j]
            cols = [l for l in range(n) if l != i]
            c = _adj2(a[np.ix_(rows, cols)])
            out[i, j][np.ix_(rows, cols, rows, cols)] = (-1) ** (i + j) * c.transpose(1, 0, 2, 3)
    return out`,
  adj: `

def _adj(a):
    """The adjugate of a (a @ adj(a) = det(a) I), at singular matrices too. B = R a C is a
    equilibrated by powers of 2 (a zero row or column keeps scale 1); P B Q = L U with complete
    pivoting, U = [U1 b; 0 d]; adj(U) = det(U1) [d inv(U1), -inv(U1) b; 0, 1] (a polynomial in d,
    so d = 0, rank n - 1, needs nothing special); adj(B) = det(P) det(Q) Q adj(U) inv(L) P;
    adj(a) = 2^(sum e + sum f) C adj(B) R. An exactly zero remaining block before the last step
    means rank <= n - 2: adj(a) = 0."""
    n = a.shape[0]
    if not np.all(np.isfinite(a)):
        return np.full((n, n), np.nan)
    mag = np.abs(a)
    with np.errstate(divide="ignore"):
        ex = np.floor(np.log2(mag))
    e = np.where(mag.max(axis=1) > 0, ex.max(axis=1), 0.0)
    f = (ex - e[:, None]).max(axis=0)
    f = np.where(np.isfinite(f), f, 0.0)
    m = np.ldexp(a, (-e[:, None] - f[None, :]).astype(np.int64))
    rows, cols, sign = np.arange(n), np.arange(n), 1.0
    for k in range(n - 1):
        sub = np.abs(m[k:, k:])
        p, q = np.unravel_index(int(np.argmax(sub)), sub.shape)
        p, q = p + k, q + k
        if m[p, q] == 0:
            return np.zeros((n, n))
        if p != k:
            m[[k, p]] = m[[p, k]]
            rows[[k, p]] = rows[[p, k]]
            sign = -sign
        if q != k:
            m[:, [k, q]] = m[:, [q, k]]
            cols[[k, q]] = cols[[q, k]]
            sign = -sign
        m[k + 1:, k] /= m[k, k]
        m[k + 1:, k + 1:] -= np.outer(m[k + 1:, k], m[k, k + 1:])
    mant, shift = np.float64(sign), int(np.sum(e) + np.sum(f))
    for u in np.diag(m)[:-1]:
        mant, s = np.frexp(mant * u)
        shift += int(s)
    u1 = np.triu(m[:-1, :-1])
    z = np.linalg.inv(u1) if n > 1 else np.zeros((0, 0))
    top = np.hstack([m[-1, -1] * z, -(z @ m[:-1, -1])[:, None]])
    bottom = np.zeros((1, n))
    bottom[0, -1] = 1.0
    y = np.vstack([top, bottom]) @ np.linalg.inv(np.tril(m, -1) + np.eye(n))
    out = np.empty((n, n))
    out[np.ix_(cols, rows)] = mant * y
    return np.ldexp(out, (shift - f[:, None] - e[None, :]).astype(np.int64))`,
  solve: `

def _solve(a, b, name):
    """inv(a) @ b from _lu (the evaluators' singularity rule); name says which matrix in the error."""
    lu = _lu(a)
    if lu is None:
        raise np.linalg.LinAlgError(name + ": the matrix is singular to working precision, so it has no inverse")
    m, perm, _ = lu
    n = a.shape[0]
    x = np.array(b, dtype=np.float64)[perm]
    for i in range(n):
        x[i] -= m[i, :i] @ x[:i]
    for i in range(n - 1, -1, -1):
        x[i] = (x[i] - m[i, i + 1:] @ x[i + 1:]) / m[i, i]
    return x`,
  dpow: pyDpowHelper({ movedim: 'np.moveaxis', zeros: 'np.zeros(shape + (n, n))', eye: 'np.eye(n)', note: '' }),
} as const;

const NUMPY_SELF_CHECK = `

# Central differences: f'(x) ~ (8 (f(x + h) - f(x - h)) - (f(x + 2h) - f(x - 2h))) / 12h.
_STEPS = (-2.0, -1.0, 1.0, 2.0)


def _gradient_errors(spec, sizes, seed):
    """The relative errors that check_gradient returns."""
    dims = _sizes(spec, sizes)
    rng = np.random.default_rng(seed)
    point = {}
    for name, syms, symmetric, lo, hi, signed, dominant in spec["inputs"]:
        point[name] = _draw(rng, tuple(dims[s] for s in syms), symmetric, lo, hi, signed, dominant)
    keys = spec["keys"]
    base = evaluate(point)
    x = point[spec["wrt"]]
    # Per step (h and h/16: where the function curves fast, as near a pole, the smaller step is
    # right) and derivative: |D.e - FD|^2, |D.e|^2, |FD|^2, and what rounding cannot tell from 0,
    # 1e-8 (1 + |f|) / h per entry of the function differenced.
    sums = [[[0.0, 0.0, 0.0, 0.0] for _ in keys] for _ in range(2)]
    for e in _directions(x.shape, spec["wrt_symmetric"]):
        h0 = 1e-3 * max(1.0, float(np.max(np.abs(x[e != 0]))))
        for step, h in enumerate((h0, h0 / 16)):
            # Differences first, so that a constant is exactly 0.
            outs = []
            for o in _STEPS:
                moved = dict(point)
                moved[spec["wrt"]] = x + o * h * e
                outs.append(evaluate(moved))
            for k in range(1, len(keys)):
                m2, m1, p1, p2 = [np.reshape(r[keys[k - 1]], -1) for r in outs]
                fd = (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h)
                exact = np.reshape(base[keys[k]], (-1, e.size)) @ np.reshape(e, -1)
                s = sums[step][k]
                s[0] += float(np.sum((exact - fd) ** 2))
                s[1] += float(np.sum(exact ** 2))
                s[2] += float(np.sum(fd ** 2))
                s[3] += float(np.sum((1e-8 * (1.0 + np.abs(np.reshape(base[keys[k - 1]], -1))) / h) ** 2))
    return {keys[k]: _best(_ratio(sums[0][k]), _ratio(sums[1][k])) for k in range(1, len(keys))}


def _sizes(spec, sizes):
    """The default sizes with those given in sizes."""
    dims = dict(spec["sizes"])
    for key, value in (sizes or {}).items():
        if key not in dims:
            raise ValueError("unknown size %s: the sizes are %s" % (key, ", ".join(dims)))
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError("size %s must be a whole number >= 1, got %r" % (key, value))
        dims[key] = int(value)
    return dims


def _best(a, b):
    """The smaller of the two steps' errors; NaN if either is."""
    return float("nan") if a != a or b != b else min(a, b)


def _ratio(s):
    """|D.e - FD| / max(|D.e|, |FD|, rounding's floor) from the sums of squares; 0 where all are 0."""
    norm = max(s[1], s[2], s[3]) ** 0.5
    if norm != norm or s[0] != s[0]:
        return float("nan")
    return 0.0 if norm == 0 else s[0] ** 0.5 / norm


def _directions(shape, symmetric):
    """Unit directions of the variable: e_a, or e_ij + e_ji (i >= j) for a symmetric matrix."""
    size = int(np.prod(shape))
    if symmetric:
        for i in range(shape[0]):
            for j in range(i + 1):
                e = np.zeros(shape)
                e[i, j] = e[j, i] = 1.0
                yield e
    else:
        for a in range(size):
            e = np.zeros(size)
            e[a] = 1.0
            yield e.reshape(shape)


def _draw(rng, shape, symmetric, lo, hi, signed, dominant):
    """A random variable of the given shape from its domain."""
    a = np.asarray(rng.uniform(lo, hi, shape), dtype=np.float64)
    if signed:
        a = a * rng.choice((-1.0, 1.0), shape)
    if dominant:
        # Strictly diagonally dominant with a positive diagonal: invertible, positive determinant.
        a = a + (shape[0] + 1) * max(abs(lo), abs(hi)) * np.eye(shape[0])
    if symmetric:
        a = np.tril(a) + np.tril(a, -1).T
    return a`;
