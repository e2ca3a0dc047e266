/**
 * A result in all three notations, with shared sub-expressions named once.
 *
 * The matrix form comes first (matrix.ts, with references between nodes); the nodes it spells out
 * more than once become temporaries t1, t2, … (temps.ts); the index form and LaTeX use the same
 * temporaries. Where there is no matrix form, the temporaries are chosen on the index form.
 *
 *   matrix  X'*diag(y.^2.*t1./(t1 + vector(1)).^2)*X where t1 = exp(-y.*(X*w))
 *   latex   \begin{aligned} & X^\top … X \\ \text{where}\quad t_{1} &= \exp(…) \end{aligned}
 *   index   … where t1^i = exp(…)
 */
import type { Ast } from '../syntax/ast.js';
import { NO_SPAN } from '../syntax/ast.js';
import { type Node, type NodeOf, type VarNode, children, isHeld, makeAdd, topoOrder } from '../ir/node.js';
import { MatrixPrinter, type SizeProduct } from './matrix.js';
import { toText } from './text.js';
import { toLatex, whereLatex, latexName } from './latex.js';
import { type IndexForm, toIndex, freeIndexNames, indexLatex as indicesLatex, symmetrizedForm } from './index.js';
import { chooseTemporaries, temporaryNames } from './temps.js';
import { tieSizes } from './sizes.js';
import { alignFreeSigns, usedOnlyFree } from './signs.js';
import { MINUS_BUDGET, Spelling, firstOfReversed, mentions, orientWritten, placeBodySigns, reversedDifferences, signCost, turnTemporary } from './orient.js';
import { startsNegative } from './chains.js';
import { usedOnlyFreeIndex } from './indexSigns.js';

export interface Temporary {
  readonly name: string;
  readonly node: Node;
  /**
   * Its definition in matrix notation: null where it has none, and where the result has none and
   * the definition holds a sum of tensors of order 3 or more or a temporary of that order
   * (printResult, definitionAst).
   */
  readonly matrix: string | null;
  /** Its definition in index notation, free indices as in `indexName` (t1^{ij}). */
  readonly index: string;
  /** The temporary with its free indices, as the index form's definitions write it: t1^i. */
  readonly indexName: string;
  /** LaTeX of the definition: matrix notation where it has one, else index notation. */
  readonly latex: string;
}

/** One notation of the main expression, without its temporaries. */
export interface Body {
  readonly matrix: string | null;
  readonly index: string;
  readonly latex: string;
  readonly indexLatex: string;
}

export interface Printed {
  /** Matrix notation with its where clause (valid input), or null where there is no matrix form. */
  readonly matrix: string | null;
  readonly matrixAst: Ast | null;
  /** Index notation with its where clause. */
  readonly index: string;
  /** LaTeX of the matrix form where it exists, else of the index form; temporaries on aligned lines. */
  readonly latex: string;
  readonly indexLatex: string;
  /** The main expression alone, in each notation. */
  readonly body: Body;
  /** Named shared sub-expressions, each defined before it is used. */
  readonly temporaries: readonly Temporary[];
  /** The index forms as trees (the main one, then each temporary's): what the tests check the convention on. */
  readonly indexForms: readonly IndexForm[];
}

export interface PrintContext {
  /** Variables of the expression: temporaries and indices never take their names; sizes print as rows(B). */
  readonly vars: readonly VarNode[];
  /** Further names that are taken (declared variables the expression does not use). */
  readonly taken?: readonly string[];
  /** Print shared sub-expressions once, as temporaries (default true). */
  readonly temporaries?: boolean;
  /** The texts of the input's sums (writtenSums): a difference whose sign is free takes the input's. */
  readonly written?: ReadonlySet<string>;
  /** The keys of the input's sums as they stand (writtenFactors): factors the printer takes out. */
  readonly factors?: ReadonlySet<string>;
  /** Sizes that are products of others (vec, kron): see MatrixContext. */
  readonly products?: readonly SizeProduct[];
  /** The input's sums of matrices as IR nodes: see MatrixContext. */
  readonly sums?: readonly Node[];
  /** Axis pairs the index form symmetrizes (sym_{(kl)}[…]): the root is the derivative by a symmetric matrix taken as a general one. */
  readonly symmetrized?: readonly (readonly [number, number])[];
}

