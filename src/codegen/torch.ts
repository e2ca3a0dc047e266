/**
 * PyTorch from a plan: the Python emitter (python.ts) with torch's spellings. What makes it a
 * torch module rather than NumPy with another prefix:
 *
 * - Device and dtype come from the inputs: every tensor stays where it is (tensors on different
 *   devices are an error, never a copy), the first floating-point tensor sets the dtype (float32
 *   and float64 alike), and numbers, sequences and NumPy arrays become tensors of that dtype on
 *   that device. Constants are made on the device (torch.ones/eye/full with dtype and device).
 * - evaluate() inspects shapes only, never values: no .item(), no data-dependent branch, so it
 *   makes no host–device round trip and runs under vmap (functorch.vmap on torch 1.13,
 *   torch.func.vmap from 2.0) and torch.compile. Finite entries and declared symmetry, which
 *   need the values, are checked by check_inputs(inputs), called separately.
 * - Products are torch.einsum / @ / torch.linalg.solve (an inverse is formed only where it is
 *   used otherwise than as one side of a matrix product); diagonals are torch.diagonal (torch.diag
 *   of a vector and of a matrix differ, which vmap cannot tell apart).
 * - Results are tensors; one that could alias an input or another result (an input returned, a
 *   transpose or diagonal view) is cloned.
 */
import type { ElemFn } from '../ir/node.js';
import type { CodeFn, Plan } from './plan.js';
import { num } from './literals.js';
import { type Target, PY_CHECK_HELPER, emitPythonLike, pyDpowHelper, pyString, pyTuple, selfCheckLines } from './python.js';

const TORCH_FN: Readonly<Record<CodeFn, (x: string) => string>> = {
  sin: (x) => `torch.sin(${x})`,
  cos: (x) => `torch.cos(${x})`,
  tan: (x) => `torch.tan(${x})`,
  arcsin: (x) => `torch.asin(${x})`,
  arccos: (x) => `torch.acos(${x})`,
  arctan: (x) => `torch.atan(${x})`,
  exp: (x) => `torch.exp(${x})`,
  log: (x) => `torch.log(${x})`,
  tanh: (x) => `torch.tanh(${x})`,
  abs: (x) => `torch.abs(${x})`,
  sign: (x) => `torch.sign(${x})`,
  relu: (x) => `torch.relu(${x})`,
  sigmoid: (x) => `torch.sigmoid(${x})`,
  // log(1 + e^x) without overflow and exactly (F.softplus returns x itself above a threshold).
  softplus: (x) => `torch.clamp(${x}, min=0) + torch.log1p(torch.exp(-torch.abs(${x})))`,
  // log(sigmoid(x)) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x), finite where sigmoid(x) is 0 or 1.
  logsigmoid: (x) => `torch.clamp(${x}, max=0) - torch.log1p(torch.exp(-torch.abs(${x})))`,
  negsoftplus: (x) => `-(torch.clamp(${x}, min=0) + torch.log1p(torch.exp(-torch.abs(${x}))))`,
};

/** A float literal: Python's float keeps the tensor's dtype (float32 stays float32). */
function literal(c: number): string {
  const s = num(c);
  const f = /^-?\d+$/.test(s) ? `${s}.0` : s;
  return c < 0 ? `(${f})` : f;
}

const on = (like: string): string => `dtype=${like}.dtype, device=${like}.device`;

