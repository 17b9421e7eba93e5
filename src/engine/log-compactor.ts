// Builds snap-<outGen> from the previous snapshot and the logs after it, on a thread of its own
// so the log worker goes on appending meanwhile. Written to a .tmp file, synced, then renamed:
// a snapshot in place is always whole, and a crash at any point leaves the logs to replay.
import { closeSync, fdatasyncSync, openSync, renameSync, unlinkSync, writeSync, writevSync } from "node:fs";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { SNAP_MAGIC, frameHead, replay, snapName, syncDir } from "./log-files.ts";
import { packEntries } from "./packed-ops.ts";

export interface CompactionJob {
  dir: string;
  snapGen: number | undefined;
  logGens: number[];
  outGen: number;
}

/** Records per snapshot frame stop growing past this: bounds the packing buffer. */
const FRAME_TARGET_BYTES = 4 << 20;

const { dir, snapGen, logGens, outGen } = workerData as CompactionJob;
// The logs handed over were all closed before this started: none may end torn.
const { records } = replay(dir, snapGen, logGens, false, "latin1");
const tmp = join(dir, `${snapName(outGen)}.tmp`);
const fd = openSync(tmp, "w");
let bytes = SNAP_MAGIC.length;
try {
  writeSync(fd, SNAP_MAGIC);
  let chunk: Array<[Buffer, Buffer]> = [];
  let chunkBytes = 0;
  const flush = () => {
    const payload = packEntries(chunk);
    const head = frameHead(payload);
    if (writevSync(fd, [head, payload]) !== head.length + payload.length) throw new Error("short write while writing a snapshot");
    bytes += head.length + payload.length;
    chunk = [];
    chunkBytes = 0;
  };
  for (const [key, value] of records) {
    const k = Buffer.from(key, "latin1");
    chunk.push([k, value]);
    chunkBytes += k.length + value.length + 8;
    if (chunkBytes >= FRAME_TARGET_BYTES) flush();
  }
  if (chunk.length > 0) flush();
  fdatasyncSync(fd);
} catch (e) {
  // Free the space a partial snapshot holds (a full disk is a likely cause): the log needs it.
  closeSync(fd);
  unlinkSync(tmp);
  throw e;
}
closeSync(fd);
renameSync(tmp, join(dir, snapName(outGen)));
syncDir(dir);
parentPort!.postMessage({ bytes });