/**
 * `only`: the temporaries, already chosen (a second pass: where some chosen ones end up unused,
 * the result prints again with the used ones alone, so that their names run t1, t2, … without gaps).
 */
export function printResult(root: Node, ctx: PrintContext, only?: { readonly nodes: readonly Node[]; readonly indexOnly: ReadonlySet<Node> }): Printed {
  const taken = new Set([...ctx.vars.map((v) => v.name), ...(ctx.taken ?? [])]);
  const printer = new MatrixPrinter({ vars: ctx.vars, written: ctx.written, ...(ctx.factors ? { factors: ctx.factors } : {}), ...(ctx.products ? { products: ctx.products } : {}), ...(ctx.sums ? { sums: ctx.sums } : {}) });
  const main = printer.form(root);
  const useTemps = ctx.temporaries !== false;

  // Temporaries: chosen on the matrix form where there is one, else on the index form.
  let chosen: Node[];
  if (!useTemps) chosen = [];
  else if (only) chosen = [...only.nodes];
  else if (main)
    chosen = chooseTemporaries(root, {
      refs: (n) => printer.references(printer.form(n)!.ast),
      // Length 0: never named (a diagonal matrix is named by its vector, diag(t1)).
      length: (n) => (printer.isDiagonalOfPart(n) ? 0 : printer.lengthOf(n)),
      lengthWith: (n, named) => (printer.isDiagonalOfPart(n) ? 0 : printer.lengthWith(n, named)),
    });
  else chosen = chooseTemporaries(root, { refs: children, length: indexLength(), nameLength: (n) => 2 + 2 * n.shape.length });
  if (main && !only) chosen = withoutBlockingOnes(printer, root, chosen);
  const indexOnly = only?.indexOnly ?? new Set(main && useTemps ? indexOnlyTemporaries(printer, root, chosen) : []);
  if (!only) chosen = [...chosen, ...indexOnly];
  const names = temporaryNames(chosen.length, taken);
  const nameOf = new Map<Node, string>(chosen.map((n, k) => [n, names[k]!]));
  /** The names the matrix notation uses: the index notation's own temporaries are spelled out there. */
  const matrixNames = new Map([...nameOf].filter(([n]) => !indexOnly.has(n)));
  /** Temporaries defined as the negation of their node (the input's order of a difference): uses print -t1. */
  const negatedTemps = new Set<Node>();

  const matrixAst = (n: Node, top: boolean, self: Node = n): Ast | undefined => {
    const f = printer.form(n);
    if (!f) return undefined;
    // A temporary's own definition spells it out (`self`: the temporary n defines); inside it,
    // other temporaries are names.
    const named = top ? matrixNames : new Map([...matrixNames].filter(([m]) => m !== n && m !== self));
    return printer.materialize(f.ast, named, negatedTemps);
  };
  const matrixOf = (n: Node): { text: string; latex: string; uses: Node[] } | undefined => {
    const a = matrixAst(n, false);
    return a && { text: toText(a), latex: toLatex(a), uses: printer.namedUses(printer.form(n)!.ast, new Map([...matrixNames].filter(([m]) => m !== n))) };
  };
  const reserved = new Set([...taken, ...names]);
  let indexOf = new Map<Node, IndexForm>();
  /** The index form of n; `self`: the temporary that n defines, spelled out (n may be its negation). */
  const indexForm = (n: Node, self: Node = n): IndexForm => {
    let f = indexOf.get(n);
    const temps = self === n ? nameOf : new Map([...nameOf].filter(([m]) => m !== self));
    if (!f) indexOf.set(n, (f = toIndex(n, { reserved, temps, negatedTemps, matrixOf, written: ctx.written, definition: n !== indexRoot })));
    return f;
  };
  // Index notation shows a tensor's own axes: a vec layout result (a merge) by its unmerged tensor.
  const indexRoot = unmerged(root);
  /** The temporaries a form refers to directly, in the matrix or the index notation. */
  const matrixUses = (n: Node): Node[] => {
    const f = printer.form(n);
    return main && f ? printer.namedUses(f.ast, new Map([...matrixNames].filter(([m]) => m !== n))) : [];
  };
  const indexUses = (n: Node): Node[] => [...indexForm(n === root ? indexRoot : n).temps];
  /** The temporaries a notation needs, following definitions that use others. */
  const closure = (uses: (n: Node) => Node[]): Set<Node> => {
    const needed = new Set<Node>();
    const stack = uses(root);
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (needed.has(t)) continue;
      needed.add(t);
      stack.push(...uses(t));
    }
    return needed;
  };
  const inMatrix = closure(matrixUses);
  const inIndex = closure(indexUses);
  // Listed in definition order (each after the ones it uses).
  const temps = chosen.filter((n) => inMatrix.has(n) || inIndex.has(n));
  if (!only && temps.length < chosen.length) return printResult(root, ctx, { nodes: temps, indexOnly: new Set([...indexOnly].filter((n) => temps.includes(n))) });

  let bodyIndex = indexForm(indexRoot);
  const plainBody = main ? matrixAst(root, true)! : undefined;
  const whereForm = (defs: readonly Spelled[]): Ast | undefined => {
    const inWhere = defs.filter((d) => d.ast !== undefined && inMatrix.has(d.chosen));
    if (!plainBody || inWhere.length === 0) return plainBody;
    return { kind: 'where', body: plainBody, bindings: inWhere.map((d) => ({ name: d.name, nameSpan: NO_SPAN, value: d.ast! })), span: NO_SPAN };
  };
  /**
   * A temporary's definition in matrix notation. In a result without one, the temporaries are the
   * index form's, and one whose definition holds a sum of tensors of order 3 or more, or another
   * temporary of that order, gets none: the index form writes that sum once, as it stands (the
   * simplifier leaves it undistributed there, INDEX_FORM_PHASES), and a name once, where a matrix
   * form would distribute every product over the sum again and spell out the tensor.
   */
  const definitionAst = (n: Node): Ast | undefined => (main || !holdsHighOrderTensor(n, nameOf) ? matrixAst(n, false) : undefined);
  const asChosen: Spelled[] = temps.map((n) => ({ name: nameOf.get(n)!, chosen: n, node: n, ast: definitionAst(n), index: indexForm(n) }));
  const wholeAsChosen = whereForm(asChosen);
  // A temporary whose definition holds a difference the other way round from the input is defined
  // as its negation where that reads as written: t1 = X*w - y, not y - X*w; t1 = tanh(x - y), not
  // tanh(y - x). It then prints the negation, a node outside the result's DAG, which generated
  // code computes under the name (codegen/plan.ts). Where it is used only where its sign is free
  // (norm2(t1), t1*t1'), its uses stay; elsewhere they are negated and their minus placed
  // (orient.ts), where no use keeps a minus of its own and the result gains at most one minus
  // sign, differences turned below included.
  const written = ctx.written ?? new Set<string>();
  const readsReversed = (d: Spelled): boolean => d.ast !== undefined && written.size > 0 && reversedDifferences(d.ast, written) > 0;
  /** The temporary defined as its negation (its index form still the old one). */
  const negation = (d: Spelled): Spelled | undefined => {
    const neg = makeAdd([{ coef: -1, node: d.node }], d.node.shape);
    const ast = matrixAst(neg, false, d.chosen);
    return ast && { ...d, node: neg, ast };
  };
  const inWrittenOrder = (d: Spelled): Spelled | undefined => {
    const w = negation(d);
    if (!w || startsNegative(w.ast!) || reversedDifferences(w.ast!, written) >= reversedDifferences(d.ast!, written)) return undefined;
    return { ...w, index: indexForm(w.node, d.chosen) };
  };
  const usedFreeOnly = (d: Spelled): boolean => {
    if (wholeAsChosen && !usedOnlyFree(wholeAsChosen, d.name)) return false;
    const indexForms = [bodyIndex, ...asChosen.filter((x) => x !== d && inIndex.has(x.chosen)).map((x) => x.index)];
    return !inIndex.has(d.chosen) || indexForms.every((f) => usedOnlyFreeIndex(f.tree, d.name));
  };
  let spelled = asChosen.map((d) => (readsReversed(d) && usedFreeOnly(d) ? inWrittenOrder(d) : undefined) ?? d);
  let parts = whereForm(spelled);
  const tempNames = new Set(nameOf.values());
  const budget = parts && signCost(parts, written) + MINUS_BUDGET;
  // A difference that the result holds both ways round, neither as the input wrote it (A' - eye in
  // one temporary, eye - A' in another), is turned as a written one is, to the way it reads first.
  const turning = parts ? new Set([...written, ...firstOfReversed(parts, written)]) : written;
  if (parts?.kind === 'where' && turning.size > 0) {
    const turns = turnTemporaries(parts, asChosen.filter((d) => spelled.includes(d) && inMatrix.has(d.chosen)), budget!, {
      negation,
      negated: negatedTemps,
      temps: tempNames,
      written: turning,
    });
    parts = turns.form;
    spelled = spelled.map((x) => turns.turned.get(x) ?? x);
  }
  if (negatedTemps.size > 0) {
    // The index forms that use a turned temporary (as a tensor, or inside the matrix text of an
    // inverse's argument) again, with its uses negated; a turned temporary's own definition too.
    const turnedNames = [...negatedTemps].map((n) => new RegExp(`\\b${nameOf.get(n)!}\\b`));
    const stale = (f: IndexForm): boolean => f.temps.some((t) => negatedTemps.has(t)) || turnedNames.some((r) => r.test(f.text));
    indexOf = new Map([...indexOf].filter(([, f]) => !stale(f)));
    if (stale(bodyIndex)) bodyIndex = indexForm(indexRoot);
    spelled = spelled.map((d) => (d.node !== d.chosen || stale(d.index) ? { ...d, index: indexForm(d.node, d.chosen) } : d));
  }
  // Differences in the order the input wrote them, within the same budget; then those whose sign
  // is free in the sign the whole result (then the input) has.
  const oriented = parts && turning.size > 0 ? orientWritten(parts, tempNames, turning, budget) : parts;
  const untied = oriented && alignFreeSigns(oriented, ctx.written);
  // Constants whose size nothing in the printed form fixes get it written out: vector(1, len(z)).
  const fullAst = untied && tieSizes(untied, ctx.vars, (d) => printer.sizeTied(d));
  const bodyAst = fullAst && (fullAst.kind === 'where' ? fullAst.body : fullAst);
  const tiedValue = new Map(fullAst?.kind === 'where' ? fullAst.bindings.map((b) => [b.name, b.value]) : []);
  const definitions = spelled.map((d) => ({ ...d, ast: tiedValue.get(d.name) ?? d.ast }));
  const matrixDefs = definitions.filter((d) => d.ast !== undefined && inMatrix.has(d.chosen));
  const indexDefs = definitions.filter((d) => inIndex.has(d.chosen));

  // A temporary's name with its free indices, as the body writes it: t1^i_j, and {t_{1}}^{i}{}_{j}
  // (braced, so that the subscript 1 of the name does not read as an index).
  const withIndices = (name: string, rank: number, latex: boolean): string => {
    const ixs = freeIndexNames(rank, reserved).map((x, k) => ({ name: x, up: k % 2 === 0 }));
    if (latex) return ixs.length === 0 ? latexName(name) : `{${latexName(name)}}${indicesLatex(ixs)}`;
    return `${name}${ixs.map((x) => `${x.up ? '^' : '_'}${x.name}`).join('')}`;
  };
  if (ctx.symmetrized) bodyIndex = symmetrizedForm(bodyIndex, ctx.symmetrized);
  const index =
    indexDefs.length === 0
      ? bodyIndex.text
      : `${bodyIndex.text} where ${indexDefs.map((d) => `${withIndices(d.name, d.node.shape.length, false)} = ${d.index.text}`).join(', ')}`;
  const indexLatex = whereLatex(
    bodyIndex.latex,
    indexDefs.map((d) => [withIndices(d.name, d.node.shape.length, true), d.index.latex] as const),
  );
  const bodyLatex = bodyAst ? toLatex(bodyAst) : bodyIndex.latex;
  const temporaries: Temporary[] = definitions.map((d) => ({
    name: d.name,
    node: d.node,
    matrix: d.ast ? toText(d.ast) : null,
    index: d.index.text,
    indexName: withIndices(d.name, d.node.shape.length, false),
    latex: d.ast ? toLatex(d.ast) : d.index.latex,
  }));
  return {
    matrix: fullAst ? toText(fullAst) : null,
    matrixAst: fullAst ?? null,
    index,
    latex: fullAst ? whereLatex(bodyLatex, matrixDefs.map((d) => [latexName(d.name), toLatex(d.ast!)] as const)) : indexLatex,
    indexLatex,
    body: { matrix: bodyAst ? toText(bodyAst) : null, index: bodyIndex.text, latex: bodyLatex, indexLatex: bodyIndex.latex },
    temporaries,
    indexForms: [bodyIndex, ...indexDefs.map((d) => d.index)],
  };
}

