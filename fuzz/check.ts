/**
 * The checks of one case, run in a worker thread:
 *  (a) the derivative (reference evaluator) against finite differences of the expression computed
 *      by mathjs from the generator's tree, along random directions, at up to 3 points;
 *  (b) the compiled evaluator against the reference evaluator at the same points, and the
 *      generated JS module (ricci code) at the first point that passed;
 *  (c) the printed matrix form, parsed again and evaluated by mathjs, against the derivative;
 *  (d) where the expression or the variable is a matrix and the vec layout makes the result a
 *      matrix or a vector, its printed form (kron, commutation, diag(vec(…))), read back by our
 *      parser and reference evaluator, against the derivative vectorized column-major here, at
 *      the first point that passed.
 * Errors: a RicciError while deriving a well-typed expression is a rejection, anything else a
 * crash. A point where the checks differ by no more than rounding can explain (the result's own
 * sensitivity to its inputs) is skipped as ill-conditioned, and counted.
 */
import { derivative, generateCode, matrixFormExpected, matrixFormOfVecOrKron, RicciError, type Derivative, type Values } from '../src/index.js';
import { outputKey } from '../src/codegen/plan.js';
import { bindSizes, evaluateReference, SingularMatrixError } from '../src/compile/reference.js';
import { analyze } from '../src/derive.js';
import { MAX_INPUT_LENGTH, parse } from '../src/syntax/parse.js';
import { check as checkTypes } from '../src/syntax/check.js';
import { ONE, kindOf } from '../src/syntax/types.js';
import { type Ast, astChildren } from '../src/syntax/ast.js';
import type { Tensor } from '../src/tensor.js';
import { mulberry32 } from '../src/random.js';
import { holdsZeroPole } from '../src/ir/node.js';
import { kinkSigns, mathText, oracle, type OKind, type Oracle } from './oracle.js';
import { inferProductSizes, signatureOf, type CaseSpec, type Failure, type FailureKind, type Outcome, type SkipReason } from './case.js';
import { contract, drawDirection, drawPoint, fdRatio, fdTrusted, finiteDifference, maxAbs, maxDiff, noiseLevel, perturb, stableAtFinerStep, STEP, TOL, vectorize } from './numeric.js';

export const POINTS = 3;
/** Draws per point before the point is given up (outside the domain, singular, at a kink). */
const DRAWS = 24;

/** Where a case's time goes (a case killed for its time limit reports the phase it was in). */
export type Phase = 'derive' | 'compile' | 'oracle' | 'reference' | 'compiled' | 'exported';

class CaseFailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.detail);
  }
}

function crash(stage: string, e: unknown): CaseFailed {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new CaseFailed({ kind: 'crash', detail: `${stage}: ${msg.split('\n')[0]}`, signature: `${stage}: ${signatureOf(msg)}` });
}

