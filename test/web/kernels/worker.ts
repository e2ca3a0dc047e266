/** The checks inside a dedicated worker, where the kernels may block on a barrier and start workers. */
import { check } from './check.js';

try {
  postMessage(await check(true));
} catch (e) {
  postMessage({ error: String(e) });
}