/**
 * Whether n's definition, down to the other temporaries that matrix text can name (`named`, of
 * order ≤ 2), holds a sum of tensors of order 3 or more, or a temporary of that order (which matrix
 * text spells out where it is used). (The third derivative of six sin(softmax(t)) layers by x has
 * five temporaries with such sums; their matrix forms, 11,000 to 32,000 characters against index
 * forms of 370 to 670, took 4 of the 5 seconds that printing took. Of eight sin(softmax(t - y))
 * layers, one uses order-3 temporaries, 167 times as long as its index form, 3 of 4 s.)
 */
function holdsHighOrderTensor(n: Node, named: ReadonlyMap<Node, string>): boolean {
  const other = (m: Node): boolean => m !== n && named.has(m);
  const reached = topoOrder([n], (m) => (other(m) ? [] : children(m)));
  return reached.some((m) => m.shape.length > 2 && (m.kind === 'add' || other(m)));
}

/**
 * The temporaries without those that hide a vector(1) from what the printer merges around their
 * name: a name whose definition holds vector(1) goes back inline where the printed form (body and
 * definitions) then has fewer vector(1) than its uses spelled out would bring, and is no longer:
 * vector(1)*t1' next to matrix(1)*X, t1 = X'*vector(1), is matrix(1)*X (diagonals.ts, absorbOnes,
 * and the product merges). A name whose uses merge nothing stays: exp(X*t1)*t1'.
 */
