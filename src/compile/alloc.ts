/**
 * Result buffers that the plan's steps overwrite entirely: no need for the zeros of
 * `new Float64Array` (calloc clears memory that the allocator hands out again: ≈ 0.15–0.25 ms per
 * 8 MB, measured at n = 1000). On Node, Buffer.allocUnsafeSlow gives an ArrayBuffer of
 * uninitialised memory (malloc) of exactly the size; elsewhere (browsers) a plain Float64Array.
 *
 * Only for results whose steps write every entry (plan.ts: not those that rely on a zeroed
 * buffer — a delta written onto a diagonal). Small buffers stay on the ordinary path (V8
 * allocates them quickly and the call would cost more than it saves).
 *
 * The first touch of fresh pages (page faults: ≈ 3 ms per 8 MB on this VM) is not avoidable
 * here: it depends on whether the allocator reuses memory, that is on when V8 collects the
 * caller's earlier results. A caller who wants none of it passes `out`.
 */

/** From this many entries (256 KB) results are allocated without clearing. */
const UNINITIALIZED_MIN = 1 << 15;

interface NodeBuffer {
  allocUnsafeSlow(size: number): Uint8Array;
}
const nodeBuffer: NodeBuffer | null = (() => {
  const b = (globalThis as { Buffer?: Partial<NodeBuffer> }).Buffer;
  return b && typeof b.allocUnsafeSlow === 'function' ? (b as NodeBuffer) : null;
})();

let poison = false;

/**
 * Tests: fill every buffer `uninitialized` hands out (of any size) with NaN, so that a step that
 * reads its result before writing it, or leaves an entry unwritten, shows.
 */
export function setUninitializedPoison(on: boolean): void {
  poison = on;
}

/** A Float64Array of `length` entries whose contents are unspecified (NaN under the tests' poison). */
export function uninitialized(length: number): Float64Array {
  let a: Float64Array;
  if (nodeBuffer !== null && length >= UNINITIALIZED_MIN) {
    const b = nodeBuffer.allocUnsafeSlow(length * 8);
    a = new Float64Array(b.buffer, b.byteOffset, length);
  } else a = new Float64Array(length);
  if (poison) a.fill(NaN);
  return a;
}
