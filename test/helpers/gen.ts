/**
 * Random well-typed expressions for property tests: scalars a, b; vectors x, y (size n);
 * matrices A, B (n×n). Every production is fully parenthesized and stays inside the domain of its
 * functions (log and sqrt of 1 + u², inverses of M*M' + eye), so derivatives exist everywhere.
 */
import fc from 'fast-check';

export type Ty = 's' | 'v' | 'm';

const LEAVES: Record<Ty, string[]> = {
  s: ['a', 'b', '0.5', '2'],
  v: ['x', 'y'],
  m: ['A', 'B'],
};

type P = (g: (t: Ty) => string) => string;

const RULES: Record<Ty, P[]> = {
  s: [
    (g) => `((${g('v')})'*${g('v')})`,
    (g) => `((${g('v')})'*${g('m')}*${g('v')})`,
    (g) => `sum(${g('v')})`,
    (g) => `norm2(${g('v')})`,
    (g) => `tr(${g('m')})`,
    (g) => `(${g('s')} + ${g('s')})`,
    (g) => `(${g('s')} - ${g('s')})`,
    (g) => `(${g('s')}*${g('s')})`,
    (g) => `exp(${g('s')}/4)`,
    (g) => `sin(${g('s')})`,
    (g) => `tanh(${g('s')})`,
    (g) => `sigmoid(${g('s')})`,
    (g) => `softplus(${g('s')})`,
    (g) => `arctan(${g('s')})`,
    (g) => `(${g('s')})^2`,
    (g) => `sqrt(${g('s')}^2 + 1)`,
    (g) => `log(${g('s')}^2 + 1)`,
    (g) => `det(${g('m')})`,
    (g) => {
      const m = g('m');
      return `logdet(${m}*(${m})' + eye)`;
    },
    (g) => `norm2(${g('m')})^2`,
  ],
  v: [
    (g) => `(${g('m')}*${g('v')})`,
    (g) => `((${g('m')})'*${g('v')})`,
    (g) => `(${g('v')} + ${g('v')})`,
    (g) => `(${g('v')} - ${g('v')})`,
    (g) => `(${g('s')}*${g('v')})`,
    (g) => `(${g('v')}.*${g('v')})`,
    (g) => `exp(${g('v')}/4)`,
    (g) => `sin(${g('v')})`,
    (g) => `tanh(${g('v')})`,
    (g) => `sigmoid(${g('v')})`,
    (g) => `(${g('v')}./(${g('v')}.*${g('v')} + vector(1)))`,
    (g) => `diag(${g('m')})`,
    (g) => `(${g('v')}).^2`,
    (g) => `(${g('v')} + vector(1))`,
  ],
  m: [
    (g) => `(${g('m')}*${g('m')})`,
    (g) => `(${g('m')} + ${g('m')})`,
    (g) => `(${g('m')})'`,
    (g) => `(${g('s')}*${g('m')})`,
    (g) => `(${g('v')}*(${g('v')})')`,
    (g) => `(${g('m')}.*${g('m')})`,
    (g) => `diag(${g('v')})`,
    (g) => {
      const m = g('m');
      return `inv(${m}*(${m})' + eye)`;
    },
    (g) => `tanh(${g('m')})`,
    (g) => `(${g('m')})^2`,
    (g) => `(${g('m')})^3`,
    (g) => `dpow(${g('m')}, 4, ${g('m')})`,
    (g) => `(${g('m')} - 2*eye)`,
  ],
};

/** A random expression of type t, built from a stream of random choices. */
function build(t: Ty, depth: number, pick: (n: number) => number): string {
  if (depth <= 0 || pick(3) === 0) {
    const l = LEAVES[t];
    return l[pick(l.length)]!;
  }
  const rules = RULES[t];
  return rules[pick(rules.length)]!((u) => build(u, depth - 1, pick));
}

export function exprArb(t: Ty, depth = 3): fc.Arbitrary<string> {
  return fc.array(fc.nat({ max: 1 << 20 }), { minLength: 64, maxLength: 64 }).map((choices) => {
    let k = 0;
    const pick = (n: number): number => choices[k++ % choices.length]! % n;
    return build(t, depth, pick);
  });
}

export const SHAPES = { a: [], b: [], x: [3], y: [3], A: [3, 3], B: [3, 3] } as const;
