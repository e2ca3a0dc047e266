/**
 * Networks written layer by layer with where: t1 = x + a*tanh(A*x), t2 = t1 + a*tanh(A*t1), … .
 * Every layer uses the one below twice, so any walk of the derivative as a tree doubles with each
 * layer, and so does the chain rule applied term by term: ∂t_k = ∂t_{k-1} + a·diag(s_k)·A·∂t_{k-1}
 * reaches ∂x along 2^k paths, which distributing a product over the sums then spells out. The
 * Hessian of 16 residual layers ran out of memory; 10 took over 120 s.
 *
 * What holds now, each part tested below:
 * - a where clause's sum or product stays one node where it is used (AddNode.held), and its
 *   derivative goes through the layer below once: ∂t_k = (I + a·diag(s_k)·A)·∂t_{k-1}
 *   (throughDominator in src/diff/derivative.ts), so the gradient prints as backpropagation does;
 *   a local Jacobian that is a sum of diagonals, I + diag(cos(t)) for t + sin(t), is one diagonal,
 *   diag(1 + cos(t)), so that a chain of them is not multiplied out over its identities;
 * - a product of rank 4 or more is distributed over at most two of its sums with deltas, not over
 *   each layer's Jacobian I + a·diag(s)·A in a third derivative;
 * - a sum of tensors of order > 2 that products contract is distributed with the products that
 *   reach it gathered first, outermost first (src/simplify/rules/tensorSums.ts), which keeps the
 *   same networks linear where their layers are written out and flattened into one sum;
 * - the matrix printer reads a sum's sides once (isDiagonalProduct) and walks references without
 *   recursion (key), so neither is exponential nor overflows the stack on a deep chain.
 */
import { describe, expect, test, vi } from 'vitest';
import { derive } from '../../src/derive.js';
import { differentiate } from '../../src/diff/derivative.js';
import { type Node, makeAdd, makeElem, makeMul, makeVar, topoOrder } from '../../src/ir/node.js';
import { simplify } from '../../src/simplify/phases.js';
import { specFromText } from '../../fuzz/case.js';
import { runCase } from '../../fuzz/check.js';
import { MatrixPrinter } from '../../src/print/matrix.js';

/** `sum(tD) where t1 = layer(x), t2 = layer(t1), …`; `#` in the layer stands for the layer below. */
function network(layer: string, depth: number): string {
  const defs: string[] = [];
  let prev = 'x';
  for (let i = 1; i <= depth; i++) {
    defs.push(`t${i} = ${layer.replaceAll('#', prev)}`);
    prev = `t${i}`;
  }
  return `sum(${prev}) where ${defs.join(', ')}`;
}

/** network, with the last layer itself as the result (a vector): `tD where t1 = layer(x), …`. */
const lastLayer = (layer: string, depth: number): string => network(layer, depth).replace(/^sum\((t\d+)\) where/, '$1 where');

const printed = (text: string, order: number): string => {
  const r = derive(text, 'x', { order });
  return r.matrix ?? r.index;
};

/**
 * The fuzzer's checks by `wrt` (x unless told) at sizes (3, 2, 4, 5) and all ones: no failure, and
 * with `someChecked`, at least one point checked at each.
 */
function expectValuesRight(text: string, order: number, seed: number, { wrt = 'x', someChecked = false } = {}): void {
  for (const dims of [
    [3, 2, 4, 5],
    [1, 1, 1, 1],
  ]) {
    const outcome = runCase(specFromText(text, wrt, order, {}, seed, dims));
    expect(outcome.failures, JSON.stringify(outcome.failures).slice(0, 400)).toEqual([]);
    if (someChecked) expect(outcome.pointsChecked).toBeGreaterThan(0);
  }
}

const RESIDUAL = '# + a*tanh(A*#)';
const SWISH = '#.*sigmoid(A*#)';
const LINEAR_LAYERS = [
  [RESIDUAL, 1],
  [RESIDUAL, 2],
  [SWISH, 1],
  [SWISH, 2],
  ['tanh(A*#) + B*#', 2],
  ['# + sin(#)', 1],
  ['# + sin(#)', 2],
  // Layers whose Jacobian is a sum that is not a diagonal (softmax's diag(s) - s*s', the
  // normalization I/|t| - t*t'/|t|^3): forward accumulation multiplied their Jacobians out.
  ['sin(softmax(#))', 1],
  ['sin(softmax(# - y))', 1],
  ['#./norm2(#)', 1],
  ['softmax(#).*#', 1],
  ['log(softmax(#) + #.^2)', 1],
  // Layers that square the layer below or take its abs: the power spread over the factors of the
  // layer below made every layer a product of all those under it (src/ir/node.ts, spreads).
  ['#.^2.*sin(#)', 2],
  ['#.*#.*sigmoid(A*#)', 2],
  ['sqrt(abs(#.*tanh(#)))', 1],
] as const;

