// The worker side of a WorkerStore (worker-store.ts): requests are handled one at a time, in
// arrival order, so writes reach the disk in the order the engine applied them; each reply
// carries its request's id. After a failed write every later one fails unwritten, so the disk
// holds a prefix of the batches.
import { parentPort } from "node:worker_threads";

export interface StoreRequest {
  id: number;
  op: "open" | "next" | "write" | "close";
  /** write: the packed ops (packed-ops.ts), moved to this thread. */
  bytes?: ArrayBuffer;
  /** next: entries per reply, and whether this starts a new scan. */
  limit?: number;
  first?: boolean;
}

export interface StoreHandlers {
  open(): Promise<void> | void;
  /** The next `limit` entries in key order as [k, v, k, v, ...]; empty when done. A first request restarts the scan. */
  next(limit: number, first: boolean): Promise<string[]> | string[];
  write(bytes: ArrayBuffer): Promise<void> | void;
  close(): Promise<void> | void;
}

export function serve(h: StoreHandlers): void {
  const port = parentPort!;
  const fail = (id: number, e: unknown) => port.postMessage({ id, ok: false, ...describeError(e) });
  let chain: Promise<void> = Promise.resolve();
  let writeFailed: Error | undefined;
  const handle = async (m: StoreRequest): Promise<Record<string, unknown>> => {
    switch (m.op) {
      case "open":
        await h.open();
        return {};
      case "next":
        return { flat: await h.next(m.limit!, m.first === true) };
      case "write":
        if (writeFailed) throw new Error(`an earlier write failed: ${writeFailed.message}`);
        await h.write(m.bytes!);
        return {};
      case "close":
        await h.close();
        return {};
      default:
        throw new Error(`unknown op ${String(m.op)}`);
    }
  };
  port.on("message", (m: StoreRequest) => {
    chain = chain
      .then(() => handle(m).then((reply) => port.postMessage({ id: m.id, ok: true, ...reply }), (e) => {
        if (m.op === "write") writeFailed ??= e instanceof Error ? e : new Error(String(e));
        fail(m.id, e);
      }))
      .catch((e) => {
        // Posting a reply failed: answer with the error rather than leave the chain broken.
        if (m.op === "write") writeFailed ??= e instanceof Error ? e : new Error(String(e));
        try {
          fail(m.id, e);
        } catch {
          // nothing more to say: the store sees the worker exit
        }
      });
  });
}

/**
 * What crosses back to the store for a failure: the message, and for an AgentPayError its code
 * and details; for anything else the reason and the system or library code (EIO, ENOSPC,
 * LEVEL_IO_ERROR...), and the underlying cause, so a caller can tell why. Never data.
 */
export function describeError(e: unknown): { error: string; code?: string; details: Record<string, unknown> } {
  const err = e as { name?: unknown; message?: unknown; code?: unknown; details?: unknown; cause?: unknown } | undefined;
  const message = typeof err?.message === "string" ? err.message : String(e);
  if (err?.name === "AgentPayError" && typeof err.code === "string") {
    return { error: message, code: err.code, details: structuredClone((err.details ?? {}) as Record<string, unknown>) };
  }
  const cause = err?.cause as { message?: unknown; code?: unknown } | undefined;
  return {
    error: message,
    details: {
      reason: message,
      ...(typeof err?.code === "string" ? { errorCode: err.code } : {}),
      ...(typeof cause?.message === "string" ? { cause: cause.message } : {}),
      ...(typeof cause?.code === "string" ? { causeCode: cause.code } : {}),
    },
  };
}