export function runCase(spec: CaseSpec, phase: (p: Phase) => void = () => {}, trace?: (line: string) => void): Outcome {
  const closest = { fd: 0, compiled: 0, roundtrip: 0 };
  const skipped: Partial<Record<SkipReason, number>> = {};
  const none = { id: spec.id, skipped, closest, pointsChecked: 0 };
  phase('derive');
  const t0 = performance.now();
  let d: Derivative;
  try {
    d = derivative(spec.text, spec.wrt, { order: spec.order, let: spec.decls });
  } catch (e) {
    if (e instanceof RicciError) return { ...none, failures: [{ kind: 'rejected', detail: `derive: ${e.message}`, signature: signatureOf(e.message) }] };
    return { ...none, failures: [crash('derive', e).failure] };
  }
  const deriveMs = performance.now() - t0;
  const printed = d.matrix ?? d.index;
  const info = { deriveMs, sizeRatio: printed.length / spec.text.length, hasMatrix: d.matrix !== null, matrixRequired: matrixFormExpected(d.result), vecKronClass: matrixFormOfVecOrKron(d.result) };
  const failures: Failure[] = [];
  let pointsChecked = 0;
  let printedUndefined = 0;
  let tooLong = false;
  let vec: Outcome['vec'];
  try {
    const dv = vecDerivative(spec);
    if (dv) vec = { hasMatrix: dv.matrix !== null, sizeRatio: (dv.matrix ?? dv.index).length / spec.text.length };
    phase('compile');
    const compiled = guard('compile', () => d.compile());
    const ctx: Context = {
      spec,
      d,
      phase,
      trace,
      f: oracle(spec.math, spec.shape),
      compiled,
      printed: d.matrix !== null ? printedOracle(d, spec) : undefined,
      rand: mulberry32(spec.seed),
    };
    if (ctx.printed && 'error' in ctx.printed) failures.push({ kind: 'roundtrip', detail: ctx.printed.error });
    // Points until the first one where a value differs (one such point is the finding).
    let numericFailure = false;
    let passed: ReadonlyMap<string, Tensor> | undefined;
    for (let p = 0; p < POINTS && !numericFailure; p++) {
      const reasons: SkipReason[] = [];
      for (let draw = 0; draw < DRAWS; draw++) {
        const v = judgePoint(ctx, p === 0);
        ctx.trace?.(`point ${p + 1}, draw ${draw + 1}: ${v.verdict === 'skip' ? `skipped (${v.reason})` : v.verdict === 'pass' ? 'passed' : 'failed'}`);
        if (v.verdict === 'skip') {
          reasons.push(v.reason);
          continue;
        }
        if (v.verdict === 'fail') {
          numericFailure = true;
          for (const f of v.failures) if (!failures.some((g) => g.kind === f.kind)) failures.push(f);
        } else {
          pointsChecked++;
          if (v.printedUndefined) printedUndefined++;
          passed ??= v.values;
          for (const k of ['fd', 'compiled', 'roundtrip'] as const) closest[k] = Math.max(closest[k], v.ratios[k]);
        }
        break;
      }
      if (reasons.length === DRAWS) {
        const r = mostCommon(reasons);
        skipped[r] = (skipped[r] ?? 0) + 1;
      }
    }
    if (passed && !numericFailure) {
      phase('exported');
      const f = exportedCheck(spec, d, passed, ctx.rand);
      if (f) failures.push(f);
    }
    // A printed form longer than the input limit is not input (the CLI and the page refuse it),
    // so it has no round trip: counted, not judged (a network's Hessian by a matrix printed 21,945
    // characters in the vec layout; read back with the limit lifted, the reference evaluator took
    // over the case's 10 s limit).
    if (dv?.matrix && dv.matrix.length > MAX_INPUT_LENGTH) tooLong = true;
    else if (dv?.matrix && passed && !numericFailure) {
      phase('reference');
      const f = vecRoundTrip(dv, d, spec, passed, ctx.rand);
      if (f) failures.push(f);
    }
  } catch (e) {
    if (!(e instanceof CaseFailed)) throw e;
    failures.push(e.failure);
  }
  return { ...none, ...info, ...(vec ? { vec } : {}), ...(printedUndefined > 0 ? { printedUndefined } : {}), ...(tooLong ? { tooLong } : {}), failures, pointsChecked };
}

interface Context {
  readonly spec: CaseSpec;
  readonly d: Derivative;
  readonly phase: (p: Phase) => void;
  /** Receives a line per point judged (npm run fuzz -- --expr … --trace). */
  readonly trace: ((line: string) => void) | undefined;
  readonly f: Oracle;
  readonly compiled: (values: Values) => Tensor;
  readonly printed: { f: Oracle } | { error: string } | undefined;
  readonly rand: () => number;
}

type Ratios = Record<'fd' | 'compiled' | 'roundtrip', number>;
type Verdict =
  | { readonly verdict: 'skip'; readonly reason: SkipReason }
  | { readonly verdict: 'pass'; readonly ratios: Ratios; readonly values: ReadonlyMap<string, Tensor>; readonly printedUndefined: boolean }
  | { readonly verdict: 'fail'; readonly failures: Failure[] };

/**
 * One random point: skipped where finite differences cannot judge (outside the domain, at a kink,
 * too ill-conditioned for rounding to be told from error), else every check passes or fails there.
 */