describe('networks written with where', () => {
  // At depths 32 and 48: factor-common writes out the nested products of a term of up to 32
  // factors (src/simplify/rules/factor.ts), so that some layers' forms at depths under 32 are
  // shorter than a line through the deeper ones (#.^2.*sin(#), order 2: 2,464 characters at 16,
  // 6,855 at 32; # + sin(#), order 2: 90 a layer at depth 24, 123 at 32, 136 at 48).
  test.each(LINEAR_LAYERS)('%s, order %d: printed size linear in the depth', (layer, order) => {
    const perLayer = [32, 48].map((depth) => printed(network(layer, depth), order).length / depth);
    expect(perLayer[1]!).toBeLessThan(1.3 * perLayer[0]!);
  });

  test('the third derivative of 16 residual layers stays within ten times the Hessian', () => {
    // Products of rank 4 held chains of the layers' Jacobians I + a·diag(s)·A, and distributing
    // each over its identity made 2^k products (src/simplify/rules/expand.ts,
    // MAX_DISTRIBUTED_DELTA_SUMS): 150,886 characters against the Hessian's 3,306.
    const text = network(RESIDUAL, 16);
    expect(printed(text, 3).length).toBeLessThan(10 * printed(text, 2).length);
  });

  test('a layer that simplification rewrites stays held: t + tanh(A*t).*t factored into (1 + tanh(A*t)).*t', () => {
    // Factoring made the held sum a product that was not held: each layer's product rule then
    // reached the layer below along two paths, and the Hessian of 8 layers printed 15,949
    // characters (1,447 at 4); the rewriting engine now keeps a where clause's node held.
    const layer = '# + tanh(A*#).*#';
    const perLayer = [4, 8].map((depth) => printed(network(layer, depth), 2).length / depth);
    expect(perLayer[1]!).toBeLessThan(1.5 * perLayer[0]!);
    expect(printed(network(layer, 32), 1).length / 32).toBeLessThan(1.3 * (printed(network(layer, 16), 1).length / 16));
  });

  // Layers that lower to a multiple of a product (the inverse of a rank-one update is eye minus a
  // scaled outer product, by Sherman–Morrison; a negated product): rebuilt when the layer below
  // changed, a layer came back as a one-term sum, which keepHeld left unheld, so the layer above
  // multiplied it out (t3*t3' as t2'*(eye - …)^2*t2); and factor-common read a held product as
  // its factors, so t - t*(t'*t)/(1 + t'*t) with t such a layer never became t/(1 + t'*t). The
  // gradient of 6 layers inv(eye + t*t')*t printed 21,685 characters in 20 s, of 8 never
  // finished; the printer also spelled out the input's sums eye + t*t', exponentially long.
  const RANK_ONE_LAYERS = ["inv(eye + #*#')*#", "inv(2*eye + #*#')*#", "inv(eye - #*#'/4)*#", "(eye - #*#'/(1 + #'*#))*#", "inv(eye + #*#')*sin(#)", "inv(eye + (A*#)*(A*#)')*#", '-(#.*sin(#))'];
  // (-(#.*sin(#)) by order 2 is left out: element-wise products of layers keep their terms side
  // by side past factor-common's 32 factors a term, as #.*sin(#) does.)
  const RANK_ONE_SIZES: [string, number][] = RANK_ONE_LAYERS.flatMap((layer): [string, number][] => (layer.startsWith('-') ? [[layer, 1]] : [[layer, 1], [layer, 2]]));
  test.each(RANK_ONE_SIZES)('%s, order %d: printed size linear in the depth', (layer, order) => {
    const depths = order === 1 ? [8, 32] : [8, 24];
    const perLayer = depths.map((depth) => printed(network(layer, depth), order).length / depth);
    expect(perLayer[1]!).toBeLessThan(1.3 * perLayer[0]!);
  });

  test('a rank-one layer simplifies as its closed form does: inv(eye + t*t\')*t is t/(1 + t\'*t)', () => {
    for (const order of [1, 2]) expect(printed(network("inv(eye + #*#')*#", 12), order)).toBe(printed(network("#/(1 + #'*#)", 12), order));
  });

  test.each(RANK_ONE_LAYERS.flatMap((layer) => [[layer, 1], [layer, 2]] as const))('%s, order %d: values at depth 5', (layer, order) => {
    expectValuesRight(network(layer, 5), order, 3 + order);
  });

  test('the gradient of a residual network is backpropagation: one factor per layer, the layers named', () => {
    const g = printed(network(RESIDUAL, 4), 1);
    expect(g.match(/\+ eye\)/g)).toHaveLength(4);
    expect(g).toContain('t1 = a*tanh(A*x) + x');
    expect(g).toContain('t2 = a*tanh(A*t1) + t1');
  });

  test.each([
    [RESIDUAL, 1],
    [RESIDUAL, 2],
    [RESIDUAL, 3],
    [SWISH, 2],
    [SWISH, 3],
    ['# + sin(#)', 2],
    ['# + sin(#)', 3],
    ['# + tanh(A*#).*#', 2],
    ['tanh(A*#) + B*#', 3],
    // Local Jacobians that are sums of diagonals with a scalar times the identity among them:
    // I/norm2(t) - t*t'/norm2(t)^3 crashed ("mul: output label 0 is in no factor") from depth 3.
    ['#./norm2(#)', 1],
    ['#./norm2(#)', 2],
    ['a*# + sin(#)', 2],
    ['#/b + tanh(#)', 2],
  ])('%s, order %d: values at depth 6', (layer, order) => {
    expectValuesRight(network(layer, 6), order, 5 + order);
  });

  test.each(['#./norm2(#)', 'softmax(#).*#'])('%s, order 2: printed size linear in the depth, each layer\'s Jacobian one held node', (layer) => {
    // Forward accumulation distributed each layer's Jacobian (a sum) over the tangent of the layer
    // below and spelled it out again in each user: 8 layers of t./norm2(t) printed 10,569
    // characters, 6.2 times 4 layers' 1,704 (src/diff/derivative.ts, heldTangents).
    const perLayer = [4, 8].map((depth) => printed(network(layer, depth), 2).length / depth);
    expect(perLayer[1]!).toBeLessThan(1.3 * perLayer[0]!);
  });

  test.each([
    ['sin(softmax(#))', 1],
    ['sin(softmax(#))', 2],
    ['softmax(#).*#', 1],
    ['#./norm2(#)', 2],
  ] as const)('%s, the last layer itself (a vector), order %d: values at depth 4, Jacobians held', (layer, order) => {
    // The root is no scalar: forward accumulation all the way, with the layers' Jacobians held.
    const text = lastLayer(layer, 4);
    expect(text.startsWith('t4 where')).toBe(true);
    expectValuesRight(text, order, 21 + order);
  });

  test.each([
    // A layer scaled by a constant: its sum is a product's one factor, so the chain rule went
    // through both of its terms to the layer below (2^k paths), and the local Jacobian
    // (I + ½diag(t.^-1.5))/c was no diagonal (src/diff/derivative.ts, scaledSum, diagonalFactors).
    // At depth 16 the Jacobian printed 4,224 characters and the second derivative 41,696 (10 s),
    // 5.5 and 16 times those of the unscaled layer.
    ['(# - #.^-0.5)/c', '# - #.^-0.5', 1.5],
    ['(# + sin(#))/c', '# + sin(#)', 1.5],
    // Written in the other sign, -(1 + t + t.^-0.5)/(a + b): the local Jacobian a multiple of such
    // a product (4,650 and 42,560 characters, 12.5 s, 6.1 and 16 times the plain layer's).
    ['(vector(-1) - # - #.^-0.5)/(a + b)', '# - #.^-0.5', 1.7],
    // A negated layer: its held sum was turned to the sign the canonical form prefers, a copy that
    // is not held (src/ir/node.ts, negatedSum), or held as a multiple of a product, which hold
    // does not hold (src/ir/node.ts, holdLayer): 1.6 and 1.2-1.4 times the plain layer's.
    ['-# - sin(#)', '# + sin(#)', 1.15],
    ['-(#.*sigmoid(A*#))', '#.*sigmoid(A*#)', 1.15],
    // A layer whose sum a product took in the other sign: the product's factor was a copy of the
    // held sum that is not held, which the layer above flattened into its own sum (src/ir/node.ts,
    // buildMul keeps a where clause's sum as written). At depth 16: 2,609 and 8,885 characters for
    // 2*t - sin(t), 3,544 and 17,864 for 3*t - tanh(t) - z (12,990 at depth 8).
    ['2*# - sin(#)', '2*# + sin(#)', 1.05],
    ['sin(#) - 2*#', '2*# + sin(#)', 1.05],
    ['3*# - tanh(#) - z', '3*# + tanh(#) - z', 1.15],
    ['0.5*sin(#) - #', '# + 0.5*sin(#)', 1.15],
  ] as const)('%s, the last layer itself: Jacobian and second derivative within the size of those of %s', (layer, plain, bound) => {
    for (const order of [1, 2]) expect(printed(lastLayer(layer, 16), order).length).toBeLessThan(bound * printed(lastLayer(plain, 16), order).length);
  });

  test.each([
    ['(# + sin(#))/c', 2],
    ['-# - sin(#)', 2],
    ['-(#.*sigmoid(A*#))', 2],
    ['2*# - sin(#)', 2],
    ['3*# - tanh(#) - z', 1],
  ] as const)('%s, the last layer itself, order %d: values at depth 5', (layer, order) => {
    expectValuesRight(lastLayer(layer, 5), order, 31 + order);
  });

  test.each([
    ['(diag(vector(1.5)) - alpha*eye)*#', '(1.5 - alpha)^8*vector(1)'],
    ['(alpha*eye - diag(vector(1.5)))*#', '(1.5 - alpha)^8*vector(1)'],
    ['(a - b)*#', '(a - b)^8*vector(1)'],
  ] as const)('layers %s: the gradient of 8 is the scalar to the 8th power', (layer, gradient) => {
    // The layer lowers as -(1.5 - alpha)*t, held; collect-polynomial multiplied the layers out
    // into a polynomial in alpha (src/simplify/rules/polynomial.ts: a layer is an atom there), and
    // factor-common spread 1.5*(1.5 - alpha) over its sum (src/simplify/rules/factor.ts,
    // sharedScalarSum), and so did the adjoints that reverse accumulation held (src/diff/
    // derivative.ts, scaledConstant): 121 characters at depth 8, the 8th power expanded.
    expect(printed(network(layer, 8), 1)).toBe(gradient);
  });

  test('a layer written as a multiple of a product keeps the product held: by B, order 2', () => {
    // (exp(A').^A - t'./S')*t lowers as -(t'./S' - exp(A').^A)*t: hold kept the one-term sum, not
    // the product inside it, and the Hessian of 5 layers printed 24,158 characters (src/ir/lower.ts).
    const defs = [1, 2, 3, 4, 5].map((k) => `t${k} = (exp(A').^A - ${k === 1 ? 'B' : `t${k - 1}`}'./S')*${k === 1 ? 'B' : `t${k - 1}`}`);
    const r = derive(`sum(t5) where ${defs.join(', ')}`, 'B', { order: 2, let: { S: 'symmetric matrix' } });
    expect((r.matrix ?? r.index).length).toBeLessThan(5000);
  });

  // Layers whose Hessian nests products in products, a DAG: whether a product holds the inverse of
  // an exact zero (0·0^-1 is 0/0, not 0; src/ir/node.ts, hasZeroPole) was asked of every nested
  // product along every path, exponential in the depth. diag(t)*A*t took 2.8 s at depth 24, 36 s
  // at 28 and over 120 s at 32, its size linear all along (5,769 characters at 28).
  const NESTED_PRODUCT_LAYERS = ['diag(#)*A*#', "sin(#)'*#*#", 'logsumexp(#)*# + #'];
  test.each(NESTED_PRODUCT_LAYERS)('%s, order 2: printed size linear in the depth, up to depth 40', (layer) => {
    const perLayer = [12, 40].map((depth) => printed(network(layer, depth), 2).length / depth);
    expect(perLayer[1]!).toBeLessThan(1.3 * perLayer[0]!);
  });
  test.each(NESTED_PRODUCT_LAYERS)('%s, order 2: values at depth 5', (layer) => {
    expectValuesRight(network(layer, 5), 2, 31);
  });

  // Third derivatives of layers whose Jacobian is dense (a multiple of the identity plus a rank-one
  // term): their Hessian's graph holds each layer's Jacobian, and the third derivative the rank-3
  // tangent of each, which the products of the layers above contract. Distributing those sums of
  // rank-3 tensors into every product that used them (distribute-tensor-sum, which matrix forms
  // need) spelled each one out again per user: norm2(t)*t printed 10,572 characters at depth 4 and
  // 200,243 at 8 (34 s). A derivative that has no matrix form skips that rule
  // (src/simplify/phases.ts, INDEX_FORM_PHASES).
  const DENSE_JACOBIAN_LAYERS = ['norm2(#)*#', '#./norm2(#)', "inv(eye + #*#')*#", "sin(#)'*#*#"];
  test.each(DENSE_JACOBIAN_LAYERS)('%s, order 3: under 2,000 characters a layer at depth 8, linear up to depth 16', (layer) => {
    const at8 = printed(network(layer, 8), 3).length;
    expect(at8).toBeLessThan(8 * 2000);
    expect(printed(network(layer, 16), 3).length / 16).toBeLessThan((1.3 * at8) / 8);
  });
  test.each(DENSE_JACOBIAN_LAYERS)('%s, order 3: values at depth 4', (layer) => {
    expectValuesRight(network(layer, 4), 3, 37);
  });
  // The third derivative has no matrix form: its temporaries are the index form's, and a matrix or
  // vector temporary that contracts a sum of rank-3 tangents, or a rank-3 temporary, spelled out
  // again in its matrix text what the index form writes once (src/print/present.ts,
  // holdsHighOrderTensor): sin(softmax(t)) at depth 6 had five texts of 11,000 to 32,000
  // characters against index forms of 370 to 670, made in 4 of the 5 s it took.
  test.each(['sin(softmax(#))', 'sin(softmax(# - y))', 'softmax(#).*#', '#./norm2(#)'])('%s, order 3: the temporaries\' matrix texts no longer than their index forms say', (layer) => {
    const r = derive(network(layer, 6), 'x', { order: 3 });
    expect(r.matrix).toBeNull();
    const inMatrix = r.temporaries.filter((t) => t.matrix !== null);
    expect(inMatrix.length).toBeGreaterThan(20);
    for (const t of inMatrix) expect(t.matrix!.length, t.name).toBeLessThan(4 * t.index.length + 40);
    // Those without one are written in index notation, in LaTeX too.
    const without = r.temporaries.filter((t) => t.matrix === null && t.node.shape.length <= 2);
    for (const t of without) expect(t.latex).toBe(r.indexForms.find((f) => f.text === t.index)!.latex);
  });

  // Layers whose local Jacobian is the identity plus or minus a diagonal (softplus(t) - t is
  // I - diag(σ(t))), passed in reverse: the sum was distributed over the adjoint a, whose negated
  // copy is not held, so each step spelled a out again, one term more per layer (src/diff/
  // derivative.ts, diagonalJacobians). At depth 48: 9,846 and 25,384 characters for
  // softplus(t) - t by orders 1 and 2 (205 and 529 a layer, 105 and 260 at depth 16).
  const IDENTITY_PLUS_DIAGONAL_LAYERS = ['softplus(#) - #', 'sin(#) - 2*#', '(# - #.^-0.5)/c', 'log(vector(1) + exp(#)) - #', '-# - sin(#)'];
  // (By order 2 at depths 32 and 48, both past factor-common's 32 factors a term: see LINEAR_LAYERS.)
  test.each(IDENTITY_PLUS_DIAGONAL_LAYERS.flatMap((layer) => [[layer, 1], [layer, 2]] as const))('%s, order %d: printed size linear in the depth, up to depth 48', (layer, order) => {
    const perLayer = (order === 1 ? [16, 48] : [32, 48]).map((depth) => printed(network(layer, depth), order).length / depth);
    expect(perLayer[1]!).toBeLessThan(1.25 * perLayer[0]!);
  });
  test.each(IDENTITY_PLUS_DIAGONAL_LAYERS)('%s, order 2: at depth 48 within 1.3 times the size of # + sin(#)', (layer) => {
    expect(printed(network(layer, 48), 2).length).toBeLessThan(1.3 * printed(network('# + sin(#)', 48), 2).length);
  });
  // The gradient is backpropagation's: one diagonal per layer, multiplied entry-wise. The last two
  // layers' Jacobians (forward accumulation) were multiplied out as sums: sin(t) - 2*t at depth 4
  // printed 2*t5 + vector(16) + cos(x).*(2*t4 + 4*t3 - t5 - vector(8)) - 4*t4 - 8*t3 where ….
  test.each(['softplus(#) - #', '# + sin(#)', 'sin(#) - 2*#', '-# - sin(#)', 'a*# + sin(#)'])('%s at depth 6, order 1: the product of the layers\' diagonals', (layer) => {
    const body = printed(network(layer, 6), 1).split(' where ')[0]!;
    expect(body.startsWith('(') && body.endsWith(')')).toBe(true);
    expect(body.slice(1, -1).split(').*(')).toHaveLength(6);
  });
  test.each(IDENTITY_PLUS_DIAGONAL_LAYERS.flatMap((layer) => [[layer, 1], [layer, 2]] as const))('%s, order %d: values at depth 5', (layer, order) => {
    expectValuesRight(network(layer, 5), order, 41 + order);
  });

  test('the gradient of a scalar by a vector is reverse accumulation through layers whose Jacobian is a sum', () => {
    // By forward accumulation, every layer's Jacobian by x was built and multiplied out: 8 layers
    // of sin(softmax(t)) printed 3,375 characters in 1.5-1.9 s, 16 ran for more than 10 minutes; 32
    // layers of t./norm2(t) printed 12,494 characters in 5.2 s (src/diff/derivative.ts, reverseChain).
    // Each layer's adjoint is one vector temporary, the one above it used twice:
    const g = printed(network('#./norm2(#)', 3), 1);
    expect(g).toMatch(/^t4\/norm2\(x\) - x'\*t4\*x\/norm2\(x\)\^3 where /);
    expect(g).toContain('t4 = t3/norm2(t1) - t1\'*t3*t1/norm2(t1)^3');
    // The same layers nested inline, without names, are the same chain.
    let inline = 'x';
    for (let d = 0; d < 16; d++) inline = `sin(softmax(${inline}))`;
    expect(printed(`sum(${inline})`, 1).length).toBeLessThan(8 * inline.length);
  });

  test.each([
    ['sin(softmax(#))', 5, 1],
    ['sin(softmax(#))', 3, 2],
    ['sin(softmax(#))', 3, 3],
    ['sin(softmax(# - y))', 3, 2],
    ['softmax(#).*#', 5, 1],
    ['softmax(#).*#', 3, 2],
    ['log(softmax(#) + #.^2)', 3, 2],
    ['#./norm2(#)', 5, 1],
  ])('%s at depth %d, order %d: values, the gradient accumulated in reverse', (layer, depth, order) => {
    expectValuesRight(network(layer, depth), order, 11 + order);
  });

  test.each([
    // Two cuts by a symmetric and by a general matrix: the last step is the derivative of
    // <adjoint, S*y> by S, with ∂S/∂S symmetrized.
    ['norm2(softmax(softmax(S*y)))^2', 'S', { S: 'symmetric matrix' }],
    ['sum(sin(softmax(sin(softmax(X*y)))))', 'X', {}],
  ] as const)('%s by %s: values of gradient and Hessian', (text, wrt, decls) => {
    for (const order of [1, 2])
      for (const dims of [
        [3, 2, 4, 5],
        [1, 1, 1, 1],
      ]) {
        const outcome = runCase(specFromText(text, wrt, order, decls, 3 + order, dims));
        expect(outcome.failures, JSON.stringify(outcome.failures).slice(0, 400)).toEqual([]);
      }
  });

  // Element-wise layers: the Hessian is diag of a sum whose terms share most of their vectors,
  // each term a product of nested ones (makeMul nests long products); factor-common reads the
  // nested products of vectors written out (src/simplify/rules/factor.ts, withFlatVectorProducts).
  // 608ee95 printed 477 / 885 / 1,664 characters for these, seven terms side by side.
  test.each([
    ['sigmoid(#)', 4, 300],
    ['-softplus(sigmoid(#))', 4, 560],
    ['-softplus(sigmoid(#))', 8, 1560],
  ] as const)('%s at depth %d, order 2: the shared vectors taken out of the diagonal\'s terms (under %d characters)', (layer, depth, most) => {
    const text = network(layer, depth);
    const p = printed(text, 2);
    expect(p.length).toBeLessThan(most);
    expect(p.startsWith('diag(')).toBe(true);
    expectValuesRight(text, 2, 17);
  });

  test('residual network of 28 layers: gradient values', () => {
    expectValuesRight(network(RESIDUAL, 28), 1, 5);
  });

  test('a layer that squares the layer below keeps it whole: t.*t./alpha.*exp(softmax(t))', () => {
    // Spread, t.*t was t0.^4.*exp(softmax(t0)).^2 and so on down: 8 layers' gradient printed
    // 2,583 characters (805 at 4), the Hessian of 6 42,393 in 8.3 s, the third derivative of 5
    // 81,617 (a fuzz timeout of seed 44).
    const layer = '#.*#./alpha.*exp(softmax(#))';
    const perLayer = [4, 8].map((depth) => printed(network(layer, depth), 1).length / depth);
    expect(perLayer[1]!).toBeLessThan(1.3 * perLayer[0]!);
    expect(printed(network(layer, 6), 2).length).toBeLessThan(5000);
    for (const order of [1, 2, 3]) expectValuesRight(network(layer, 4), order, 31 + order);
  });

  test("a layer of its own factors still spreads into the next one, where they cancel", () => {
    const by = (text: string, wrt: string, order: number): string => {
      const r = derive(text, wrt, { order });
      return r.matrix ?? r.index;
    };
    // t2 is A, t4 is sign(a*b)*b, t2 is a^2*y.^4: their derivatives say so.
    expect(by("t2 where t1 = b./(B'.*A), t2 = b./(B'.*t1)", 'A', 2)).toBe('0');
    expect(by('t4 where t1 = ((1*a)^2)^(-1/2)*b, t2 = ((1*t1)^2)^(-1/2)*b, t3 = ((1*t2)^2)^(-1/2)*b, t4 = ((1*t3)^2)^(-1/2)*b', 'a', 1)).toBe('sign(a)*sign(b)');
    expect(by('sum(t2) where t1 = (y*a).^-2, t2 = (t1*a).^-2', 'y', 2)).toBe('12*a^2*diag(y.^2)');
  });

  test('a where clause holds only its own sum: the same sum typed inline is flattened as before', () => {
    expect(printed('sum(t) where t = x + y', 1)).toBe(printed('sum(x + y)', 1));
    expect(printed('x\'*t where t = A*x + y', 2)).toBe(printed("x'*(A*x + y)", 2));
  });
});

