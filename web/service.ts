/**
 * The worker's work, apart from the worker itself so that tests run it directly: one function
 * from a request to its reply. The last few analyses are kept, so that the code and the numbers
 * for the state on screen do not derive it again.
 */
import { derivative, generateCode, type Derivative } from '../src/index.js';
import { resultSizes } from '../src/derive.js';
import type { Tensor } from '../src/tensor.js';
import { count } from './budget.js';
import { analyzeState, declarations, toProblem, type Analyzed, type Problem } from './analysis.js';
import { codeOutputs, describeReturns, LANG_NAMES } from './code.js';
import { checkAt, evaluateAt, parsePoint, pointToJson, randomPoint, type NumericPoint } from './numeric.js';
import type { CodeReply, CodeRequest, NumbersReply, NumbersRequest, Reply, Request } from './protocol.js';
import { sparsityPattern } from './sparsity.js';
import type { State } from './state.js';

/** Most entries of a derivative the Numbers tab evaluates and draws. */
export const MAX_ENTRIES = 250_000;

const CACHE_SIZE = 4;
const cache = new Map<string, Analyzed>();

/** Receives the first part of an answer ahead of the whole answer. */
export type Partial = (reply: Reply) => void;

function analyzed(state: State, partial?: Partial): Analyzed {
  const key = JSON.stringify([state.expr, state.wrt, state.order, [...state.lets], state.layout]);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const a = analyzeState(state, partial && ((computed) => partial({ kind: 'derive', computed })));
  cache.set(key, a);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return a;
}

/**
 * The state in the default layout: the code and the numbers do not depend on the layout (the
 * generated code returns shape(f) ++ shape(x) per order; the heat map draws the same tensor with
 * matrix axes flattened column-major, which is the vec layout's matrix entry for entry).
 */
function inDefaultLayout(state: State): State {
  return state.layout === 'default' ? state : { ...state, layout: 'default' };
}

function noResult(a: Analyzed): Problem {
  return a.computed.problem ?? { kind: 'error', message: 'nothing to differentiate', span: undefined };
}

function code(req: CodeRequest): CodeReply {
  const state = inDefaultLayout(req.state);
  const a = analyzed(state);
  const shown = a.computed.shown;
  if (!shown) {
    const returns = a.computed.problem?.kind === 'empty' ? 'No code: nothing to differentiate.' : 'No code: the expression has an error (shown under the input).';
    return { kind: 'code', code: '', returns, problem: undefined };
  }
  const wrt = a.computed.wrt;
  try {
    const source = generateCode(state.expr, wrt, { order: state.order, lang: state.lang, let: declarations(state.lets) });
    return { kind: 'code', code: source, returns: describeReturns(state.lang, wrt, codeOutputs(shown.exprShape, shown.wrtShape, state.order)), problem: undefined };
  } catch (e) {
    return { kind: 'code', code: '', returns: `No ${LANG_NAMES[state.lang]} code for this expression.`, problem: toProblem(e, state.expr) };
  }
}

function concreteShape(d: Derivative, sizes: ReadonlyMap<string, number>): number[] {
  return d.shape.map((name) => (name === '1' ? 1 : sizes.get(name) ?? 1));
}

function numbers(req: NumbersRequest): NumbersReply {
  const state = inDefaultLayout(req.state);
  const a = analyzed(state);
  const d = a.derivative;
  if (!d) return { kind: 'numbers', numbers: undefined, problem: noResult(a) };
  try {
    const checked = d.result.analysis.checked;
    const point: NumericPoint = req.point !== undefined ? parsePoint(req.point, checked) : randomPoint(checked, state.sizes, state.seed);
    const entries = concreteShape(d, point.sizes).reduce((p, k) => p * k, 1);
    if (entries > MAX_ENTRIES)
      return {
        kind: 'numbers',
        numbers: undefined,
        problem: {
          kind: 'error',
          message: `at these sizes the derivative has ${count(entries)} entries; the page shows at most ${count(MAX_ENTRIES)}: choose smaller sizes`,
          span: undefined,
        },
      };
    const { shape, data } = evaluateAt(d, point);
    const tensors = new Map<string, Tensor>([...point.values].map(([k, p]) => [k, { shape: [...p.shape], data: p.data }]));
    const pattern = sparsityPattern(d.result.node, resultSizes(d.result, tensors));
    const low = req.check ? derivative(state.expr, d.wrt, { order: state.order - 1, let: declarations(state.lets) }) : undefined;
    return {
      kind: 'numbers',
      problem: undefined,
      numbers: {
        sizes: point.sizes,
        pointJson: pointToJson(point),
        shape,
        data,
        pattern,
        exprRank: d.result.analysis.lowered.root.shape.length,
        wrtRank: d.result.wrtNode.shape.length,
        order: state.order,
        wrt: d.wrt,
        check: low ? checkAt(d, low, point) : undefined,
      },
    };
  } catch (e) {
    return { kind: 'numbers', numbers: undefined, problem: toProblem(e, state.expr) };
  }
}

/** The reply to a request; `partial` hears the variables of a derivation before its result. */
export function handle(req: Request, partial?: Partial): Reply {
  switch (req.kind) {
    case 'derive':
      return { kind: 'derive', computed: analyzed(req.state, partial).computed };
    case 'code':
      return code(req);
    case 'numbers':
      return numbers(req);
  }
}

/** Buffers a reply can hand over instead of copying. */
export function transferables(r: Reply): Transferable[] {
  return r.kind === 'numbers' && r.numbers ? [r.numbers.data.buffer, r.numbers.pattern.buffer] : [];
}