function judgePoint(ctx: Context, firstPoint: boolean): Verdict {
  const { spec, d, f } = ctx;
  const values = drawPoint(spec.env, ctx.rand, firstPoint);
  const dirs = Array.from({ length: spec.order }, () => drawDirection(spec.env.find((v) => v.name === spec.wrt)!, ctx.rand));
  ctx.phase('oracle');
  const here = kinkSigns(() => f(values));
  const fx = here.value.data;
  if (!fx.every(Number.isFinite)) return skip('domain');
  // Values this large at inputs of size ≤ 2 are a rounding residue in a denominator
  // (y/(norm2(x)^2 - x'*x)) or an overflow on the way: mathjs's number means nothing there.
  if (maxAbs(fx) > TOL.fMax) return skip('ill-conditioned');
  // f moves by more than a thousandth of itself when the inputs move by a rounding: too ill-conditioned.
  const moved = Math.max(...[0, 1].map(() => maxDiff(f(perturb(values, ctx.rand)).data, fx)));
  if (!(moved <= TOL.conditioned * Math.max(1, maxAbs(fx)))) return skip('ill-conditioned');
  // The stencil must stay on one side of every kink (abs, sign, relu, norm2 at 0): across one, f
  // has no derivative for it to approximate, though its two step sizes may still agree.
  let crossed = false;
  const watched: Oracle = (v) => {
    const r = kinkSigns(() => f(v));
    if (!sameSides(r.signs, here.signs)) crossed = true;
    return r.value;
  };
  let fd = finiteDifference(watched, values, spec.wrt, dirs);
  if (!fd.finite) return skip('domain');
  if (crossed) return skip('fd-untrusted');
  // f's rounding noise, measured where the plain bound (64 ulps) is not enough.
  let measured = false;
  const measureNoise = (): void => {
    if (!measured) fd = fd.withNoise(noiseLevel(f, values, spec.wrt, dirs[0]!, STEP[spec.order]! / 4));
    measured = true;
  };
  if (!fdTrusted(fd)) measureNoise();
  if (!fdTrusted(fd)) return skip('fd-untrusted');
  const at = describePoint(values, spec);
  const input = Object.fromEntries(values);
  let ours: Tensor;
  ctx.phase('reference');
  try {
    ours = d.evaluate(input);
  } catch (e) {
    if (!(e instanceof SingularMatrixError)) throw crash('evaluate', e);
    // f is smooth here (mathjs computes it and its finite differences agree): the derivative exists.
    return fails('stopped', `${at}: the reference evaluator stops (${e.message}) where the derivative exists: finite differences ${show(fd.value)}`);
  }
  let comp: Tensor;
  ctx.phase('compiled');
  try {
    comp = ctx.compiled(input);
  } catch (e) {
    if (!(e instanceof SingularMatrixError)) throw crash('compiled', e);
    return fails('compiled', `${at}: the compiled evaluator says ${e.message}; the reference evaluator gives ${show(ours.data)}`);
  }
  const want = derivedShape(spec).join();
  if (ours.shape.join() !== want) return fails('wrong', `${at}: the derivative has shape [${ours.shape.join(',')}], not [${want}]`);
  if (comp.shape.join() !== want) return fails('compiled', `${at}: the compiled result has shape [${comp.shape.join(',')}], not [${want}]`);
  const dir = contract(ours.data, dirs);
  ctx.phase('oracle');
  let pv = ctx.printed && 'f' in ctx.printed ? ctx.printed.f(values).data : undefined;
  const judge = (s: Spread): Ratios => ({
    fd: fdRatio(dir, fd, TOL.spreadFactor * s.dir),
    compiled: agreement(comp.data, ours.data, TOL.compiledRel, TOL.spreadFactor * s.tensor),
    roundtrip: pv ? agreement(pv, ours.data, TOL.roundtripRel, TOL.spreadFactor * Math.max(s.tensor, s.printed ?? 0)) : 0,
  });
  const traceRatios = (what: string, r: Ratios): void =>
    ctx.trace?.(`  ${at}\n  ${what}: error/tolerance fd ${r.fd.toPrecision(3)}, compiled ${r.compiled.toPrecision(3)}, round trip ${r.roundtrip.toPrecision(3)}; finite differences ${show(fd.value)} (est ${fd.est.toPrecision(3)}, noise ${fd.noise.toPrecision(3)}), ours ${show(dir)}`);
  let strict = judge({ tensor: 0, dir: 0 });
  // The printed form may be undefined where the derivative is not: it writes the derivative of
  // adj (det's second derivative) with A⁻¹, which the evaluators' adj2 does without. There the
  // round trip has nothing to compare.
  let printedUndefined = false;
  if (!(strict.roundtrip <= 1) && printedSingular(ctx, input)) {
    pv = undefined;
    printedUndefined = true;
    ctx.trace?.(`  ${at}\n  the printed form is undefined here (a singular matrix); the round trip is not judged`);
    strict = judge({ tensor: 0, dir: 0 });
  }
  if (!passes(strict) && !measured) {
    ctx.phase('oracle');
    measureNoise();
    if (!fdTrusted(fd)) return skip('fd-untrusted');
    strict = judge({ tensor: 0, dir: 0 });
  }
  traceRatios('strict', strict);
  if (passes(strict)) return { verdict: 'pass', ratios: strict, values, printedUndefined };
  // Something differs: is it more than rounding can do at this point?
  ctx.phase('reference');
  const spread = roundingSpread(d, values, dirs, ctx.rand, ours.data);
  if (!(spread.tensor <= TOL.conditioned * Math.max(1, maxAbs(ours.data)))) return skip('ill-conditioned');
  // The printed form is evaluated by the oracle, whose rounding differs from ours: a determinant
  // that ricci judges singular (0) is the oracle's round-off, which the printed form's scalar
  // factors may multiply (b^-9*a^-8*det(X'*X) at a rank-deficient X'*X).
  const printedSpread = pv && ctx.printed && 'f' in ctx.printed ? oracleSpread(ctx.printed.f, values, pv, ctx.rand) : 0;
  let loose = judge({ ...spread, printed: printedSpread });
  ctx.trace?.(`  rounding spread of the derivative ${spread.tensor.toPrecision(3)} (contracted ${spread.dir.toPrecision(3)})`);
  if (!(loose.compiled <= 1)) {
    // The compiled evaluator sums in its own order, and its rounding may move more than the
    // reference's: a term that is 0 in exact arithmetic only at the drawn sizes (X./(matrix(2)*X)
    // summed over the one row of a 1×5 X, whose derivative is 0 there) is a difference of entries
    // of 10⁷ that the compiled evaluator left at 1e-8 and the reference at 1e-13 (seed 61). Judged,
    // as generated modules are, to as much as either moves when the inputs move by a rounding.
    const own = moduleSpread((v) => ctx.compiled(v as Values), values, comp.data, ctx.rand);
    loose = { ...loose, compiled: agreement(comp.data, ours.data, TOL.compiledRel, TOL.spreadFactor * Math.max(spread.tensor, own)) };
    ctx.trace?.(`  rounding spread of the compiled result ${own.toPrecision(3)}: compiled error/tolerance ${loose.compiled.toPrecision(3)}`);
  }
  traceRatios('with the spread', loose);
  if (passes(loose)) return skip('ill-conditioned');
  if (!ours.data.every(Number.isFinite) && undefinedExactly(spec, input)) return skip('domain');
  // Finite differences that a finer step contradicts were too coarse to judge (see stableAtFinerStep).
  ctx.phase('oracle');
  const coarse = !(loose.fd <= 1) && !stableAtFinerStep(ctx.f, values, spec.wrt, dirs, fd);
  if (!(loose.fd <= 1) && !coarse && !oracleSettled(ctx.f, values, here.signs, ctx.rand)) return skip('ill-conditioned');
  const out: Failure[] = [];
  if (!(loose.fd <= 1) && !coarse) out.push({ kind: 'wrong', detail: `${at}: D^${spec.order}f[u…] = ${show(dir)}, finite differences ${show(fd.value)}` });
  if (!(loose.compiled <= 1)) out.push({ kind: 'compiled', detail: `${at}: compiled ${show(comp.data)}, reference ${show(ours.data)}` });
  if (!(loose.roundtrip <= 1)) out.push({ kind: 'roundtrip', detail: `${at}: printed ${d.matrix} gives ${show(pv!)}, the derivative ${show(ours.data)}` });
  if (out.length === 0) return skip('fd-untrusted');
  return { verdict: 'fail', failures: out };
}

