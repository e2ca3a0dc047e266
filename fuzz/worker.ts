/**
 * A fuzz worker: checks the cases it is sent, one at a time, and reports the phase it is in
 * (derive, check) so that a case killed for its time limit says where the time went.
 */
import { parentPort } from 'node:worker_threads';
import { runCase } from './check.js';
import type { CaseSpec, Outcome } from './case.js';

export type ToWorker = { readonly spec: CaseSpec };
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'phase'; readonly id: number; readonly phase: string }
  | { readonly type: 'done'; readonly outcome: Outcome };

const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);

port.on('message', ({ spec }: ToWorker) => {
  let outcome: Outcome;
  try {
    outcome = runCase(spec, (phase) => post({ type: 'phase', id: spec.id, phase }));
  } catch (e) {
    // Not the engine's fault: runCase turns the engine's errors into failures itself.
    const detail = `fuzzer error (a bug in fuzz/, not in the engine): ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
    outcome = { id: spec.id, failures: [{ kind: 'crash', detail, signature: 'fuzzer' }], skipped: {}, pointsChecked: 0, closest: { fd: 0, compiled: 0, roundtrip: 0 } };
  }
  post({ type: 'done', outcome });
});
post({ type: 'ready' });
