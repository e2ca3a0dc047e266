/**
 * Child-process helper for test/simplify/history.test.ts: derives fuzz cases of a seed in the
 * order given, in one fresh process, and prints {id: printed form} as JSON.
 * Usage: node --import tsx test/helpers/printFuzzCases.ts SEED ID,ID,…
 */
import { drawCase } from '../../fuzz/draw.js';
import { derivative } from '../../src/index.js';

const seed = Number(process.argv[2]);
const ids = (process.argv[3] ?? '').split(',').filter((s) => s !== '').map(Number);
const out: Record<number, string> = {};
for (const id of ids) {
  const c = drawCase(seed, id);
  if (!('spec' in c)) continue;
  const s = c.spec;
  try {
    const d = derivative(s.text, s.wrt, { order: s.order, let: s.decls });
    out[id] = d.matrix ?? d.index;
  } catch (e) {
    out[id] = `error: ${(e as Error).message}`;
  }
}
process.stdout.write(JSON.stringify(out));