/**
 * The generated JS module (generateCode, as `ricci code` writes it) at a point where the reference
 * evaluator passed every check: the same derivative to rounding, or a failure. Rounding is judged
 * as for the compiled evaluator: where the two differ by more than the plain bound, by as much as
 * the reference or the module moves when the inputs move by a rounding (moduleSpread). The module
 * also computes the value, which is defined there (the oracle computed it). `source`: the module's
 * text (tests tamper with it).
 */
export function exportedCheck(
  spec: CaseSpec,
  d: Derivative,
  values: ReadonlyMap<string, Tensor>,
  rand: () => number,
  source: (spec: CaseSpec) => string = (c) => generateCode(c.text, c.wrt, { order: c.order, lang: 'js', let: c.decls }),
): Failure | undefined {
  const input = Object.fromEntries(values);
  const ours = d.evaluate(input);
  const at = describePoint(values, spec);
  let got: Tensor;
  let evaluate: (v: unknown) => Tensor;
  try {
    const src = source(spec);
    const module = new Function(`${src.replace(/^export /gm, '')}\nreturn evaluate;`)() as (v: unknown) => Record<string, Tensor | number>;
    const key = outputKey(spec.order, spec.shape.length);
    evaluate = (v) => {
      const out = module(v)[key];
      return typeof out === 'number' ? { shape: [], data: Float64Array.of(out) } : out!;
    };
    got = evaluate(input);
  } catch (e) {
    // The module computes the value too; where ricci's own value is undefined in exact arithmetic
    // (logdet(B*inv(B)*(norm2(x)^2 - x'*x)) is logdet of 0·I; the oracle's round-off made it a
    // number), the module may stop where the derivative, 0 here, is defined (seed 22).
    if (valueUndefined(spec, input)) return undefined;
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { kind: 'exported', detail: `${at}: the generated module fails: ${msg.split('\n')[0]}`, signature: signatureOf(msg) };
  }
  const want = derivedShape(spec).join();
  if (got.shape.join() !== want) return { kind: 'exported', detail: `${at}: the generated module's result has shape [${got.shape.join(',')}], not [${want}]` };
  if (agreement(got.data, ours.data, TOL.compiledRel, 0) <= 1) return undefined;
  let own: number;
  try {
    own = moduleSpread(evaluate, values, got.data, rand);
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { kind: 'exported', detail: `${at}: the generated module fails a rounding away: ${msg.split('\n')[0]}`, signature: signatureOf(msg) };
  }
  const spread = Math.max(roundingSpread(d, values, [], rand, ours.data).tensor, own);
  if (agreement(got.data, ours.data, TOL.compiledRel, TOL.spreadFactor * spread) <= 1) return undefined;
  return { kind: 'exported', detail: `${at}: generated ${show(got.data)}, reference ${show(ours.data)}` };
}