function withoutBlockingOnes(printer: MatrixPrinter, root: Node, chosen: readonly Node[]): Node[] {
  if (chosen.length > MAX_TRIED_NAMES) return [...chosen];
  const ones = (text: string): number => text.match(/\bvector\(1\)/g)?.length ?? 0;
  // Each name's placeholder (§1, §2, …: no variable has it) is fixed, whichever names are kept.
  const placeholder = new Map(chosen.map((n, k) => [n, `§${k + 1}`]));
  // A text depends on the names it shows and on the definitions of those (a merge may read a
  // name's definition: t1 + t2*A with t1 = A - eye), so on the names that each of those shows: where
  // inlining one name leaves them as they were, the text is the one made before. (A definition
  // that a merge would read inside another definition is not followed: over the 10,000 fuzz
  // draws of seed 1, every printed form is the one that printing every text again gives.)
  const namesFor = (n: Node, kept: readonly Node[]): Map<Node, string> => new Map(kept.filter((m) => m !== n).map((m) => [m, placeholder.get(m)!]));
  const memo = new Map<string, string>();
  const ids = (ns: readonly Node[]): string => ns.map((m) => m.id).sort((a, b) => a - b).join(',');
  /**
   * The body and the definitions, each with the others' names; from `before` (the texts with
   * `dropped` named too), only those that showed it, or showed a name that showed it, are made
   * again: the names a text shows are what a walk of its form meets first, and a name that walk
   * never met being dropped changes neither the walk nor, by the above, the text.
   */
  const texts = (kept: readonly Node[], before?: Texts, dropped?: Node): Texts => {
    const stale = (m: Node): boolean => !before || !before.shown.has(m) || before.shown.get(m)!.includes(dropped!);
    const showing = new Map<Node, Node[]>();
    const shown = (n: Node): Node[] => {
      let s = showing.get(n);
      if (!s) showing.set(n, (s = stale(n) ? [...new Set(printer.namedUses(printer.form(n)!.ast, namesFor(n, kept)))] : before!.shown.get(n)!));
      return s;
    };
    const text = (n: Node): string => {
      if (!stale(n) && !shown(n).some(stale)) return before!.text.get(n)!;
      const key = [n, ...shown(n)].map((m) => `${m.id}:${ids(shown(m))}`).join('|');
      let t = memo.get(key);
      if (t === undefined) memo.set(key, (t = toText(printer.materialize(printer.form(n)!.ast, namesFor(n, kept)))));
      return t;
    };
    const all = [root, ...kept];
    return { text: new Map(all.map((n) => [n, text(n)])), shown: new Map(all.map((n) => [n, shown(n)])) };
  };
  const sum = (m: Map<Node, string>, f: (t: string) => number): number => [...m.values()].reduce((s, t) => s + f(t), 0);
  /** The length of the texts spelled out as the printer reads them before it merges (raw, per set of names). */
  const spelledLength = (names: readonly Node[]): number =>
    [root, ...names].reduce((s, m) => s + printer.lengthWith(m, new Set(names.filter((x) => x !== m))), 0);
  let kept = [...chosen];
  // Only a vector(1) that is a factor of a product can merge (vector(1)*u', A*vector(1)); one in an
  // entry-wise sum (vector(1) - t1.^2) cannot, and trying every such name costs a print each.
  const factorOnes = /\bvector\(1\)'?\*|\*vector\(1\)/;
  // (Its own form with the other names as names: spelled out in full it may be too long to make.)
  const own = (c: Node): string => printer.textWith(c, new Set(chosen.filter((m) => m !== c)));
  let now: Texts | undefined;
  let limit: number | undefined;
  for (const n of chosen.filter((c) => factorOnes.test(own(c)))) {
    now ??= texts(kept);
    const name = new RegExp(`${placeholder.get(n)!}(?!\\d)`, 'g');
    const uses = [...now.text].reduce((k, [m, t]) => (m === n ? k : k + (t.match(name)?.length ?? 0)), 0);
    const without = kept.filter((m) => m !== n);
    limit ??= MAX_INLINED_GROWTH * spelledLength(chosen);
    if (spelledLength(without) > limit) continue;
    const inline = texts(without, now, n);
    const merged = sum(inline.text, ones) < sum(now.text, ones) + (uses - 1) * ones(now.text.get(n)!);
    if (merged && sum(inline.text, (t) => t.length + 8) <= sum(now.text, (t) => t.length + 8)) [kept, now] = [without, inline];
  }
  return kept;
}

