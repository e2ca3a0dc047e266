/**
 * Generic einsum over strided tensors: the fallback for contractions that
 * have no BLAS shape (order-3/4 tensors, diagonals, mixed Hadamard/contract).
 *
 *   out[o] (= or +=) alpha * Σ_{summed labels} Π_k operand_k[...]
 *
 * A plan numbers the distinct labels 0..L-1 with the output labels first
 * (0..outLabels-1) and the summed labels after them. Every operand (and the
 * output) addresses a label through a stride, 0 when the label is absent; a
 * label repeated within one operand (a diagonal, "ii") gets the sum of its
 * axis strides. The call walks the label values with an odometer, output
 * labels outer, summed labels inner (innermost: the summed label with the
 * smallest strides), without allocating.
 *
 * Build plans once with makeEinsumPlan, outside the hot call.
 */

export interface EinsumPlan {
  /** Extent of each label (output labels first, then summed labels). */
  sizes: Int32Array;
  /** Labels 0..outLabels-1 are output labels; the rest are summed. */
  outLabels: number;
  /** One entry per operand (1 to 4): its stride for each label (0 = absent). */
  operands: { strides: Int32Array }[];
  /** Output stride of each output label (length outLabels). */
  outStrides: Int32Array;
  /** Odometer scratch (length = number of labels), owned by the plan. */
  counters: Int32Array;
}

/** A label list: a string of one-character labels ("ijk") or an array of labels. */
export type EinsumLabels = string | ReadonlyArray<string | number>;

function labelList(l: EinsumLabels): (string | number)[] {
  return typeof l === 'string' ? Array.from(l) : Array.from(l);
}

function sizeOf(sizes: EinsumSizes, label: string | number): number {
  const v = sizes instanceof Map ? sizes.get(label) : (sizes as Record<string, number>)[String(label)];
  if (v === undefined || !Number.isInteger(v) || v < 0) {
    throw new Error(`einsum: no valid size for label ${String(label)}`);
  }
  return v;
}

export type EinsumSizes = ReadonlyMap<string | number, number> | Readonly<Record<string, number>>;

/** Row-major contiguous strides of a tensor with the given axis extents. */
function rowMajor(extents: number[]): number[] {
  const s = new Array<number>(extents.length);
  let acc = 1;
  for (let a = extents.length - 1; a >= 0; a--) {
    s[a] = acc;
    acc *= extents[a];
  }
  return s;
}

/**
 * Build a plan.
 * @param inputs label list of each operand (1 to 4 operands), one label per axis.
 * @param output label list of the output, one label per axis (may repeat a label
 *   to address a diagonal; only the addressed entries are written).
 * @param sizes extent of every label.
 * @param operandStrides optional per-axis element strides of each operand
 *   (default: row-major contiguous); `undefined` entries take the default.
 * @param outputStrides optional per-axis strides of the output (default row-major).
 */
export function makeEinsumPlan(
  inputs: ReadonlyArray<EinsumLabels>,
  output: EinsumLabels,
  sizes: EinsumSizes,
  operandStrides?: ReadonlyArray<ReadonlyArray<number> | undefined>,
  outputStrides?: ReadonlyArray<number>,
): EinsumPlan {
  if (inputs.length < 1 || inputs.length > 4) {
    throw new Error(`einsum: expected 1 to 4 operands, got ${inputs.length}`);
  }
  const ins = inputs.map(labelList);
  const out = labelList(output);
  // Distinct labels: output labels (first appearance order), then summed ones.
  const outDistinct: (string | number)[] = [];
  for (const l of out) if (!outDistinct.includes(l)) outDistinct.push(l);
  const summed: (string | number)[] = [];
  for (const op of ins) for (const l of op) if (!outDistinct.includes(l) && !summed.includes(l)) summed.push(l);

  const axisStrides = (labels: (string | number)[], given: ReadonlyArray<number> | undefined, what: string) => {
    if (given !== undefined && given.length !== labels.length) {
      throw new Error(`einsum: ${what} has ${labels.length} axes but ${given.length} strides`);
    }
    return given ?? rowMajor(labels.map((l) => sizeOf(sizes, l)));
  };
  // Per-label stride of one tensor: sum over its axes carrying that label.
  const perLabel = (labels: (string | number)[], strides: ReadonlyArray<number>, order: (string | number)[]) => {
    const r = new Int32Array(order.length);
    labels.forEach((l, a) => {
      const idx = order.indexOf(l);
      if (idx >= 0) r[idx] += strides[a];
    });
    return r;
  };

  const opStrides = ins.map((labels, k) => axisStrides(labels, operandStrides?.[k], `operand ${k}`));
  // Innermost summed label: the one with the smallest strides (best locality).
  const weight = (l: string | number) => {
    let w = 0;
    ins.forEach((labels, k) => labels.forEach((x, a) => {
      if (x === l) w += Math.abs(opStrides[k][a]);
    }));
    return w;
  };
  summed.sort((a, b) => weight(b) - weight(a));
  const order = [...outDistinct, ...summed];

  return {
    sizes: Int32Array.from(order.map((l) => sizeOf(sizes, l))),
    outLabels: outDistinct.length,
    operands: ins.map((labels, k) => ({ strides: perLabel(labels, opStrides[k], order) })),
    outStrides: perLabel(out, axisStrides(out, outputStrides, 'output'), outDistinct),
    counters: new Int32Array(order.length),
  };
}