export const TORCH: Target = {
  preamble: (plan) => {
    const keys = plan.outputs.map((o) => `"${o.key}"`).join(', ');
    return [
      `# Usage: evaluate({${plan.inputs.map((i) => `"${i.name}": ...`).join(', ')}}) returns a dict with`,
      `#   ${keys}: torch tensors of those shapes (a scalar is a 0-d tensor).`,
      '# Inputs: tensors (vectors 1-D, matrices 2-D), numbers, sequences or NumPy arrays. The result has the',
      '#   device of the input tensors and the dtype of the first floating-point one (float64 on the CPU',
      '#   if no input is a tensor); nothing is copied between devices. evaluate() checks shapes only, so',
      '#   it runs under vmap and torch.compile; check_inputs(inputs) checks finite entries and declared',
      '#   symmetry (it reads the values). Needs PyTorch (1.13 or later).',
      '# Self-check: check_gradient(sizes=None, seed=0) compares each derivative with finite differences.',
      'import torch',
    ];
  },
  fn: TORCH_FN,
  dialect: {
    trace: (a) => `torch.trace(${a})`,
    diagonal: (a) => `torch.diagonal(${a})`,
    sum: (a) => `torch.sum(${a})`,
    sumAxis: (a, axis) => `torch.sum(${a}, dim=${axis})`,
    outer: (a, b) => `torch.outer(${a}, ${b})`,
    einsum: (spec, ops) => `torch.einsum("${spec}", ${ops.join(', ')})`,
    solve: (a, b) => `torch.linalg.solve(${a}, ${b})`,
  },
  literal,
  constant: (c, like) => `torch.full((), ${literal(c)}, ${on(like)})`,
  fill: (value, shape, like) => `torch.${value === 1 ? 'ones' : 'zeros'}(${shape}, ${on(like)})`,
  eye: (n, like) => `torch.eye(${n}, ${on(like)})`,
  inv: (a) => `torch.linalg.inv(${a})`,
  permute: (a, perm, shape) => `${a}.permute(${perm}).reshape(${shape})`,
  det: (a) => `torch.linalg.det(${a})`,
  // NaN for a negative determinant, -inf for a singular matrix, as log(det(a)).
  logdet: (a) => `torch.logdet(${a})`,
  logsumexp: (a) => `torch.logsumexp(${a}.reshape(-1), 0)`,
  matpow: (a, k) => `torch.linalg.matrix_power(${a}, ${k})`,
  adj: (a) => `_adj(${a})`,
  adj2: (a) => `_adj2(${a})`,
  adj3: (a) => `_adj3(${a})`,
  // torch.linalg decides singularity itself (inv and solve raise at an exactly singular matrix).
  needs: { inv: [], solve: [], det: [], logdet: [], logsumexp: [], adj: ['adj'], adj2: ['adj', 'adj2'], adj3: ['adj', 'adj2', 'adj3'] },
  read: (plan) => {
    const locals = plan.inputs.map((i) => i.local);
    return [`${locals.join(', ')}${locals.length === 1 ? ',' : ''} = _read(inputs, ${readSpec(plan)})`];
  },
  symmetryInEvaluate: false,
  result: (expr, lit, alias, like) =>
    lit !== undefined ? `torch.full((), ${literal(lit)}, ${on(like)})` : alias ? `${expr}.clone()` : expr,
  helpers: (plan, used) => [
    TORCH_HELPERS.read,
    ...(used.has('check') ? [TORCH_HELPERS.check] : []),
    ...(used.has('dpow') ? [TORCH_HELPERS.dpow] : []),
    ...(used.has('adj') ? [TORCH_HELPERS.adj] : []),
    ...(used.has('adj2') ? [TORCH_HELPERS.adj2] : []),
    ...(used.has('adj3') ? [TORCH_HELPERS.adj3] : []),
    checkInputs(plan),
    TORCH_HELPERS.values,
    ...selfCheckLines(plan, TORCH_SELF_CHECK, true),
  ],
};

export function emitTorch(plan: Plan): string {
  return emitPythonLike(plan, TORCH);
}

/** ((key, rank), …): what _read takes. */
function readSpec(plan: Plan): string {
  return pyTuple(plan.inputs.map((i) => `(${pyString(i.name)}, ${i.dims.length})`));
}

