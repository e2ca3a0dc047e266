/**
 * Which parts of a printed form become named temporaries (… where t1 = …).
 *
 * The printers refer to the nodes of the interned DAG; a node that the printed tree would spell out
 * more than once is printed once, under a name, where that makes the text shorter. Occurrences are
 * counted through the tree (a node used twice by a form used three times occurs six times); a node
 * that becomes a temporary is itself spelled once, so its parts count once per its definition.
 */

export interface RefGraph<N> {
  /** The nodes a node's form refers to, once per occurrence. */
  refs(n: N): readonly N[];
  /** Length of the node's text with everything spelled out. */
  length(n: N): number;
  /** Length of the node's text where the nodes in `named` are names (default: length). */
  lengthWith?(n: N, named: ReadonlySet<N>): number;
  /** Length of a reference to the node once named (default 2: t1; index notation adds its indices). */
  nameLength?(n: N): number;
}

/** Shorter forms are never named: exp(x) reads better than t1. */
export const MIN_TEMPORARY_LENGTH = 8;

/**
 * The nodes to name, parts before the forms that use them. A node is named when it occurs k ≥ 2
 * times, is not short, and naming it saves text: k·len > k·|name| + |name| + len + 5 (the ` = `
 * and separator), |name| the length of a reference to it (`g.nameLength`). The nodes in `given`
 * are names already (spelled once, their parts counted once), and stay.
 */
export function chooseTemporaries<N>(root: N, g: RefGraph<N>, given: ReadonlySet<N> = new Set()): N[] {
  // Parents before children: reverse post-order of a depth-first walk.
  const post: N[] = [];
  const seen = new Set<N>();
  const stack: [N, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [n, done] = stack.pop()!;
    if (done) {
      post.push(n);
      continue;
    }
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push([n, true]);
    const refs = g.refs(n);
    for (let i = refs.length - 1; i >= 0; i--) if (!seen.has(refs[i]!)) stack.push([refs[i]!, false]);
  }
  const order = post.reverse();
  const nameLength = (n: N): number => g.nameLength?.(n) ?? 2;
  const saves = (n: N, k: number, len: number): boolean => k >= 2 && len >= MIN_TEMPORARY_LENGTH && (k - 1) * len > (k + 1) * nameLength(n) + 5;
  /** How often each node is spelled out, given the named ones (each spelled once). */
  const occurrences = (named: ReadonlySet<N>, decide?: (n: N, k: number) => boolean): Map<N, number> => {
    const occurs = new Map<N, number>([[root, 1]]);
    for (const n of order) {
      const k = occurs.get(n) ?? 0;
      const spelled = (decide ? decide(n, k) : named.has(n)) ? 1 : k;
      for (const c of g.refs(n)) occurs.set(c, (occurs.get(c) ?? 0) + spelled);
    }
    return occurs;
  };
  // Parents decide first, on their spelled-out length.
  const named = new Set<N>();
  occurrences(named, (n, k) => {
    if (n !== root && given.has(n) && k > 0) {
      named.add(n);
      return true;
    }
    if (n === root || !saves(n, k, g.length(n))) return false;
    named.add(n);
    return true;
  });
  // Then a name whose definition has become short (its parts are names now: t3 = t2^2) or that is
  // used too little goes back inline.
  for (let round = 0; round < 8; round++) {
    const occurs = occurrences(named);
    // A copy per round: lengths may be remembered for one set of names.
    const now = new Set(named);
    const drop = [...named].filter((n) => !given.has(n) && !saves(n, occurs.get(n) ?? 0, g.lengthWith ? g.lengthWith(n, now) : g.length(n)));
    if (drop.length === 0) break;
    // Inline the smallest first: the others may still be worth their names.
    const smallest = drop.reduce((a, b) => (g.length(a) <= g.length(b) ? a : b));
    named.delete(smallest);
  }
  return order.filter((n) => named.has(n)).reverse();
}

/** Names t1, t2, … that are not taken (variables of the expression keep their names). */
export function temporaryNames(count: number, taken: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let k = 1; out.length < count; k++) if (!taken.has(`t${k}`)) out.push(`t${k}`);
  return out;
}