/**
 * Run a plan: out[...] = alpha * Σ Π operands (or += when accumulate).
 * operands[k] starts at offs[k]; the output at outOff.
 */
export function einsum(
  plan: EinsumPlan,
  operands: ReadonlyArray<Float64Array>,
  offs: ReadonlyArray<number>,
  out: Float64Array,
  outOff: number,
  alpha: number,
  accumulate: boolean,
): void {
  const sizes = plan.sizes;
  const L = sizes.length;
  const nOut = plan.outLabels;
  const nOps = plan.operands.length;
  const cnt = plan.counters;
  for (let l = 0; l < nOut; l++) if (sizes[l] === 0) return; // empty output

  // Up to four operands in locals (unused ones alias the first, stride 0).
  const X0 = operands[0];
  const X1 = nOps > 1 ? operands[1] : X0;
  const X2 = nOps > 2 ? operands[2] : X0;
  const X3 = nOps > 3 ? operands[3] : X0;
  const S0 = plan.operands[0].strides;
  const S1 = nOps > 1 ? plan.operands[1].strides : S0;
  const S2 = nOps > 2 ? plan.operands[2].strides : S0;
  const S3 = nOps > 3 ? plan.operands[3].strides : S0;
  const oS = plan.outStrides;

  // Innermost summed label (if any) is run as a tight loop.
  const nSum = L - nOut;
  let emptySum = false;
  for (let l = nOut; l < L; l++) if (sizes[l] === 0) emptySum = true;
  const last = L - 1;
  const runLen = nSum > 0 ? sizes[last] : 1;
  const r0 = nSum > 0 ? S0[last] : 0;
  const r1 = nSum > 0 ? S1[last] : 0;
  const r2 = nSum > 0 ? S2[last] : 0;
  const r3 = nSum > 0 ? S3[last] : 0;

  // Operand positions of the current output index.
  let b0 = offs[0];
  let b1 = nOps > 1 ? offs[1] : 0;
  let b2 = nOps > 2 ? offs[2] : 0;
  let b3 = nOps > 3 ? offs[3] : 0;
  let o = outOff;
  for (let l = 0; l < L; l++) cnt[l] = 0;

  for (;;) {
    // ---- Σ over the summed labels at this output index ----
    let acc = 0;
    if (nSum === 0) {
      // Pure product (outer / Hadamard / scalar): no summation.
      acc = X0[b0];
      if (nOps > 1) acc *= X1[b1];
      if (nOps > 2) acc *= X2[b2];
      if (nOps > 3) acc *= X3[b3];
    } else if (!emptySum) {
      let p0 = b0, p1 = b1, p2 = b2, p3 = b3;
      for (;;) {
        // Tight run over the innermost summed label.
        switch (nOps) {
          case 1:
            for (let t = 0, q0 = p0; t < runLen; t++, q0 += r0) acc += X0[q0];
            break;
          case 2:
            for (let t = 0, q0 = p0, q1 = p1; t < runLen; t++, q0 += r0, q1 += r1) acc += X0[q0] * X1[q1];
            break;
          case 3:
            for (let t = 0, q0 = p0, q1 = p1, q2 = p2; t < runLen; t++, q0 += r0, q1 += r1, q2 += r2) {
              acc += X0[q0] * X1[q1] * X2[q2];
            }
            break;
          default:
            for (let t = 0, q0 = p0, q1 = p1, q2 = p2, q3 = p3; t < runLen; t++, q0 += r0, q1 += r1, q2 += r2, q3 += r3) {
              acc += X0[q0] * X1[q1] * X2[q2] * X3[q3];
            }
        }
        // Advance the odometer over the other summed labels (last-1 down to nOut).
        let l = last - 1;
        for (; l >= nOut; l--) {
          if (++cnt[l] < sizes[l]) {
            p0 += S0[l];
            p1 += S1[l];
            p2 += S2[l];
            p3 += S3[l];
            break;
          }
          const back = sizes[l] - 1;
          cnt[l] = 0;
          p0 -= S0[l] * back;
          p1 -= S1[l] * back;
          p2 -= S2[l] * back;
          p3 -= S3[l] * back;
        }
        if (l < nOut) break;
      }
    }
    const v = alpha * acc;
    if (accumulate) out[o] += v;
    else out[o] = v;

    // ---- advance the output odometer (innermost = last output label) ----
    let l = nOut - 1;
    for (; l >= 0; l--) {
      if (++cnt[l] < sizes[l]) {
        b0 += S0[l];
        b1 += S1[l];
        b2 += S2[l];
        b3 += S3[l];
        o += oS[l];
        break;
      }
      const back = sizes[l] - 1;
      cnt[l] = 0;
      b0 -= S0[l] * back;
      b1 -= S1[l] * back;
      b2 -= S2[l] * back;
      b3 -= S3[l] * back;
      o -= oS[l] * back;
    }
    if (l < 0) return;
  }
}