/** Edges of the IR below n (a factor or term counts once per use). */
function edges(n: Node): number {
  return topoOrder([n]).reduce((s, m) => s + (m.kind === 'add' ? m.terms.length : m.kind === 'mul' ? m.factors.length : 1), 0);
}

describe('sums of tensors of order > 2, nested, under a contraction', () => {
  // The residual network built in the IR as inline input makes it: every layer flattened into one
  // sum, x + a·tanh(A·x) + a·tanh(A·(x + …)) + …, whose second derivative nests third-order sums.
  const x = makeVar('x', [1]);
  const A = makeVar('A', [1, 1]);
  const a = makeVar('a', []);
  const layer = (t: Node): Node => {
    const at = makeMul([{ node: A, labels: [0, 1] }, { node: t, labels: [1] }], 1);
    const step = makeMul([{ node: a, labels: [] }, { node: makeElem('tanh', at), labels: [0] }], 1);
    return makeAdd([{ coef: 1, node: t }, { coef: 1, node: step }], [1]);
  };
  const hessianEdges = (depth: number): { input: number; hessian: number } => {
    let t: Node = x;
    for (let d = 0; d < depth; d++) t = layer(t);
    const root = makeMul([{ node: t, labels: [0] }], 0);
    const g = simplify(differentiate(simplify(root), x));
    return { input: edges(root), hessian: edges(simplify(differentiate(g, x))) };
  };

  test('the Hessian of 16 flattened residual layers stays within a few times its input', () => {
    // Distributed term by term it had 16,487 edges against the input's 251.
    const { input, hessian } = hessianEdges(16);
    expect(hessian).toBeLessThan(6 * input);
  });
});