/**
 * withoutBlockingOnes tries inlining names only among at most this many. Each try prints again the
 * texts that show the name, and those print the definitions they read with the names changed, so
 * the tries together grow with the square of a deep chain's temporaries: the Jacobian of twelve
 * layers sin(softmax(t)), 103 names, made 1,949 texts in 7.7 s, and without the tries 1,336 in
 * 2.4 s (ten layers, 68 names: 3.2 s, then 1.5 s). None of seed 1's 10,000 fuzz forms changes.
 */
const MAX_TRIED_NAMES = 32;

/**
 * withoutBlockingOnes does not try a name where the texts, spelled out with the names left, would
 * be more than this many times as long as with every name chosen: the printer merges a text as it
 * spells out, and a layer's Jacobian that the next uses three times (softmax(t).*t) grows three
 * times a layer inlined; the Jacobian of eight such layers took 3.5 s, doubling with each layer.
 */
const MAX_INLINED_GROWTH = 4;

/** What withoutBlockingOnes prints with a set of names: each text, and the names it shows. */
interface Texts {
  readonly text: Map<Node, string>;
  readonly shown: Map<Node, Node[]>;
}

/** The tensor behind a merge at the root (also inside a sum of merges, c·merge(T) = merge(c·T)). */
function unmerged(n: Node): Node {
  if (n.kind === 'merge') return n.arg;
  if (n.kind !== 'add' || !n.terms.every((t) => t.node.kind === 'merge')) return n;
  const args = n.terms.map((t) => ({ coef: t.coef, node: (t.node as NodeOf<'merge'>).arg }));
  const shape = args[0]!.node.shape;
  return args.every((t) => t.node.shape.join() === shape.join()) ? makeAdd(args, shape) : n;
}

