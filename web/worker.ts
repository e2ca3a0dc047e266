/**
 * The page's worker: parsing, derivation, printing, code generation and the numbers run here, so
 * that the page never waits on them. It answers each request in turn; the page terminates it
 * when an answer is no longer wanted (a new keystroke, "stop", the time limit) and starts another.
 */
import { handle, transferables } from './service.js';
import type { ReplyMessage, RequestMessage } from './protocol.js';

/** The part of a dedicated worker's global scope used here (the DOM library types `self` as a window). */
interface WorkerScope {
  onmessage: ((ev: MessageEvent<RequestMessage>) => void) | null;
  postMessage(message: ReplyMessage, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

scope.onmessage = (ev: MessageEvent<RequestMessage>) => {
  const { id, request } = ev.data;
  const reply = handle(request, (first) => scope.postMessage({ id, reply: first, partial: true }, []));
  const message: ReplyMessage = { id, reply };
  scope.postMessage(message, transferables(reply));
};