/**
 * How far the generated module's result moves when the inputs move by a rounding (eight moves): its
 * own conditioning, which may differ from the reference's where it writes a derivative in another
 * form (det's Hessian through adj2, whose ones-contracted sum is 0 in exact arithmetic and a
 * difference of large entries in floating point, where the reference's simplified form has no such
 * term; seed 55 case 1778). Eight, not two: a result that is 0 in exact arithmetic at the drawn
 * sizes, a difference of large terms, may round to the same residue at two moved points (the third
 * derivative of softmax((X*x).^3) by a 1×8 X, 0 since softmax of one entry is 1: the compiled
 * evaluator gave -1.07e-9 at the point and at both moves, the reference 0; seed 21 case 5533).
 * It is only measured where the result and the reference disagree. A module (or the compiled
 * evaluator, whose error is a SingularMatrixError) that finds a matrix singular at a moved point is
 * as sensitive as it gets.
 */
function moduleSpread(evaluate: (v: unknown) => Tensor, values: ReadonlyMap<string, Tensor>, base: Float64Array, rand: () => number): number {
  let spread = 0;
  for (let k = 0; k < 8; k++) {
    try {
      spread = Math.max(spread, maxDiff(evaluate(Object.fromEntries(perturb(values, rand))).data, base));
    } catch (e) {
      if (e instanceof SingularMatrixError || (e instanceof RangeError && /singular/.test(e.message))) return Infinity;
      throw e;
    }
  }
  return spread;
}

/**
 * Whether the printed matrix form inverts a matrix that is singular at the point: ricci's reference
 * evaluator stops on the form, or on the inverse of one of the matrices it inverts. The second is
 * needed where ricci, reading the form, simplifies the inverse away while mathjs computes it: the
 * Hessian of det(alpha/3*(y*y').^-1) by y is printed with inv(t1), t1 = y.^-1*(y.^-1)' of rank 1,
 * which ricci's reading multiplies by adj(t1) = 0 (seed 22, case 4362).
 */
function printedSingular(ctx: Context, input: Record<string, Tensor>): boolean {
  const stops = (text: string): boolean => {
    try {
      derivative(text, ctx.spec.wrt, { order: 0, let: ctx.spec.decls }).evaluate(input);
      return false;
    } catch (e) {
      return e instanceof SingularMatrixError;
    }
  };
  const text = ctx.d.matrix!;
  if (stops(text)) return true;
  const ast = parse(text);
  const where = ast.kind === 'where' ? text.slice(ast.body.span.end) : '';
  const inverted: Ast[] = [];
  const walk = (a: Ast): void => {
    if (a.kind === 'call' && a.fn === 'inv') inverted.push(a.args[0]!);
    astChildren(a).forEach(walk);
  };
  walk(ast);
  return inverted.some((a) => stops(`inv(${text.slice(a.span.start, a.span.end)})${where}`));
}

