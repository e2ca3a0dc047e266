// A worker thread's entry: Node 20 does not pass tsx's loader on to workers, so register it here
// and then load the TypeScript worker module named in workerData.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
