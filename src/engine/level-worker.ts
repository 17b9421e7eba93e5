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

interface Request {
  id: number;
  op: string;
  bytes?: ArrayBuffer;
  limit?: number;
  first?: boolean;
}

const DELETED = 0xffff_ffff; // as in store.ts (not imported: the worker loads only what it needs)

type BinOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/** The inverse of packOps in store.ts: views into the one buffer, no copies. */
function unpackOps(bytes: ArrayBuffer): BinOp[] {
  const buf = Buffer.from(bytes);
  const n = buf.readUInt32LE(0);
  let off = 4 + 8 * n;
  const ops: BinOp[] = [];
  for (let i = 0; i < n; i++) {
    const k = buf.readUInt32LE(4 + 8 * i);
    const v = buf.readUInt32LE(8 + 8 * i);
    const key = buf.subarray(off, off + k);
    off += k;
    if (v === DELETED) ops.push({ type: "del", key });
    else {
      ops.push({ type: "put", key, value: buf.subarray(off, off + v) });
      off += v;
    }
  }
  if (off !== buf.length) throw new Error("malformed write request");
  return ops;
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