/**
 * Parts the index notation alone would spell out more than once, with the matrix form's
 * temporaries as names (spelled once, their parts counted once): the IR's shared nodes that have
 * no matrix form (a tensor sum nested in its own terms, which the matrix form distributes level by
 * level), and the held sums and products (a where clause's layer, the Jacobians that
 * differentiation holds), which the matrix form may multiply into one product with no name: the
 * index form of the Jacobian of eight layers softmax(t).*t, each layer's Jacobian used three times
 * by the next, was 18,887 characters. Named after those, so the matrix text keeps its numbering;
 * the matrix form never uses them (matrixNames). (Every shared node with a matrix form would
 * change the index forms of 265 of seed 1's fuzz draws, 180 of them longer: the index printer
 * writes many such parts in matrix notation, shorter than its estimate, indexLength.)
 */
function indexOnlyTemporaries(printer: MatrixPrinter, root: Node, named: readonly Node[]): Node[] {
  const opaque = new Set(named);
  const length = indexLength();
  const picked = chooseTemporaries(root, { refs: children, length, nameLength: (n) => 2 + 2 * n.shape.length }, opaque);
  return picked.filter((n) => !opaque.has(n) && ((n.shape.length > 2 && !printer.form(n)) || isHeld(n)));
}

/** Estimated length of a node's index text, spelled out (to weigh temporaries without printing). */
function indexLength(): (n: Node) => number {
  const memo = new Map<Node, number>();
  const len = (n: Node): number => {
    const hit = memo.get(n);
    if (hit !== undefined) return hit;
    // Leaves as printed: a variable's name, δ, a constant, each with its indices (^i, _j).
    if (n.kind === 'var') return n.name.length + 2 * n.shape.length;
    if (n.kind === 'const' || n.kind === 'delta') return (n.kind === 'delta' ? 1 : 3) + 2 * n.shape.length;
    // Inner nodes: a function's name and parentheses, a sum's signs; a product is juxtaposition.
    const own = n.kind === 'elem' ? n.fn.length + 2 : n.kind === 'mul' ? 0 : 3;
    const r = own + children(n).reduce((s, c) => s + len(c) + 1, 0);
    memo.set(n, r);
    return r;
  };
  return len;
}