/**
 * Whether ricci's own expression is undefined at the point: its exact simplification divides by an
 * identically zero expression ((tr(B*S) - tr(S*B))/(tr(B*S) - tr(S*B)) is 0/0, and
 * (u/(norm2(y)^2 - y'*y))^-2 is (u/0)^-2, which evaluates to 0), which the oracle, rounding,
 * computes as a number. The derivative is undefined there too.
 */
function undefinedExactly(spec: CaseSpec, input: Record<string, Tensor>): boolean {
  const f = derivative(spec.text, spec.wrt, { order: 0, let: spec.decls });
  return holdsZeroPole(f.result.node) || !f.evaluate(input).data.every(Number.isFinite);
}

/** undefinedExactly, where a singular matrix in ricci's own value counts as undefined too. */
function valueUndefined(spec: CaseSpec, input: Record<string, Tensor>): boolean {
  try {
    return undefinedExactly(spec, input);
  } catch (e) {
    if (e instanceof SingularMatrixError) return true;
    throw e;
  }
}

const skip = (reason: SkipReason): Verdict => ({ verdict: 'skip', reason });
const passes = (r: Ratios): boolean => r.fd <= 1 && r.compiled <= 1 && r.roundtrip <= 1;
const fails = (kind: FailureKind, detail: string): Verdict => ({ verdict: 'fail', failures: [{ kind, detail }] });

/**
 * err / tolerance of two evaluations of one quantity by different routes: relative to the result
 * or, where it cancels to nearly zero, to the inputs' scale (1), plus a rounding allowance. Entries
 * where the reference is NaN or ±∞ are not compared: there the value itself is wrong (the finite
 * difference check says so), and plain loops turn a delta times NaN into NaN where kernels that
 * never form the delta leave 0.
 */
function agreement(got: Float64Array, ref: Float64Array, rel: number, spread: number): number {
  const keep = (_: number, i: number): boolean => Number.isFinite(ref[i]!);
  return maxDiff(got.filter(keep), ref.filter(keep)) / (rel * Math.max(1, maxAbs(ref)) + spread);
}

interface Spread {
  /** Largest change of an entry of the derivative. */
  readonly tensor: number;
  /** Largest change of an entry of the printed form, evaluated by the oracle. */
  readonly printed?: number;
  /** Largest change of the derivative contracted with the directions (what finite differences see). */
  readonly dir: number;
}

/**
 * How far the reference result moves when every input moves by a relative 1e-12 (a few thousand
 * ulps), in two random directions: an empirical bound on what rounding can do to it.
 */
function roundingSpread(
  d: Derivative,
  values: ReadonlyMap<string, Tensor>,
  dirs: readonly Float64Array[],
  rand: () => number,
  base: Float64Array = d.evaluate(Object.fromEntries(values)).data,
): Spread {
  const baseDir = contract(base, dirs);
  let tensor = 0;
  let dir = 0;
  for (let k = 0; k < 2; k++) {
    let r: Float64Array;
    try {
      r = d.evaluate(Object.fromEntries(perturb(values, rand))).data;
    } catch (e) {
      // Singular a rounding away: the result is as sensitive as it gets.
      if (e instanceof SingularMatrixError) return { tensor: Infinity, dir: Infinity };
      throw crash('evaluate', e);
    }
    tensor = Math.max(tensor, maxDiff(r, base));
    dir = Math.max(dir, maxDiff(contract(r, dirs), baseDir));
  }
  return { tensor, dir };
}

