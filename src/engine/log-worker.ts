// The disk side of LogStore, on its own thread (served by worker-serve.ts). A write is one frame
// appended to the current log and fdatasync'd: no index to maintain, since the engine keeps every
// record in memory. When the logs since the last snapshot outgrow it, the log is rotated and a
// compactor thread (log-compactor.ts) folds them into a new snapshot. File layout: log-files.ts.
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readdirSync, statSync, unlinkSync, writeSync, writevSync } from "node:fs";
import { join } from "node:path";
import { Worker, workerData } from "node:worker_threads";
import type { CompactionJob } from "./log-compactor.ts";
import { LOG_MAGIC, MAX_FRAME_BYTES, MAX_LOG_FILE_BYTES, frameHead, listGenerations, logName, replay, snapName, syncDir } from "./log-files.ts";
import { serve } from "./worker-serve.ts";

interface Init {
  dir: string;
  sync: boolean;
  compactMinBytes: number;
}

const { dir, sync, compactMinBytes } = workerData as Init;

let fd = -1;
/** The generation being appended to, and the logs since the newest snapshot (oldest first). */
let gen = 0;
let liveLogs: number[] = [];
let snapGen: number | undefined;
let snapBytes = 0;
/** Bytes in the logs since the newest snapshot: past max(compactMinBytes, LOG_TO_SNAPSHOT × snapBytes), compact. */
let logBytes = 0;
/** Bytes in the log being appended to: past MAX_LOG_FILE_BYTES, rotate. */
let fileBytes = 0;
/**
 * Each compaction rewrites every live record, so letting the logs reach four times the snapshot
 * first cuts that work for state that mostly grows (payments are kept), at up to about six
 * times the records' size on disk (the snapshot, the logs, and a new snapshot being written).
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
  // The directory exists and is locked for this process (LogStore.open did both).
  const names = readdirSync(dir);
  if (names.includes("CURRENT") && names.some((n) => n.startsWith("MANIFEST-"))) {
    throw new Error("this directory holds a LevelDB store: open it with LevelStore (storage: \"level\")");
  }
  load(names);
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
    // No log yet, or the newest was cut off inside its first line: start it afresh, same number.
    gen = last ?? snapGen ?? 1;
    if (last !== undefined) unlinkSync(join(dir, logName(last)));
    else liveLogs.push(gen);
    fd = createLog(gen);
    fileBytes = LOG_MAGIC.length;
  } else {
    gen = last;
    // O_APPEND: every write lands at the end, whatever was cut off below.
    fd = openSync(join(dir, logName(gen)), "a");
    // Cut a write that a crash left half-done, so new frames follow whole ones.
    if (fstatSync(fd).size !== lastLogValidBytes) {
      ftruncateSync(fd, lastLogValidBytes);
      fdatasyncSync(fd);
    }
    fileBytes = lastLogValidBytes;
  }
  logBytes = liveLogs.reduce((n, g) => n + (g === gen ? fileBytes : statSync(join(dir, logName(g))).size), 0);
  loaded = records;
}

function write(bytes: ArrayBuffer): void {
  loaded = undefined; // no longer the current records: a scan from here reads the files
  const payload = new Uint8Array(bytes);
  if (payload.byteLength > MAX_FRAME_BYTES) throw new Error(`a write of ${payload.byteLength} bytes is larger than a log frame may be`);
  // Rotation comes before the append, so a failure in it fails a write that wrote nothing.
  if (!compaction && logBytes >= Math.max(compactMinBytes, LOG_TO_SNAPSHOT * snapBytes)) startCompaction();
  else if (fileBytes >= MAX_LOG_FILE_BYTES) rotate();
  const head = frameHead(payload);
  const n = writevSync(fd, [head, payload]);
  if (n !== head.length + payload.length) throw new Error(`short write to ${logName(gen)} (${n} bytes)`);
  if (sync) fdatasyncSync(fd);
  logBytes += n;
  fileBytes += n;
}

/** Goes on in a new log file; the closed ones stay live until a snapshot covers them. */
function rotate(): void {
  closeSync(fd);
  fd = -1;
  fd = createLog(gen + 1);
  gen += 1;
  liveLogs.push(gen);
  fileBytes = LOG_MAGIC.length;
  logBytes += LOG_MAGIC.length;
}

/** Rotates to a new log and folds the closed ones into a snapshot on another thread. */
function startCompaction(): void {
  const job: CompactionJob = { dir, snapGen, logGens: [...liveLogs], outGen: gen + 1 };
  rotate();
  logBytes = LOG_MAGIC.length;
  compaction = new Promise<number>((resolve, reject) => {
    // Inline rather than core's siblingModuleUrl: this worker thread loads nothing of core.
    const w = new Worker(new URL(`./log-compactor${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url), { workerData: job });
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
    (e: unknown) => {
      // The logs are all still there, so nothing is lost: the next compaction folds them in with
      // the rest (one attempt per compactMinBytes of new writes). Disk use grows meanwhile: say so.
      process.emitWarning(`agentpay: LogStore compaction in ${dir} failed: ${e instanceof Error ? e.message : String(e)}`, "AgentPayStoreWarning");
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
  },
});