/** check_inputs(): the value checks evaluate() leaves out. */
function checkInputs(plan: Plan): string {
  const symmetric = plan.inputs.filter((i) => i.symmetric).map((i) => pyString(i.name));
  return `

def check_inputs(inputs):
    """Raises ValueError unless every input is finite and every matrix declared symmetric is
    symmetric (to a relative 1e-9). It reads the values (a device-to-host transfer for a GPU tensor),
    so evaluate() leaves it out; call it where inputs come from outside."""
    values = _read(inputs, ${readSpec(plan)})
    _check_values(values, ${readSpec(plan)}, ${pyTuple(symmetric)})`;
}

const TORCH_HELPERS = {
  adj2: `

def _minors(a):
    """subs[..., i, j] = a without row j and column i (batched over a's leading axes), and pos:
    pos[j, k] is the place of row k among the rows without j, n - 1 (a zero pad) for k = j."""
    n = a.shape[-1]
    ar = torch.arange(n, device=a.device)
    keep = torch.stack([torch.cat([ar[:j], ar[j + 1:]]) for j in range(n)])
    pos = torch.where(ar[None, :] < ar[:, None], ar[None, :], ar[None, :] - 1)
    pos = torch.where(ar[None, :] == ar[:, None], torch.full_like(pos, n - 1), pos)
    sign = (1 - 2 * ((ar[:, None] + ar[None, :]) % 2)).to(a.dtype)
    return a[..., keep[None, :, :, None], keep[:, None, None, :]], pos, sign, ar

def _adj2(a):
    """adj2(a)[i, j, k, l] = d adj(a)[i, j] / d a[k, l], also at singular matrices: adj(a)[i, j] is
    (-1)^(i+j) times the minor of a without row j and column i, whose derivative by a[k, l]
    (k != j, l != i) is that submatrix's adjugate at (l, k). The n^2 submatrices are gathered and
    their adjugates taken at once (no in-place writes, so that it runs under vmap); batched over
    a's leading axes."""
    n = a.shape[-1]
    if n == 1:
        return torch.zeros_like(a)[..., None, None]
    subs, pos, sign, ar = _minors(a)
    # b[..., i, j, r, c] = adj(subs[..., i, j])[c, r], 0 at r or c = n - 1
    b = torch.nn.functional.pad(_adj(subs).transpose(-2, -1), (0, 1, 0, 1))
    out = b[..., ar[:, None, None, None], ar[None, :, None, None], pos[None, :, :, None], pos[:, None, None, :]]
    return sign[:, :, None, None] * out`,
  adj3: `

def _adj3(a):
    """adj3(a)[i, j, p, q, r, s] = d adj2(a)[i, j, p, q] / d a[r, s], the third derivative of det, at
    singular matrices too: adj2(a)[i, j, p, q] is (-1)^(i+j) times the adjugate of a without row j
    and column i at (q, p), so adj3 is that submatrix's adj2 at (q, p, r, s) (p, r != j and
    q, s != i; 0 elsewhere). The n^2 submatrices' adj2 at once, as in _adj2."""
    n = a.shape[-1]
    if n < 3:
        return torch.zeros(a.shape[:-2] + (n,) * 6, dtype=a.dtype, device=a.device)
    subs, pos, sign, ar = _minors(a)
    c = torch.nn.functional.pad(_adj2(subs), (0, 1) * 4)
    i = ar[:, None, None, None, None, None]
    j = ar[None, :, None, None, None, None]
    p = pos[j, ar[None, None, :, None, None, None]]
    q = pos[i, ar[None, None, None, :, None, None]]
    r = pos[j, ar[None, None, None, None, :, None]]
    s = pos[i, ar[None, None, None, None, None, :]]
    return sign[:, :, None, None, None, None] * c[..., i, j, q, p, r, s]`,
  adj: `

def _adj(a):
    """The adjugate (a @ adj(a) = det(a) I), also at singular matrices, from the SVD a = U S Vh:
    adj(a) = det(Vh) det(U) Vh^T diag(prod_{j != i} s_j) U^T, since adj(XY) = adj(Y) adj(X) and
    adj(Q) = det(Q) Q^T for an orthogonal Q. Any device and dtype; batched over leading axes."""
    u, s, vh = torch.linalg.svd(a)
    ones = torch.ones_like(s[..., :1])
    before = torch.cumprod(torch.cat([ones, s[..., :-1]], dim=-1), dim=-1)
    after = torch.flip(torch.cumprod(torch.cat([ones, torch.flip(s[..., 1:], dims=[-1])], dim=-1), dim=-1), dims=[-1])
    scale = (torch.linalg.det(u) * torch.linalg.det(vh))[..., None]
    return (vh.transpose(-2, -1) * (scale * before * after)[..., None, :]) @ u.transpose(-2, -1)`,
  read: `

def _read(inputs, spec):
    """The inputs named in spec ((key, rank), ...) as tensors on one device with one floating dtype:
    those of the input tensors (the dtype of the first floating-point one); float64 on the CPU if
    none is a tensor. Tensors on different devices are an error: nothing is copied between devices."""
    values = []
    for key, rank in spec:
        try:
            values.append(inputs[key])
        except (KeyError, IndexError, TypeError):
            raise ValueError("missing input " + key) from None
    tensors = [(key, v) for (key, _), v in zip(spec, values) if torch.is_tensor(v)]
    device = tensors[0][1].device if tensors else torch.device("cpu")
    floats = [(key, v.dtype) for key, v in tensors if v.is_floating_point()]
    dtype = floats[0][1] if floats else torch.float64
    out = []
    for (key, rank), v in zip(spec, values):
        if torch.is_tensor(v):
            if v.device != device:
                raise ValueError("%s is on %s, but %s is on %s: put the inputs on one device" % (key, v.device, tensors[0][0], device))
            if v.is_complex():
                raise ValueError(key + ": complex entries are not supported")
            if v.is_floating_point() and v.dtype != dtype:
                raise ValueError("%s is %s, but %s is %s: pass the inputs in one dtype" % (key, v.dtype, floats[0][0], dtype))
            a = v.to(dtype)
        else:
            try:
                a = torch.as_tensor(v, dtype=dtype, device=device)
            except (TypeError, ValueError, RuntimeError):
                raise ValueError(key + ": expected a tensor, a number, a sequence or a NumPy array") from None
        if a.dim() != rank:
            if a.dim() == 0:
                got = "a scalar"
            elif a.dim() == 1:
                got = "a vector of %d entries" % a.shape[0]
            else:
                got = "a " + "\\u00d7".join(str(d) for d in a.shape) + " array"
            raise ValueError(key + " must be " + ("a scalar", "a vector", "a matrix")[rank] + ", got " + got)
        out.append(a)
    return out`,
  // The same shape check as the NumPy module's (a.shape is a tuple there, a torch.Size here).
  check: PY_CHECK_HELPER,
  dpow: pyDpowHelper({
    movedim: 'torch.movedim',
    zeros: 'torch.zeros(shape + (n, n), dtype=a.dtype, device=a.device)',
    eye: 'torch.eye(n, dtype=a.dtype, device=a.device)',
    note: ' No in-place writes, so that it runs\n    under vmap.',
  }),
  values: `

def _check_values(values, spec, symmetric):
    """Raises unless every value is finite and those named in symmetric are symmetric."""
    for a, (key, _) in zip(values, spec):
        if not bool(torch.isfinite(a).all()):
            raise ValueError(key + ": entries must be finite numbers")
        if key in symmetric:
            bad = torch.abs(a - a.T) > 1e-9 * (torch.abs(a) + torch.abs(a.T) + 1e-300)
            if bool(bad.any()):
                i, j = [int(v) for v in torch.nonzero(torch.tril(bad, -1))[0]]
                raise ValueError("%s is declared symmetric, but entries (%d,%d) and (%d,%d) differ" % (key, i + 1, j + 1, j + 1, i + 1))`,
} as const;

