// The disk side of LogStore, on its own thread (served by worker-serve.ts). A write is one frame
// appended to the current log and fdatasync'd: no index to maintain, since the engine keeps every
// record in memory. When the logs since the last snapshot outgrow it, the log is rotated and a
// compactor thread (log-compactor.ts) folds them into a new snapshot. File layout: log-files.ts.
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, writeSync, writevSync } from "node:fs";
import { join } from "node:path";
import { Worker, workerData } from "node:worker_threads";
import type { CompactionJob } from "./log-compactor.ts";
import { LOG_MAGIC, frameHead, listGenerations, logName, releaseLock, replay, snapName, syncDir, takeLock } from "./log-files.ts";
import { serve } from "./worker-serve.ts";

interface Init {
  dir: string;
  sync: boolean;
  compactMinBytes: number;
}

const { dir, sync, compactMinBytes } = workerData as Init;

let locked = false;
let fd = -1;
/** The generation being appended to, and the logs since the newest snapshot (oldest first). */
let gen = 0;
let liveLogs: number[] = [];
let snapGen: number | undefined;
let snapBytes = 0;
/** Bytes in the logs since the newest snapshot: past max(compactMinBytes, LOG_TO_SNAPSHOT × snapBytes), compact. */
let logBytes = 0;
/**
 * Each compaction rewrites every live record, so letting the logs reach twice the snapshot first
 * halves that work for state that mostly grows (payments are kept), at up to ~3x the disk.
 */
const LOG_TO_SNAPSHOT = 4;
let compaction: Promise<void> | undefined;
/** The records read at open, for a scan before any write (any other scan reads the files again). */
let loaded: Map<string, Buffer> | undefined;
let scan: { keys: string[]; records: Map<string, Buffer>; at: number } | undefined;

function createLog(g: number): number {
  const f = openSync(join(dir, logName(g)), "wx");
  writeSync(f, LOG_MAGIC);
  fdatasyncSync(f);
  syncDir(dir); // the new file's name is durable before any write in it is acknowledged
  return f;
}

function removeQuietly(name: string): void {
  try {
    unlinkSync(join(dir, name));
  } catch {
    // gone already, or left for the next open to remove
  }
}

function open(): void {
  mkdirSync(dir, { recursive: true });
  const names = readdirSync(dir);
  if (names.includes("CURRENT") && names.some((n) => n.startsWith("MANIFEST-"))) {
    throw new Error("this directory holds a LevelDB store: open it with LevelStore (storage: \"level\")");
  }
  takeLock(dir);
  locked = true;
  try {
    load(names);
  } catch (e) {
    releaseLock(dir);
    locked = false;
    throw e;
  }
}

function load(names: string[]): void {
  const files = listGenerations(names);
  for (const t of files.temps) removeQuietly(t); // a snapshot a crash cut short
  snapGen = files.snaps.at(-1);
  // A snapshot holds everything logged before its generation: older files are leftovers.
  liveLogs = files.logs.filter((g) => snapGen === undefined || g >= snapGen);
  const { records, lastLogValidBytes } = replay(dir, snapGen, liveLogs, true);
  for (const s of files.snaps) if (s !== snapGen) removeQuietly(snapName(s));
  for (const g of files.logs) if (!liveLogs.includes(g)) removeQuietly(logName(g));
  snapBytes = snapGen === undefined ? 0 : statSync(join(dir, snapName(snapGen))).size;
  const last = liveLogs.at(-1);
  if (last === undefined || lastLogValidBytes < LOG_MAGIC.length) {
    // No log yet, or the newest was cut off before its first line: start a fresh one.
    if (last !== undefined) {
      removeQuietly(logName(last));
      liveLogs.pop();
    }
    gen = Math.max(snapGen ?? 1, (last ?? 0) + 1);
    fd = createLog(gen);
    liveLogs.push(gen);
  } else {
    gen = last;
    // O_APPEND: every write lands at the end, whatever was cut off below.
    fd = openSync(join(dir, logName(gen)), "a");
    // Cut a write that a crash left half-done, so new frames follow whole ones.
    if (fstatSync(fd).size !== lastLogValidBytes) {
      ftruncateSync(fd, lastLogValidBytes);
      fdatasyncSync(fd);
    }
  }
  logBytes = liveLogs.reduce((n, g) => n + (g === gen ? lastLogValidBytes || LOG_MAGIC.length : statSync(join(dir, logName(g))).size), 0);
  loaded = records;
}

function write(bytes: ArrayBuffer): void {
  loaded = undefined; // no longer the current records: a scan from here reads the files
  const payload = new Uint8Array(bytes);
  const head = frameHead(payload);
  const n = writevSync(fd, [head, payload]);
  if (n !== head.length + payload.length) throw new Error(`short write to ${logName(gen)} (${n} bytes)`);
  if (sync) fdatasyncSync(fd);
  logBytes += n;
  if (!compaction && logBytes >= Math.max(compactMinBytes, LOG_TO_SNAPSHOT * snapBytes)) startCompaction();
}

/** Rotates to a new log and folds the closed ones into a snapshot on another thread. */
function startCompaction(): void {
  const job: CompactionJob = { dir, snapGen, logGens: [...liveLogs], outGen: gen + 1 };
  closeSync(fd);
  fd = -1;
  gen += 1;
  fd = createLog(gen);
  liveLogs.push(gen);
  logBytes = LOG_MAGIC.length;
  compaction = new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL("./log-compactor.ts", import.meta.url), { workerData: job });
    w.once("message", (m: { bytes: number }) => resolve(m.bytes));
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`compactor exited (code ${code})`)));
  }).then(
    (bytes) => {
      const oldSnap = snapGen;
      snapGen = job.outGen;
      snapBytes = bytes;
      liveLogs = liveLogs.filter((g) => g >= job.outGen);
      if (oldSnap !== undefined) removeQuietly(snapName(oldSnap));
      for (const g of job.logGens) removeQuietly(logName(g));
    },
    () => {
      // The logs are all still there, so nothing is lost: the next rotation folds them in with
      // the rest (one attempt per compactMinBytes of new writes).
    },
  ).finally(() => {
    compaction = undefined;
  });
}

serve({
  open,
  next(limit, first) {
    if (first || !scan) {
      const records = loaded ?? replay(dir, snapGen, liveLogs, false).records;
      loaded = undefined;
      scan = { keys: [...records.keys()].sort(), records, at: 0 };
    }
    const out: string[] = [];
    const { keys, records } = scan;
    const end = Math.min(keys.length, scan.at + limit);
    for (let i = scan.at; i < end; i++) out.push(keys[i]!, records.get(keys[i]!)!.toString("utf8"));
    scan.at = end;
    if (out.length === 0) scan = undefined;
    return out;
  },
  write,
  async close() {
    await compaction;
    scan = undefined;
    loaded = undefined;
    if (fd >= 0) closeSync(fd);
    fd = -1;
    if (locked) releaseLock(dir);
    locked = false;
  },
});
