/**
 * Sizes in printed forms. A constant the printer writes without a size — vector(1), matrix(c),
 * eye — takes its size from the context when the form is read back; where nothing in the printed
 * form fixes it (the variable that did has cancelled: tr(exp(a*matrix(1))) by a), the
 * size is written out, tied to a variable of the expression: vector(1, len(z)), eye(rows(B)).
 * The printed form is type-checked as it will be read, and only the sizes left open are given.
 */
import type { Ast } from '../syntax/ast.js';
import { check, type Declarations } from '../syntax/check.js';
import { ONE, type Dim as SizeSymbol } from '../syntax/types.js';
import { settleSizes } from '../sizeRelations.js';
import { type Dim, type Node, type VarNode, topoOrder } from '../ir/node.js';
import { call, num } from './build.js';
import { toText } from './text.js';
import { constantDims, unshared } from './mexpr.js';
import type { SizeProduct } from './matrix.js';

/** The sizes that merges (vec, kron, commutation) make: each merged size with the sizes it merges. */
export function productSizes(nodes: readonly Node[]): SizeProduct[] {
  const out: SizeProduct[] = [];
  for (const n of topoOrder(nodes)) {
    if (n.kind !== 'merge') continue;
    let axis = 0;
    n.groups.forEach((g, k) => {
      if (g > 1) out.push({ total: n.shape[k]!, parts: n.arg.shape.slice(axis, axis + g) });
      axis += g;
    });
  }
  return out;
}

/** How a variable is declared, for reading a printed form back with the same types. */
export function declarationsOf(vars: readonly VarNode[]): Declarations {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const v of vars) out[v.name] = v.symmetric ? 'symmetric matrix' : ['scalar', 'vector', 'matrix'][v.shape.length]!;
  return out;
}

/**
 * The form with a size written on every constant whose size nothing else fixes (the result's own
 * sizes count as fixed: they come from the shape it must have). `sizeOf` prints an IR size tied
 * to a variable, or undefined where no variable has it.
 */
export function tieSizes(shared: Ast, vars: readonly VarNode[], sizeOf: (d: Dim) => Ast | undefined): Ast {
  // The checker's types are per object: each place needs its own.
  const ast = unshared(shared);
  let checked: ReturnType<typeof check>;
  try {
    checked = check(toText(ast), ast, declarationsOf(vars));
  } catch {
    return ast;
  }
  const find = (d: SizeSymbol): SizeSymbol => checked.sizes.find(d);
  const fixed = new Set<SizeSymbol>([ONE]);
  for (const v of checked.vars.values()) fixed.add(find(v.type.rows)).add(find(v.type.cols));
  const body = ast.kind === 'where' ? ast.body : ast;
  const top = checked.types.get(body)!;
  fixed.add(find(top.rows)).add(find(top.cols));

  // What the products (kron's, vec's, size arguments') fix in turn: settled with every fixed size
  // at 1, a size has a value exactly where the relations fix it.
  const relations = checked.products.map((r) => ({ total: find(r.total), parts: r.parts.map(find) }));
  const determined = new Set(settleSizes(relations, new Map([...fixed].map((d) => [d, 1])))?.keys() ?? fixed);
  const undetermined = (a: Ast): boolean => {
    const t = checked.types.get(a);
    return t !== undefined && (!determined.has(find(t.rows)) || !determined.has(find(t.cols)));
  };

  const open = (a: Ast): boolean => {
    const t = checked.types.get(a);
    return t !== undefined && (!fixed.has(find(t.rows)) || !fixed.has(find(t.cols)));
  };
  const given = (a: Ast): Ast | undefined => {
    const dims = constantDims(a);
    if (!dims || !open(a)) return undefined;
    const sizes = dims.map(sizeOf);
    if (sizes.some((s) => s === undefined)) return undefined;
    if (a.kind === 'name') return call('eye', sizes[0]!);
    if (a.kind === 'call') return call(a.fn, a.args[0] ?? num(1), ...(sizes as Ast[]));
    return undefined;
  };
  /** The factors of a kron, nested krons written out: kron(a, kron(b, c)) has a, b and c. */
  const kronFactors = (a: Ast): Ast[] => (a.kind === 'call' && a.fn === 'kron' ? a.args.flatMap(kronFactors) : [a]);
  const walk = (a: Ast, inKron: boolean): Ast => {
    // kron(eye, M): eye's size is the product's divided by M's, which the evaluators work out.
    if (!inKron) {
      const g = given(a);
      if (g) return g;
    }
    switch (a.kind) {
      case 'num':
      case 'name':
        return a;
      case 'neg':
      case 'transpose':
        return { ...a, arg: walk(a.arg, false) };
      case 'binary':
        return { ...a, left: walk(a.left, false), right: walk(a.right, false) };
      case 'call': {
        if (a.fn !== 'kron') return { ...a, args: a.args.map((x) => walk(x, false)) };
        // The evaluators divide one factor's size out of the product's: where two or more
        // factors of a kron, nested ones included, are constants of open size (kron(vector(1),
        // kron(vector(1), eye))), or every factor is, or the one that is has a size that nothing
        // fixes, the product's included (kron(vector(1), S)'*kron(vector(1), eye) ties
        // len(1)·rows(S) to len(1)·cols(eye) and no more), all are given.
        const factors = kronFactors(a);
        const opened = factors.filter((x) => given(x) !== undefined);
        const give = opened.length > 1 || opened.length === factors.length || opened.some(undetermined);
        return give ? giveAll(a) : { ...a, args: a.args.map((x) => walk(x, true)) };
      }
      case 'where':
        return { ...a, body: walk(a.body, false), bindings: a.bindings.map((b) => ({ ...b, value: walk(b.value, false) })) };
    }
  };
  /** A kron whose open constants all take their sizes, in nested krons too. */
  const giveAll = (a: Ast & { kind: 'call' }): Ast => ({ ...a, args: a.args.map((x) => (x.kind === 'call' && x.fn === 'kron' ? giveAll(x) : walk(x, false))) });
  return walk(ast, false);
}
