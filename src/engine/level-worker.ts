// The LevelDB side of LevelStore, on its own thread. Building a native write batch copies and
// transcodes every key and value; doing it here keeps that work off the engine's thread, which
// only hands over the encoded strings. One request at a time is in flight per kind; replies
// carry the request id. Messages: see WorkerRequest / WorkerReply in store.ts.
import { parentPort, workerData } from "node:worker_threads";
import { Level } from "level";

interface Init {
  dir: string;
  sync: boolean;
}

const port = parentPort!;
const { dir, sync } = workerData as Init;
const db = new Level<string, string>(dir, { keyEncoding: "utf8", valueEncoding: "utf8" });
let iterator: ReturnType<typeof db.iterator> | undefined;

const fail = (id: number, e: unknown) => port.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });

port.on("message", (m: { id: number; op: string; flat?: string[]; limit?: number }) => {
  void handle(m).then((reply) => port.postMessage({ id: m.id, ok: true, ...reply }), (e) => fail(m.id, e));
});

async function handle(m: { id: number; op: string; flat?: string[]; limit?: number }): Promise<Record<string, unknown>> {
  switch (m.op) {
    case "open":
      await db.open();
      return {};
    case "next": {
      // Entries in key order, a bounded chunk per request: the reader pulls, so nothing piles up.
      iterator ??= db.iterator();
      const chunk = await iterator.nextv(m.limit!);
      if (chunk.length === 0) {
        await iterator.close();
        iterator = undefined;
      }
      return { flat: chunk.flat() };
    }
    case "write": {
      // flat = [op, key, value?, op, key, value?, ...]: "p" key value | "d" key
      const flat = m.flat!;
      const ops: Array<{ type: "put"; key: string; value: string } | { type: "del"; key: string }> = [];
      for (let i = 0; i < flat.length;) {
        if (flat[i] === "p") {
          ops.push({ type: "put", key: flat[i + 1]!, value: flat[i + 2]! });
          i += 3;
        } else {
          ops.push({ type: "del", key: flat[i + 1]! });
          i += 2;
        }
      }
      await db.batch(ops, { sync });
      return {};
    }
    case "close":
      if (iterator) await iterator.close();
      await db.close();
      return {};
    default:
      throw new Error(`unknown op ${m.op}`);
  }
}
