/**
 * Printed forms over random expressions: size ratios (printed text / input text) and matrix-form
 * coverage of the classes that must have one (issue 9), and the printed size of deep chains.
 *
 *   npx tsx bench/printing.ts [count]
 */
import fc from 'fast-check';
import { derive } from '../src/derive.js';
import { matrixFormExpected } from '../src/print/coverage.js';
import { exprArb } from '../test/helpers/gen.js';

const count = Number(process.argv[2] ?? 2000);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const all: number[] = [];
const longer: number[] = [];
const byForm = { matrix: [] as number[], index: [] as number[], longMatrix: [] as number[] };
let expected = 0;
let covered = 0;
let withTemps = 0;
const misses: string[] = [];
let worst = { ratio: 0, text: '' };
const samples = fc.sample(fc.tuple(fc.oneof(exprArb('s'), exprArb('v')), fc.constantFrom('x', 'A', 'a'), fc.integer({ min: 1, max: 2 })), { numRuns: count, seed: 42 });
for (const [expr, wrt, order] of samples) {
  let r;
  try {
    r = derive(expr, wrt, { order });
  } catch {
    continue;
  }
  const printed = r.matrix ?? r.index;
  const ratio = printed.length / expr.length;
  all.push(ratio);
  if (expr.length >= 10) longer.push(ratio);
  (r.matrix !== null ? byForm.matrix : byForm.index).push(ratio);
  if (r.matrix !== null && expr.length >= 10) byForm.longMatrix.push(ratio);
  if (r.temporaries.length > 0) withTemps++;
  if (ratio > worst.ratio) worst = { ratio, text: `${expr} by ${wrt}, order ${order}: ${printed}` };
  if (matrixFormExpected(r)) {
    expected++;
    if (r.matrix !== null) covered++;
    else if (misses.length < 10) misses.push(`${expr} by ${wrt}, order ${order}`);
  }
}
const stats = (xs: number[]): string =>
  `n ${xs.length}: median ${quantile(xs, 0.5).toFixed(2)}, p90 ${quantile(xs, 0.9).toFixed(2)}, p99 ${quantile(xs, 0.99).toFixed(2)}, max ${Math.max(...xs).toFixed(2)}`;
console.log(`printed/input length, random scalar and vector expressions (depth ≤ 3), orders 1-2, by x, A or a:`);
console.log(`  all                     ${stats(all)}`);
console.log(`  inputs of ≥ 10 chars    ${stats(longer)}`);
console.log(`  with a matrix form      ${stats(byForm.matrix)}`);
console.log(`  … of ≥ 10 chars         ${stats(byForm.longMatrix)}`);
console.log(`  index notation only     ${stats(byForm.index)}`);
console.log(`  with temporaries: ${withTemps}`);
console.log(`matrix form where one must exist: ${covered}/${expected} (${((100 * covered) / Math.max(1, expected)).toFixed(1)}%)`);
for (const m of misses) console.log(`  no matrix form: ${m}`);
console.log(`largest ratio: ${worst.text.slice(0, 300)}`);

console.log('\nchains sum(tanh(A*tanh(A*…x))): printed length by depth');
for (let depth = 1; depth <= 10; depth++) {
  let inner = 'x';
  for (let d = 0; d < depth; d++) inner = `tanh(A*${inner})`;
  const expr = `sum(${inner})`;
  const g = derive(expr, 'x', { order: 1 });
  const h = derive(expr, 'x', { order: 2 });
  console.log(`  depth ${depth}: input ${expr.length}, gradient ${g.matrix?.length ?? 'none'}, Hessian ${h.matrix?.length ?? `none (index ${h.index.length})`}`);
}