/** Whether every kink argument lies on the same side of 0 in both traces (kinkSigns). */
function sameSides(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/**
 * The scale below which a move of f counts against it as if f were this large: mathjs's
 * norm2(s)^2 - s'*s at s = sigmoid(y) is 0 or ±2.2e-16 from one move to the next, times a factor
 * of 3·10¹⁰ an f of up to ±4.8e-6 that changed sign with the moves, whose second differences were
 * taken for a derivative of 1e-3 where ricci's exact 0 is right (seed 22, case 9878); a floor of 1
 * let that noise pass as settled.
 */
const SETTLED_FLOOR = 1e-6;

/**
 * Whether the oracle's f stays what it is when the inputs move by a rounding, judged more closely
 * than on the way in (two moves): eight moves, and every argument of abs, sign, relu and norm2 on
 * its side of 0. A sub-expression that is 0 in exact arithmetic is the oracle's round-off, which
 * may keep its value over two moves and still be noise: (tr(B*A) - tr(A*B)).^(x'*x) is ricci's
 * 0^(x'*x) = 0 and mathjs's (2e-16)^0.05 = 0.16, sign(tr(B*B') - tr(B'*B)) is 0 and ±1 (seeds 36, 37).
 * A move counts against f beyond 1e-3 of f, or of 1e-6 where f is smaller (SETTLED_FLOOR): f's
 * finite differences are judged to 1e-6, and noise of that size in f is far more than they stand.
 */
function oracleSettled(f: Oracle, values: ReadonlyMap<string, Tensor>, signs: readonly number[], rand: () => number): boolean {
  const base = f(values).data;
  for (let k = 0; k < 8; k++) {
    let r: { value: Tensor; signs: number[] };
    try {
      r = kinkSigns(() => f(perturb(values, rand)));
    } catch {
      return false;
    }
    if (!sameSides(r.signs, signs)) return false;
    if (!(maxDiff(r.value.data, base) <= TOL.conditioned * Math.max(SETTLED_FLOOR, maxAbs(base)))) return false;
  }
  return true;
}

/** How far the oracle's value of the printed form moves when the inputs move by a rounding. */
function oracleSpread(f: Oracle, values: ReadonlyMap<string, Tensor>, base: Float64Array, rand: () => number): number {
  let spread = 0;
  for (let k = 0; k < 2; k++) {
    let r: Float64Array;
    try {
      r = f(perturb(values, rand)).data;
    } catch {
      return Infinity;
    }
    spread = Math.max(spread, maxDiff(r, base));
  }
  return spread;
}

function guard<T>(stage: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw crash(stage, e);
  }
}

/**
 * The printed matrix form as a mathjs function: parsed and checked by our front end (its only
 * source of types), sizes bound from the variables' values and from the derivative's shape.
 */
function printedOracle(d: Derivative, spec: CaseSpec): { f: Oracle } | { error: string } {
  const text = d.matrix!;
  let ast: Ast;
  let c: ReturnType<typeof checkTypes>;
  try {
    ast = parse(text);
    c = checkTypes(text, ast, spec.decls);
  } catch (e) {
    return { error: `the printed form ${text} does not parse back: ${(e as Error).message}` };
  }
  const sizes = new Map<number, number>([[ONE, 1]]);
  const bind = (dims: readonly number[], shape: readonly number[]): void => dims.forEach((dm, i) => sizes.set(c.sizes.find(dm), shape[i]!));
  const rootType = c.types.get(ast)!;
  const rootKind = kindOf(rootType, c.sizes);
  const rootDims = rootKind === 'scalar' ? [] : rootKind === 'vector' ? [rootType.rows] : rootKind === 'row vector' ? [rootType.cols] : [rootType.rows, rootType.cols];
  const expectShape = derivedShape(spec);
  if (rootDims.length !== expectShape.length) return { error: `the printed form ${text} is a ${rootKind}, the derivative has shape [${expectShape.join(',')}]` };
  bind(rootDims, expectShape);
  for (const v of c.vars.values()) {
    const s = spec.env.find((e) => e.name === v.name)?.shape;
    if (!s) return { error: `the printed form ${text} uses ${v.name}, which the expression does not` };
    const k = kindOf(v.type, c.sizes);
    bind(k === 'scalar' ? [] : k === 'vector' ? [v.type.rows] : [v.type.rows, v.type.cols], s);
  }
  inferProductSizes(c, sizes);
  const dim = (x: number): number => {
    const s = sizes.get(c.sizes.find(x));
    if (s === undefined) throw new Error('unbound');
    return s;
  };
  try {
    const toKind = (k: ReturnType<typeof kindOf>): OKind => (k === 'row vector' ? 'row' : k);
    // Plain powers: the printed form is only evaluated (0^b is 0 for b > 0), not differentiated.
    const m = mathText(
      ast,
      (a) => {
        const t = c.types.get(a)!;
        return { kind: toKind(kindOf(t, c.sizes)), rows: dim(t.rows), cols: dim(t.cols) };
      },
      false,
    );
    return { f: oracle(m, expectShape) };
  } catch {
    return { error: `the printed form ${text} has a size that no variable fixes` };
  }
}