const TORCH_SELF_CHECK = `

# Central differences: f'(x) ~ (8 (f(x + h) - f(x - h)) - (f(x + 2h) - f(x - 2h))) / 12h.
_STEPS = (-2.0, -1.0, 1.0, 2.0)


def _gradient_errors(spec, sizes, seed, device="cpu"):
    """The relative errors that check_gradient returns (float64, on the given device)."""
    dims = _sizes(spec, sizes)
    gen = torch.Generator().manual_seed(seed)
    point = {}
    for name, syms, symmetric, lo, hi, signed, dominant in spec["inputs"]:
        point[name] = _draw(gen, tuple(dims[s] for s in syms), symmetric, lo, hi, signed, dominant).to(device)
    keys = spec["keys"]
    base = evaluate(point)
    x = point[spec["wrt"]]
    # Per step (h and h/16: where the function curves fast, as near a pole, the smaller step is
    # right) and derivative: |D.e - FD|^2, |D.e|^2, |FD|^2, and what rounding cannot tell from 0,
    # 1e-8 (1 + |f|) / h per entry of the function differenced.
    sums = [[[0.0, 0.0, 0.0, 0.0] for _ in keys] for _ in range(2)]
    for e in _directions(tuple(x.shape), spec["wrt_symmetric"]):
        e = e.to(device)
        h0 = 1e-3 * max(1.0, float(torch.max(torch.abs(x[e != 0]))))
        for step, h in enumerate((h0, h0 / 16)):
            # Differences first, so that a constant is exactly 0.
            outs = []
            for o in _STEPS:
                moved = dict(point)
                moved[spec["wrt"]] = x + o * h * e
                outs.append(evaluate(moved))
            for k in range(1, len(keys)):
                m2, m1, p1, p2 = [r[keys[k - 1]].reshape(-1) for r in outs]
                fd = (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h)
                exact = base[keys[k]].reshape(-1, e.numel()) @ e.reshape(-1)
                s = sums[step][k]
                s[0] += float(torch.sum((exact - fd) ** 2))
                s[1] += float(torch.sum(exact ** 2))
                s[2] += float(torch.sum(fd ** 2))
                s[3] += float(torch.sum((1e-8 * (1.0 + torch.abs(base[keys[k - 1]].reshape(-1))) / h) ** 2))
    return {keys[k]: _best(_ratio(sums[0][k]), _ratio(sums[1][k])) for k in range(1, len(keys))}


def _sizes(spec, sizes):
    """The default sizes with those given in sizes."""
    dims = dict(spec["sizes"])
    for key, value in (sizes or {}).items():
        if key not in dims:
            raise ValueError("unknown size %s: the sizes are %s" % (key, ", ".join(dims)))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("size %s must be a whole number >= 1, got %r" % (key, value))
        dims[key] = value
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
    size = 1
    for d in shape:
        size *= d
    if symmetric:
        for i in range(shape[0]):
            for j in range(i + 1):
                e = torch.zeros(shape, dtype=torch.float64)
                e[i, j] = 1.0
                e[j, i] = 1.0
                yield e
    else:
        for a in range(size):
            e = torch.zeros(size, dtype=torch.float64)
            e[a] = 1.0
            yield e.reshape(shape)


def _draw(gen, shape, symmetric, lo, hi, signed, dominant):
    """A random variable of the given shape from its domain (float64, on the CPU)."""
    a = lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)
    if signed:
        a = a * (2.0 * torch.randint(0, 2, shape, generator=gen).to(torch.float64) - 1.0)
    if dominant:
        # Strictly diagonally dominant with a positive diagonal: invertible, positive determinant.
        a = a + (shape[0] + 1) * max(abs(lo), abs(hi)) * torch.eye(shape[0], dtype=torch.float64)
    if symmetric:
        a = torch.tril(a) + torch.tril(a, -1).T
    return a`;