describe("matrix networks whose layers use t and t' (by A: no matrix form in any layout)", () => {
  // tD where t1 = L(A), t2 = L(t1), …: each layer's Jacobian is a sum of an entry-wise part and a
  // transposition (δδ·cos(t) + δδ for sin(t') + t), and the Hessian of a matrix function (rank 6)
  // and the third derivative (rank 8) distributed every product of rank 4 or more over those sums
  // (distribute-delta-sum, for the vec layout's sake), 2^k products: at depth 4, sin(t') + t by
  // order 3 printed 15,156 characters, tanh(abs(t + B) - t') 17,824 and 265,014 (12 s) by orders 2
  // and 3, arccos(abs(t + B) - t') 287,118 (20 s, a fuzz timeout) by order 3, and sin(t').*t
  // 32,341 by order 3 (src/simplify/rules/expand.ts, distributeFewDeltas).
  const matrixNetwork = (layer: string, depth: number): string => {
    const defs = Array.from({ length: depth }, (_, i) => `t${i + 1} = ${layer.replaceAll('#', i === 0 ? 'A' : `t${i}`)}`);
    return `t${depth} where ${defs.join(', ')}`;
  };
  const CASES = [
    ["sin(#') + #", 3],
    ["tanh(abs(# + B) - #')", 2],
    ["tanh(abs(# + B) - #')", 3],
    ["arccos(abs(# + B) - #')", 3],
    ["sin(#').*#", 3],
  ] as const;
  test.each(CASES)('%s by A, order %d: under 2,000 characters a layer at depth 4', (layer, order) => {
    const r = derive(matrixNetwork(layer, 4), 'A', { order });
    expect(r.matrix).toBeNull();
    expect(r.index.length).toBeLessThan(4 * 2000);
  });
  // (arccos's argument leaves [-1, 1] at random points three layers down: no point is checked.)
  test.each(CASES.filter(([layer]) => !layer.startsWith('arccos')))('%s by A, order %d: values at depth 3', (layer, order) => {
    expectValuesRight(matrixNetwork(layer, 3), order, 53 + order, { wrt: 'A', someChecked: true });
  });
});

