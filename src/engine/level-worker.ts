// The LevelDB side of LevelStore, on its own thread. Building a native write batch copies every
// key and value; doing it here keeps that work off the engine's thread, which only hands over
// one packed buffer per batch (packed-ops.ts). Requests are handled one at a time, in arrival
// order; each reply carries its request's id (WorkerReply in store.ts).
import { parentPort, workerData } from "node:worker_threads";
import { Level } from "level";
import { unpackOps } from "./packed-ops.ts";

interface Init {
  dir: string;
  sync: boolean;
}

const port = parentPort!;
const { dir, sync } = workerData as Init;
const db = new Level<string, string>(dir, { keyEncoding: "utf8", valueEncoding: "utf8" });
let iterator: ReturnType<typeof db.iterator> | undefined;

const fail = (id: number, e: unknown) => port.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });

interface Request {
  id: number;
  op: string;
  bytes?: ArrayBuffer;
  limit?: number;
  first?: boolean;
}

// One request at a time, in arrival order: writes reach LevelDB in the order the engine applied
// them. After a failed write every later one fails unwritten, so the disk holds a prefix of the batches.
let chain: Promise<void> = Promise.resolve();
let writeFailed: Error | undefined;
port.on("message", (m: Request) => {
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

async function handle(m: Request): Promise<Record<string, unknown>> {
  switch (m.op) {
    case "open":
      await db.open();
      return {};
    case "next": {
      // Entries in key order, a bounded chunk per request: the reader pulls, so nothing piles up.
      // A new scan starts from the beginning even if an earlier one was abandoned.
      if (m.first && iterator) {
        await iterator.close();
        iterator = undefined;
      }
      iterator ??= db.iterator();
      const chunk = await iterator.nextv(m.limit!);
      if (chunk.length === 0) {
        await iterator.close();
        iterator = undefined;
      }
      return { flat: chunk.flat() };
    }
    case "write":
      if (writeFailed) throw new Error(`an earlier write failed: ${writeFailed.message}`);
      await db.batch(unpackOps(m.bytes!) as never, { sync, keyEncoding: "view", valueEncoding: "view" });
      return {};
    case "close":
      if (iterator) await iterator.close();
      await db.close();
      return {};
    default:
      throw new Error(`unknown op ${m.op}`);
  }
}
