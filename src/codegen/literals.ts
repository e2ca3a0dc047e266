/** Number literals shared by the emitters. */
import { InternalError } from '../ir/node.js';

/** A number as a source literal that reads back to the same double (JS and Python alike). */
export function num(c: number): string {
  if (!Number.isFinite(c)) throw new InternalError(`codegen: non-finite constant ${c}`);
  return Object.is(c, -0) ? '0' : String(c);
}