/** A temporary as printResult spells it: its name, the node chosen, the node it prints, its forms. */
interface Spelled {
  readonly name: string;
  readonly chosen: Node;
  readonly node: Node;
  readonly ast: Ast | undefined;
  readonly index: IndexForm;
}

/**
 * The temporaries among `candidates` whose definition reads a difference against the input (with
 * the temporaries it uses spelled out), defined as their negation (`how.negation`), their uses
 * negated (orient.ts, turnTemporary), where the result's sign cost stays within `budget`
 * (orient.ts, signCost). Where a turn alone passes the budget, the temporaries defined from it
 * turn along where that reads the input's order (layers of tanh(A*… - y): t3 = tanh(A*t1 - y)
 * once t1 = tanh(A*x - y)); `negated` collects the nodes turned, so that forms printed meanwhile
 * show their uses negated.
 */
function turnTemporaries(
  form: Ast & { kind: 'where' },
  candidates: readonly Spelled[],
  budget: number,
  how: { negation: (d: Spelled) => Spelled | undefined; negated: Set<Node>; temps: ReadonlySet<string>; written: ReadonlySet<string> },
): { form: Ast; turned: Map<Spelled, Spelled> } {
  const turned = new Map<Spelled, Spelled>();
  const defs = (f: Ast & { kind: 'where' }): Map<string, Ast> => new Map(f.bindings.map((b) => [b.name, b.value]));
  let out = form;
  candidates.forEach((d, k) => {
    if (turned.has(d)) return;
    let trial = out;
    const now = new Map<Spelled, Spelled>();
    /** Turn e in trial, the body's signs left unplaced. */
    const turn = (e: Spelled): void => {
      const spelling = Spelling.of(trial, how.written);
      const before = reversedDifferences(defs(trial).get(e.name)!, how.written, spelling);
      if (before === 0) return;
      const w = how.negation(e);
      if (!w || startsNegative(w.ast!) || reversedDifferences(w.ast!, how.written, spelling) >= before) return;
      const t = turnTemporary(trial, e.name, w.ast!, how.temps, how.written, false);
      if (!t) return;
      trial = t;
      now.set(e, w);
      how.negated.add(e.chosen);
    };
    const placed = (): Ast | undefined => {
      const p = placeBodySigns(trial, new Set([...now.keys()].map((x) => x.name)), how.temps, how.written);
      return p && signCost(p, how.written) <= budget ? p : undefined;
    };
    turn(d);
    if (now.size === 0) return;
    let result = placed();
    if (!result) {
      for (const e of candidates.slice(k + 1)) {
        const uses = new Set([...now.keys()].map((x) => x.name));
        if (!turned.has(e) && mentions(defs(trial).get(e.name)!, uses)) turn(e);
      }
      result = placed();
    }
    if (result?.kind !== 'where') {
      for (const e of now.keys()) how.negated.delete(e.chosen);
      return;
    }
    out = result;
    for (const [e, w] of now) turned.set(e, w);
  });
  return { form: out, turned };
}
