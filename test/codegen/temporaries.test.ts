/**
 * Generated code names the printed temporaries as the printed forms do (issue 9): where the
 * derivative prints `… where t1 = exp(-y.*(X*w))`, the module computes `t1 = exp(…)`; every
 * other step is s1, s2, … For every case of both corpora, in every language.
 */
import { describe, expect, test } from 'vitest';
import { CORPUS, PRINTING, declarations } from '../helpers/corpus.js';
import { derive } from '../../src/derive.js';
import { generateCode } from '../../src/codegen/index.js';
import { topoOrder } from '../../src/ir/node.js';

const LANGS = ['js', 'ts', 'python', 'torch'] as const;
const cases = [...CORPUS, ...PRINTING].filter((c) => (c.layout ?? 'default') === 'default');

describe('the code names the printed temporaries', () => {
  test.each(cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const decls = declarations(c);
    const r = derive(c.expr, c.wrt, { order: c.order, let: decls });
    // The temporaries of the printed result, and those of lower orders (whose names the higher
    // orders leave free), which the code's header prints too.
    const lower = Array.from({ length: c.order }, (_, k) => derive(c.expr, c.wrt, { order: c.order - 1 - k, let: decls }));
    const printed = [r, ...lower].flatMap((x) => x.temporaries.map((t) => t.name));
    for (const lang of LANGS) {
      const code = generateCode(c.expr, c.wrt, { lang, order: c.order, let: decls });
      // A printed temporary may also be a form the printer made up, outside the result's DAG.
      const dag = new Set(topoOrder([r.node]));
      for (const t of r.temporaries.filter((t) => dag.has(t.node))) expect(code, `${lang}: ${t.name} = ${t.matrix ?? t.index}`).toMatch(new RegExp(`^\\s*(const )?${t.name} = `, 'm'));
      // No step is called like a temporary unless it is one (of `printed`).
      const steps = [...code.matchAll(/^\s*(?:const )?(t\d+) = /gm)].map((m) => m[1]!);
      for (const s of steps) expect(printed, `${lang}: step ${s}`).toContain(s);
    }
  });

  test('the logistic Hessian: t1 = sigmoid(-y.*(X*w)) in the printed form and in the code', () => {
    const expr = 'sum(log(exp(-y.*(X*w)) + vector(1)))';
    expect(derive(expr, 'w', { order: 2 }).matrix).toBe("X'*diag(y.^2.*(vector(1) - t1).*t1)*X where t1 = sigmoid(-y.*(X*w))");
    expect(generateCode(expr, 'w', { lang: 'python', order: 2 })).toMatch(/^ {4}t1 = 1\.0 \/ \(1\.0 \+ np\.exp\(-s\d+\)\)$/m);
    expect(generateCode(expr, 'w', { lang: 'torch', order: 2 })).toMatch(/^ {4}t1 = torch\.sigmoid\(s\d+\)$/m);
    expect(generateCode(expr, 'w', { lang: 'js', order: 2 })).toMatch(/t1\[i\] = sigmoid_\(s\d+\[i\]\)/);
  });
});
