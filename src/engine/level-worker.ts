// The LevelDB side of LevelStore, on its own thread (served by worker-serve.ts). Building a
// native write batch copies every key and value; doing it here keeps that work off the engine's
// thread, which only hands over one packed buffer per batch (packed-ops.ts).
import { workerData } from "node:worker_threads";
import { Level } from "level";
import { unpackOps } from "./packed-ops.ts";
import { serve } from "./worker-serve.ts";

const { dir, sync } = workerData as { dir: string; sync: boolean };
const db = new Level<string, string>(dir, { keyEncoding: "utf8", valueEncoding: "utf8" });
let iterator: ReturnType<typeof db.iterator> | undefined;

serve({
  open: () => db.open(),
  async next(limit, first) {
    // A bounded chunk per request: the reader pulls, so nothing piles up. A new scan starts from
    // the beginning even if an earlier one was abandoned.
    if (first && iterator) {
      await iterator.close();
      iterator = undefined;
    }
    iterator ??= db.iterator();
    const chunk = await iterator.nextv(limit);
    if (chunk.length === 0) {
      await iterator.close();
      iterator = undefined;
    }
    return chunk.flat() as string[];
  },
  write: (bytes) => db.batch(unpackOps(bytes) as never, { sync, keyEncoding: "view", valueEncoding: "view" }),
  async close() {
    if (iterator) await iterator.close();
    await db.close();
  },
});
