/**
 * Numeric kernels: pure functions over Float64Array, row-major, BLAS-like
 * (explicit offsets and leading dimensions / increments), no allocation
 * inside a call (scratch is module-level and grows on demand).
 */

export { gemm, scaleMatrix, GEMM_MR, GEMM_NR } from './gemm.js';
export { gemv, ger } from './gemv.js';
export { dot, axpy, scal, copy, fill } from './blas1.js';
export { xtdx, xdxt, mirrorUpper } from './syrk.js';
export {
  hadamard,
  UNARY,
  type UnaryFn,
  unaryScalar,
  mapUnary,
  sigmoid,
  softplus,
  logSumExp,
  powScalar,
  powElementwise,
} from './elementwise.js';
export { sum, sumsq, asum, trace, rowSums, colSums } from './reduce.js';
export { transpose } from './transpose.js';
export { matPow, matPowFrechet, type FrechetDirection } from './matpow.js';
export { permute } from './permute.js';
export { SingularMatrixError, singularMatrix, luFactor, luSolve, inverse, det, logAbsDet } from './lu.js';
export {
  type EinsumPlan,
  type EinsumLabels,
  type EinsumSizes,
  makeEinsumPlan,
  einsum,
} from './einsum.js';
export { type StridedPlan, makeStridedPlan, stridedMul, transposeUpdate } from './strided.js';
export { kernelInfo, type KernelInfo } from './info.js';
export { enableRelaxedSimd } from './wasm/flags.js';
export { residentArray, releaseResident } from './wasm/runtime.js';
export { symmetricSum, transposeSum, type TransposeTerm } from './transposeSum.js';
export { adjugate } from './adjugate.js';
export { thirdCofactors, checkThirdCofactorsOrder, MAX_THIRD_COFACTORS_ORDER } from './thirdCofactors.js';
