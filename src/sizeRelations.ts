/**
 * Concrete sizes that satisfy an expression's size relations, for the places that choose sizes
 * themselves: the generated modules' self-check and the page's random point. A relation says
 * total = Π parts (vec(X) has rows(X)·cols(X) entries; kron(y', z')*kron(B*y, z) ties
 * len(y)·len(z) to rows(B)·len(z) through one size; a size argument len(x)/len(y) is the k with
 * len(x) = k·len(y)). Some sizes are chosen (`free`, each with a start value; `fixed` ones keep
 * it), the others follow from the relations.
 */

export interface ProductRelation<K> {
  readonly total: K;
  readonly parts: readonly K[];
}

/**
 * Every size, the free ones as given, the others worked out from the relations, or undefined where
 * a relation fails (a product that differs, a quotient that is not a whole number ≥ 1).
 */
export function settleSizes<K>(relations: readonly ProductRelation<K>[], free: ReadonlyMap<K, number>): Map<K, number> | undefined {
  const value = new Map(free);
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of relations) {
      const unknown = [r.total, ...r.parts].filter((k) => !value.has(k));
      const known = r.parts.filter((k) => value.has(k)).reduce((p, k) => p * value.get(k)!, 1);
      if (unknown.length === 0) {
        if (value.get(r.total) !== known) return undefined;
      } else if (unknown.length === 1) {
        const k = unknown[0]!;
        const v = k === r.total ? known : value.get(r.total)! / known;
        if (!Number.isInteger(v) || v < 1) return undefined;
        value.set(k, v);
        changed = true;
      }
    }
  }
  return value;
}

/**
 * Sizes for the free keys (in order, each with its start value) that satisfy every relation:
 * the start values where they do; else each relation's constrained free size set from the others
 * (a total to the product of its parts, a part to the quotient), in passes; else a depth-first
 * search over 2..12 for the free sizes the relations name (each trying its start value first,
 * within 100,000 tries). Fixed keys keep their values throughout. Undefined where nothing is found.
 */
export function solveSizes<K>(relations: readonly ProductRelation<K>[], start: ReadonlyMap<K, number>, fixed: ReadonlySet<K> = new Set()): Map<K, number> | undefined {
  const chosen = (v: ReadonlyMap<K, number>): Map<K, number> | undefined => (settleSizes(relations, v) ? new Map([...start.keys()].map((k) => [k, v.get(k)!])) : undefined);
  return chosen(start) ?? chosen(propagated(relations, start, fixed)) ?? searched(relations, start, fixed, chosen);
}

/**
 * The start values with each relation's constrained free size set from the others, in passes: a
 * total to the product of its parts; where a derived total differs from its parts' product, the
 * last free part to the quotient; where one part is derived and the quotient is not whole, the
 * total to the nearest multiple.
 */
function propagated<K>(relations: readonly ProductRelation<K>[], start: ReadonlyMap<K, number>, fixed: ReadonlySet<K>): Map<K, number> {
  const value = new Map(start);
  const movable = (k: K): boolean => start.has(k) && !fixed.has(k);
  for (let pass = 0, changed = true; changed && pass < 8; pass++) {
    changed = false;
    const set = (k: K, v: number): void => {
      if (value.get(k) !== v) changed = true;
      value.set(k, v);
    };
    for (const r of relations) {
      // The sizes the relations derive, from the free ones as they stand now.
      const all = settleLoose(relations, value);
      const open = r.parts.filter((k) => !all.has(k));
      const product = r.parts.filter((k) => all.has(k)).reduce((p, k) => p * all.get(k)!, 1);
      if (open.length === 0 && movable(r.total)) set(r.total, product);
      else if (open.length === 0 && all.has(r.total) && all.get(r.total) !== product) {
        const k = [...r.parts].reverse().find(movable);
        const v = k === undefined ? NaN : (all.get(r.total)! * all.get(k)!) / product;
        if (k !== undefined && Number.isInteger(v) && v >= 1) set(k, v);
      } else if (open.length === 1 && movable(r.total) && !Number.isInteger(all.get(r.total)! / product))
        set(r.total, product * Math.max(1, Math.round(all.get(r.total)! / product)));
    }
  }
  return value;
}

/** As settleSizes, but a failing relation is skipped rather than fatal (for propagation). */
function settleLoose<K>(relations: readonly ProductRelation<K>[], free: ReadonlyMap<K, number>): Map<K, number> {
  const value = new Map(free);
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of relations) {
      const unknown = [r.total, ...r.parts].filter((k) => !value.has(k));
      if (unknown.length !== 1) continue;
      const known = r.parts.filter((k) => value.has(k)).reduce((p, k) => p * value.get(k)!, 1);
      const k = unknown[0]!;
      const v = k === r.total ? known : value.get(r.total)! / known;
      if (!Number.isInteger(v) || v < 1) continue;
      value.set(k, v);
      changed = true;
    }
  }
  return value;
}

function searched<K>(
  relations: readonly ProductRelation<K>[],
  start: ReadonlyMap<K, number>,
  fixed: ReadonlySet<K>,
  chosen: (v: ReadonlyMap<K, number>) => Map<K, number> | undefined,
): Map<K, number> | undefined {
  const named = new Set(relations.flatMap((r) => [r.total, ...r.parts]));
  const open = [...start.keys()].filter((k) => named.has(k) && !fixed.has(k));
  const value = new Map(start);
  let tries = 0;
  const go = (i: number): Map<K, number> | undefined => {
    if (i === open.length) return ++tries > 100_000 ? undefined : chosen(value);
    const own = start.get(open[i]!)!;
    for (const v of [own, ...Array.from({ length: 11 }, (_, j) => j + 2).filter((x) => x !== own)]) {
      value.set(open[i]!, v);
      const found = go(i + 1);
      if (found || tries > 100_000) return found;
    }
    return undefined;
  };
  return go(0);
}