describe("matrix networks whose layers multiply the layer below by its transpose (t*t', t*B*t')", () => {
  // sum(tD) where t1 = eye - A*A', t2 = eye - t1*t1', …: the sum of the last layer by A. Three
  // causes made the function itself exponential in the depth (on 22373ee, eye - t*B*t' printed
  // 2,454 characters at depth 4 and 118,232 in 40 s at depth 8 by order 0, and 13,353 by order 1
  // at depth 4): a where clause's sum was never symmetric (isSymmetric compared its transpose with a
  // copy that is not held), so t' was a second sum that the layer above multiplied out; a
  // transpose of a held sum that is not symmetric was spread into its terms, the same copy
  // (transpose, src/ir/node.ts); and a full contraction (sum, tr, x'*…*x) was distributed over the
  // identity terms of each of its sums, 2^k products for k layers (fullWithSums,
  // src/simplify/rules/expand.ts). A fourth, in the gradient: reverse accumulation missed the
  // layers as cuts, though a product that uses t twice has a sum for its Jacobian (cutChain counts
  // uses now).
  const sumNetwork = (layer: string, depth: number): string => {
    const defs = Array.from({ length: depth }, (_, i) => `t${i + 1} = ${layer.replaceAll('#', i === 0 ? 'A' : `t${i}`)}`);
    return `sum(t${depth}) where ${defs.join(', ')}`;
  };
  const LAYERS = ["eye - #*#'", "eye - #*B*#'", "eye - #'*B*#", "eye + #*B*#", "(eye - #)*(eye + #')"];
  const size = (text: string, order: number): number => {
    const r = derive(text, 'A', { order });
    return (r.matrix ?? r.index).length;
  };
  test.each(LAYERS)('%s, order 0: the sum of the last layer linear in the depth', (layer) => {
    const [at8, at16] = [size(sumNetwork(layer, 8), 0), size(sumNetwork(layer, 16), 0)];
    expect(at8).toBeLessThan(8 * 30);
    expect(at16).toBeLessThan(2.2 * at8);
  });
  test.each(LAYERS)('%s, order 1: under 1,500 characters at depth 6', (layer) => {
    expect(size(sumNetwork(layer, 6), 1)).toBeLessThan(1500);
  });
  test('a symmetric layer is one node with its transpose: t1*t1\' is a square', () => {
    expect(derive("t2 where t1 = eye - A*A', t2 = t1*t1'", 'A', { order: 0 }).matrix).toBe("(eye - A*A')^2");
    expect(derive(sumNetwork("eye - #*#'", 3), 'A', { order: 0 }).matrix).toBe("rows(A) - sum((eye - (eye - A*A')^2)^2)");
  });
  test.each(LAYERS.flatMap((layer) => [[layer, 1], [layer, 2]] as const))('%s, order %d: values at depth 3', (layer, order) => {
    expectValuesRight(sumNetwork(layer, 3), order, 61 + order, { wrt: 'A', someChecked: true });
  });
});

