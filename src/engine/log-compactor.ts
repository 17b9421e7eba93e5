// Builds snap-<outGen> from the previous snapshot and the logs after it, on a thread of its own
// so the log worker goes on appending meanwhile. Written to a .tmp file, synced, then renamed:
// a snapshot in place is always whole, and a crash at any point leaves the logs to replay.
//
// Two passes over the files, so memory holds the keys, not the records: the first finds which
// op (by its position in the sequence of all ops) last wrote each live key, the second writes
// exactly those ops' records.
import { closeSync, fdatasyncSync, openSync, renameSync, rmSync, writeSync, writevSync } from "node:fs";
import { setPriority } from "node:os";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { LOG_MAGIC, SNAP_MAGIC, frameHead, logName, readWhole, snapName, syncDir } from "./log-files.ts";
import { packEntries, unpackOps } from "./packed-ops.ts";
import type { PackedOp } from "./packed-ops.ts";

export interface CompactionJob {
  dir: string;
  snapGen: number | undefined;
  logGens: number[];
  outGen: number;
}

/** Records per snapshot frame stop growing past this: bounds the packing buffer. */
const FRAME_TARGET_BYTES = 4 << 20;

const { dir, snapGen, logGens, outGen } = workerData as CompactionJob;

// Background work: the lowest CPU priority, so it takes idle time rather than the engine's.
// (On Linux a nice value is per thread and this sets this thread's; elsewhere it may be refused.)
try {
  setPriority(19);
} catch {
  // not allowed here: compaction runs at the usual priority
}

/** Every op of the snapshot and the logs, in order, numbered. The logs handed over are all closed: none may end torn. */
function forEachOp(onOp: (seq: number, op: PackedOp) => void): void {
  let seq = 0;
  const frame = (payload: Buffer) => {
    for (const op of unpackOps(payload)) onOp(seq++, op);
  };
  if (snapGen !== undefined) readWhole(dir, snapName(snapGen), SNAP_MAGIC, frame);
  for (const g of logGens) readWhole(dir, logName(g), LOG_MAGIC, frame);
}

// Keys as latin1: the raw bytes one per char, cheap to make, and compared exactly.
const keyOf = (op: PackedOp) => Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength).toString("latin1");
const latest = new Map<string, number>();
forEachOp((seq, op) => {
  if (op.type === "put") latest.set(keyOf(op), seq);
  else latest.delete(keyOf(op));
});

const tmp = join(dir, `${snapName(outGen)}.tmp`);
const fd = openSync(tmp, "w");
let open = true;
let bytes = SNAP_MAGIC.length;
try {
  writeSync(fd, SNAP_MAGIC);
  let chunk: Array<[Uint8Array, Uint8Array]> = [];
  let chunkBytes = 0;
  const flush = () => {
    const payload = new Uint8Array(packEntries(chunk, Math.ceil(chunkBytes / chunk.length)));
    const head = frameHead(payload);
    if (writevSync(fd, [head, payload]) !== head.length + payload.length) throw new Error("short write while writing a snapshot");
    bytes += head.length + payload.length;
    // Synced frame by frame: one fdatasync of the whole snapshot at the end flushed tens of MiB at
    // once, and the log's own fdatasyncs waited behind it.
    fdatasyncSync(fd);
    chunk = [];
    chunkBytes = 0;
  };
  forEachOp((seq, op) => {
    if (op.type !== "put" || latest.get(keyOf(op)) !== seq) return;
    chunk.push([op.key, op.value]);
    chunkBytes += op.key.length + op.value.length + 8;
    if (chunkBytes >= FRAME_TARGET_BYTES) flush();
  });
  if (chunk.length > 0) flush();
  fdatasyncSync(fd);
  closeSync(fd);
  open = false;
  renameSync(tmp, join(dir, snapName(outGen)));
} catch (e) {
  // Free the space a partial snapshot holds (a full disk is a likely cause): the log needs it.
  if (open) closeSync(fd);
  rmSync(tmp, { force: true });
  throw e;
}
syncDir(dir);
parentPort!.postMessage({ bytes });
