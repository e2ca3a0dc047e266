/**
 * Types of the input language: every value is a rows × cols array whose sizes are symbols that are
 * unified across the expression. The size 1 is the distinguished symbol ONE: a scalar is 1×1, a
 * (column) vector n×1, a row vector 1×n. A size symbol never unifies with ONE, so `x*A` is an
 * error rather than a silent promotion of A to a 1×m matrix.
 */

export type Dim = number;
export const ONE: Dim = 0;

export interface Type {
  readonly rows: Dim;
  readonly cols: Dim;
}

export type TypeKind = 'scalar' | 'vector' | 'row vector' | 'matrix';

export const SIZE_NAMES = ['n', 'm', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w'] as const;

/** Union-find over size symbols. */
export class Sizes {
  private readonly parent: number[] = [ONE];

  fresh(): Dim {
    this.parent.push(this.parent.length);
    return this.parent.length - 1;
  }

  find(d: Dim): Dim {
    let r = d;
    while (this.parent[r] !== r) r = this.parent[r]!;
    // Path compression.
    let x = d;
    while (this.parent[x] !== r) {
      const next = this.parent[x]!;
      this.parent[x] = r;
      x = next;
    }
    return r;
  }

  /** Makes a and b the same size; false when that is impossible (a size symbol against 1). */
  unify(a: Dim, b: Dim): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return true;
    if (ra === ONE || rb === ONE) return false;
    // The older symbol stays the representative, so names follow first appearance.
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
    return true;
  }

  get count(): number {
    return this.parent.length;
  }
}

export function kindOf(t: Type, sizes: Sizes): TypeKind {
  const r = sizes.find(t.rows) === ONE;
  const c = sizes.find(t.cols) === ONE;
  if (r && c) return 'scalar';
  if (c) return 'vector';
  if (r) return 'row vector';
  return 'matrix';
}

export const SCALAR: Type = { rows: ONE, cols: ONE };