describe('a vector network\'s derivatives with many temporaries', () => {
  // The printer tries inlining each name whose definition holds vector(1) (present.ts,
  // withoutBlockingOnes); each try prints again the texts that show it and the definitions those
  // read, so the tries grew with the square of the chain: the Jacobian of twelve layers
  // sin(softmax(t)), 103 names on 7480f7e, made 1,949 texts (7.7 s). Past 32 names they are not
  // tried. (That Jacobian has 22 names now, its layers' Jacobians held: below.) The Hessian of the
  // sum of twelve layers, 82 names, makes 814 texts where every name is tried, 352 as it is, the
  // same form.
  const chain = (depth: number): string => `t${depth} where ${Array.from({ length: depth }, (_, i) => `t${i + 1} = sin(softmax(${i === 0 ? 'x' : `t${i}`}))`).join(', ')}`;
  test('twelve layers sin(softmax(t)), the Hessian of their sum: the texts made', () => {
    const spy = vi.spyOn(MatrixPrinter.prototype, 'materialize');
    try {
      const r = derive(chain(12).replace(/^t12 where/, 'sum(t12) where'), 'x', { order: 2 });
      expect(r.temporaries.length).toBeGreaterThan(32);
      expect(r.matrix).not.toBeNull();
      expect(spy.mock.calls.length).toBeLessThan(500);
    } finally {
      spy.mockRestore();
    }
  });
  test('ten layers sin(softmax(t)), order 1: values, compiled and round trip', () => {
    for (const dims of [[3, 2], [1, 1]]) {
      const outcome = runCase(specFromText(chain(10), 'x', 1, {}, 77, dims));
      expect(outcome.failures, JSON.stringify(outcome.failures).slice(0, 400)).toEqual([]);
      expect(outcome.pointsChecked).toBeGreaterThan(0);
    }
  });
});

