/**
 * Out-of-place axis permutation of a row-major tensor: B[j0, j1, …] = A[i…] with the axes of A
 * taken in the order `perm` (B's axis k is A's axis perm[k]). A and B must not overlap.
 */
export function permute(shape: readonly number[], perm: readonly number[], A: Float64Array, aOff: number, B: Float64Array, bOff: number): void {
  const r = shape.length;
  const strides = new Array<number>(r);
  for (let k = r - 1, s = 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k]!;
  }
  const dims = perm.map((p) => shape[p]!);
  const src = perm.map((p) => strides[p]!);
  const total = dims.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  const idx = new Array<number>(r).fill(0);
  // The innermost axis of B runs in a plain loop; the others advance like an odometer.
  const last = r - 1;
  const inner = r === 0 ? 1 : dims[last]!;
  const step = r === 0 ? 0 : src[last]!;
  let a = aOff;
  for (let b = bOff, end = bOff + total; b < end; ) {
    for (let t = 0, x = a; t < inner; t++, x += step) B[b++] = A[x]!;
    let k = last - 1;
    for (; k >= 0; k--) {
      a += src[k]!;
      if (++idx[k]! < dims[k]!) break;
      a -= src[k]! * dims[k]!;
      idx[k] = 0;
    }
    if (k < 0) break;
  }
}