/**
 * The derivative in the vec layout where it differs from the default one and is a matrix or a
 * vector there: the expression or the variable a matrix, and at most two axes once each matrix is
 * one (the Jacobian of a matrix by a matrix, the Hessian of a scalar by one).
 */
function vecDerivative(spec: CaseSpec): Derivative | undefined {
  const wrtRank = spec.env.find((v) => v.name === spec.wrt)!.shape.length;
  const axes = (spec.shape.length > 0 ? 1 : 0) + (wrtRank > 0 ? spec.order : 0);
  if (axes > 2 || (spec.shape.length !== 2 && wrtRank !== 2)) return undefined;
  return guard('derive (vec layout)', () => derivative(spec.text, spec.wrt, { order: spec.order, let: spec.decls, layout: 'vec' }));
}

/** The merge groups of the vec layout: 2 for each matrix (the expression's, then wrt's per order), 1 for every other axis. */
function vecPairs(spec: CaseSpec): number[] {
  const w = spec.env.find((v) => v.name === spec.wrt)!.shape;
  const axes = (shape: readonly number[]): number[] => (shape.length === 2 ? [2] : shape.map(() => 1));
  return [...axes(spec.shape), ...Array.from({ length: spec.order }, () => axes(w)).flat()];
}

/**
 * The vec layout's printed form, read back by our parser and evaluated by the reference evaluator
 * (sizes from the variables and the result's shape), against the derivative vectorized here.
 */
function vecRoundTrip(dv: Derivative, d: Derivative, spec: CaseSpec, values: ReadonlyMap<string, Tensor>, rand: () => number): Failure | undefined {
  const want = vectorize(d.evaluate(Object.fromEntries(values)), vecPairs(spec));
  let got: Tensor;
  try {
    const a = analyze(dv.matrix!, spec.decls);
    const root = a.lowered.root;
    const known = new Map(root.shape.map((dm, i) => [dm, want.shape[i]!] as const));
    got = evaluateReference(root, values, bindSizes([...a.lowered.vars.values(), root], values, undefined, known));
  } catch (e) {
    if (e instanceof SingularMatrixError) return undefined;
    return { kind: 'roundtrip', detail: `vec layout: the printed form ${dv.matrix} does not evaluate: ${(e as Error).message.split('\n')[0]}` };
  }
  const at = describePoint(values, spec);
  if (got.shape.join() !== want.shape.join()) return { kind: 'roundtrip', detail: `vec layout at ${at}: printed ${dv.matrix} has shape [${got.shape.join(',')}], not [${want.shape.join(',')}]` };
  if (agreement(got.data, want.data, TOL.roundtripRel, 0) <= 1) return undefined;
  const spread = roundingSpread(d, values, [], rand).tensor;
  if (agreement(got.data, want.data, TOL.roundtripRel, TOL.spreadFactor * spread) <= 1) return undefined;
  return { kind: 'roundtrip', detail: `vec layout at ${at}: printed ${dv.matrix} gives ${show(got.data)}, the derivative vectorized ${show(want.data)}` };
}

/** The numeric shape of the derivative: shape(f) ++ shape(wrt) per order. */
function derivedShape(spec: CaseSpec): number[] {
  const w = spec.env.find((v) => v.name === spec.wrt)!.shape;
  const out = [...spec.shape];
  for (let k = 0; k < spec.order; k++) out.push(...w);
  return out;
}

function mostCommon<T>(xs: readonly T[]): T {
  const counts = new Map<T, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
}

function show(a: Float64Array): string {
  const xs = Array.from(a.slice(0, 4), (v) => (Number.isFinite(v) ? Number(v.toPrecision(6)).toString() : String(v)));
  return `[${xs.join(', ')}${a.length > 4 ? `, … (${a.length})` : ''}]`;
}

function describePoint(values: ReadonlyMap<string, Tensor>, spec: CaseSpec): string {
  const used = [...values].filter(([k]) => new RegExp(`\\b${k}\\b`).test(spec.text));
  return used.map(([k, v]) => `${k}=${v.shape.length === 0 ? Number(v.data[0]!.toPrecision(4)) : show(v.data)}`).join(' ') || 'at the point';
}