describe('a vector network\'s Jacobian: each layer\'s Jacobian held, a multiple of a product too', () => {
  // Forward accumulation holds a layer's Jacobian where it is a sum or a product with a sum that is
  // not diagonal (src/diff/derivative.ts, holdJacobian); from the third layer of sin(softmax(t))
  // on it simplifies to the negation of such a product, -(diag(c)*(J - s*s'*J)), which was not
  // held, so the layer above distributed over it: on 29e84d9 the Jacobian of 16 layers printed
  // 7,513 characters and their second derivative 111,103 (10 s). Now the chain reads as a person
  // writes it: t8 = (t3.*cos(t3)*t3' - diag(t3.*cos(t3)))*t7, t9 = (…)*t8, ….
  test.each([
    // characters a layer at depth 16 on 29e84d9: order 1, order 2
    ['sin(softmax(#))'], // 470, 6,944
    ['sin(softmax(# - y))'], // 164, 2,519
    ['softmax(#.*y)'], // 104, 750
  ])('%s, the last layer: under 100 characters a layer by order 1 and 500 by order 2 at depth 16, linear from 8', (layer) => {
    for (const [order, bound] of [[1, 100], [2, 500]] as const) {
      const [at8, at16] = [8, 16].map((depth) => printed(lastLayer(layer, depth), order).length / depth);
      expect(at16!).toBeLessThan(bound);
      expect(at16!).toBeLessThan(1.2 * at8!);
    }
  });
  test.each([
    ['sin(softmax(# - y))', 1],
    ['sin(softmax(# - y))', 2],
    ['softmax(#.*y)', 1],
    ['softmax(#.*y)', 2],
    ['softmax(#).*#', 1],
  ] as const)('%s, the last layer, order %d: values at depth 5', (layer, order) => {
    expectValuesRight(lastLayer(layer, 5), order, 41 + order);
  });
  test('softmax(#).*#, the last layer, order 1: the index form names the Jacobians that the matrix form multiplies into one product', () => {
    // Each layer's Jacobian is used three times by the next; the matrix form factors them into
    // one product (no name), and the index notation spelled each out three times: 18,887
    // characters at depth 8 on 29e84d9 (present.ts, indexOnlyTemporaries).
    const [at8, at16] = [8, 16].map((depth) => derive(lastLayer('softmax(#).*#', depth), 'x', { order: 1 }));
    expect(at8!.index.length / 8).toBeLessThan(200);
    expect(at16!.index.length / 16).toBeLessThan(1.2 * (at8!.index.length / 8));
    // The matrix form does not use the index form's own names.
    const body = at8!.body.matrix!;
    for (const t of at8!.temporaries) if (!at8!.matrix!.includes(`${t.name} = `)) expect(body).not.toMatch(new RegExp(`\\b${t.name}\\b`));
  });
});
