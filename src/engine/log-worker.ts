// The disk side of LogStore, on its own thread (served by worker-serve.ts). A write is one frame
// appended to the current log and fdatasync'd: no index to maintain, since the engine keeps every
// record in memory. When the logs since the last snapshot outgrow it, the log is rotated and a
// compactor thread (log-compactor.ts) folds them into a new snapshot. File layout: log-files.ts.
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readdirSync, statSync, unlinkSync, writeSync, writevSync } from "node:fs";
import { open as openAsync, unlink as unlinkAsync } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker, workerData } from "node:worker_threads";
import { AgentPayError } from "../core/index.ts";
import type { CompactionJob } from "./log-compactor.ts";
import {
  LOG_MAGIC, MANIFEST_NAME, MAX_FRAME_BYTES, MAX_LOG_FILE_BYTES, damaged, frameHead, listGenerations, logName, missing, readFrames,
  readLog, readManifest, replay, snapName, syncDir, writeManifest,
} from "./log-files.ts";
import type { DirFiles, Manifest } from "./log-files.ts";
import { serve } from "./worker-serve.ts";

interface Init {
  dir: string;
  sync: boolean;
  compactMinBytes: number;
}

const { dir, sync, compactMinBytes } = workerData as Init;

let fd = -1;
/** The generation being appended to. */
let gen = 0;
/** What the manifest on disk says: the newest snapshot and the logs since (the last is `gen`). */
let manifest: Manifest = { logs: [] };
/** Bytes in the logs since the newest snapshot: past max(compactMinBytes, LOG_TO_SNAPSHOT × snapshot), compact. */
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

const snapGen = () => manifest.snap?.gen;
const logGens = () => manifest.logs.map((l) => l.gen);

/** A new, empty log (the magic line, synced, its name synced), opened for appending only. */
function createLog(g: number): number {
  // O_APPEND: every write lands at the end of the file, whoever else might have it open.
  const f = openSync(join(dir, logName(g)), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND, 0o644);
  try {
    writeSync(f, LOG_MAGIC);
    fdatasyncSync(f);
    syncDir(dir); // the new file's name is durable before the manifest names it
  } catch (e) {
    closeSync(f);
    throw e;
  }
  return f;
}

function removeQuietly(name: string): void {
  try {
    unlinkSync(join(dir, name));
  } catch {
    // gone already, or left for the next open to remove
  }
}

/** Files a new snapshot made obsolete, being removed in the background (removeGradually). */
let removing: Promise<void> = Promise.resolve();
/** Bytes freed per step when removing an obsolete file, and the pause between steps. */
const REMOVE_STEP_BYTES = 4 << 20;
const REMOVE_PAUSE_MS = 5;
/** Set by close: no writes come any more, so the rest is removed without pauses. */
let closing = false;

/**
 * Removes files no manifest names any more, a few MiB at a time and off this thread (the
 * thread pool does the calls). One unlink of a 64 MiB log held this thread ~30 ms, every write
 * waiting behind it, and freeing that many blocks at once (ext4 mounted with discard) stalled the
 * next fdatasyncs for 15–25 ms more. A crash midway leaves files no manifest names: open removes them.
 */
async function removeGradually(names: readonly string[]): Promise<void> {
  for (const name of names) {
    const path = join(dir, name);
    try {
      const h = await openAsync(path, "r+");
      try {
        for (let size = (await h.stat()).size; size > 0;) {
          size = Math.max(0, size - REMOVE_STEP_BYTES);
          await h.truncate(size);
          if (!closing) await sleep(REMOVE_PAUSE_MS);
        }
      } finally {
        await h.close();
      }
      await unlinkAsync(path);
    } catch {
      // gone already, or left for the next open to remove
    }
  }
}

function open(): void {
  // The directory exists and is locked for this process (WorkerStore.open did both).
  const names = readdirSync(dir);
  if (names.includes("CURRENT") && names.some((n) => n.startsWith("MANIFEST-"))) {
    throw new AgentPayError("STORE_FAILURE", "this directory holds a LevelDB store: open it with LevelStore (storage: \"level\")", { reason: "level_store_directory" });
  }
  load(names);
}

/** A log that holds no write: its magic line or part of it, perhaps a first write cut off (never acknowledged). */
function holdsNoWrite(g: number): boolean {
  const { frames, damaged: bad } = readFrames(readLog(dir, g), LOG_MAGIC);
  return frames.length === 0 && !bad;
}

/**
 * A directory with no manifest is new only if nothing was ever written in it: no snapshot, and at
 * most the first log, holding no write (a crash while creating the store). Anything else has lost
 * its manifest, and guessing what belongs would be guessing what was acknowledged.
 */
function isNew(files: DirFiles): boolean {
  return files.snaps.length === 0 && files.logs.every((g) => g === 1) && files.logs.every(holdsNoWrite);
}

function load(names: string[]): void {
  const files = listGenerations(names);
  for (const t of files.temps) removeQuietly(t); // a snapshot or manifest a crash cut short
  const found = readManifest(dir);
  if (!found) {
    if (!isNew(files)) throw missing(MANIFEST_NAME, "it names the snapshot and logs the directory holds");
    for (const g of files.logs) removeQuietly(logName(g));
    gen = 1;
    fd = createLog(gen);
    manifest = { logs: [{ gen }] };
    writeManifest(dir, manifest);
    fileBytes = logBytes = LOG_MAGIC.length;
    loaded = new Map();
    return;
  }
  manifest = found;
  // Every file named is there, and the closed ones at the size they were closed at: a file cut back
  // to a frame boundary reads back whole, so only its size tells.
  const sized = [
    ...(manifest.snap ? [{ name: snapName(manifest.snap.gen), bytes: manifest.snap.bytes }] : []),
    ...manifest.logs.map((l) => ({ name: logName(l.gen), bytes: l.bytes })),
  ];
  for (const { name, bytes } of sized) {
    let size: number;
    try {
      size = statSync(join(dir, name)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw missing(name, `${MANIFEST_NAME} names it`);
      throw e;
    }
    if (bytes !== undefined && size !== bytes) throw damaged(name, `${size} bytes where ${bytes} were written`, { expectedBytes: bytes, actualBytes: size });
  }
  const named = new Set(logGens());
  const last = gen = manifest.logs.at(-1)!.gen;
  // Files the manifest does not name: older ones a snapshot covers, or newer ones a crash left
  // between creating them and naming them (a new log holds no write until it is named).
  for (const g of files.logs) {
    if (named.has(g)) continue;
    if (g > last && !holdsNoWrite(g)) throw damaged(logName(g), `it holds writes but ${MANIFEST_NAME} does not name it`);
  }
  const { records, lastLogValidBytes } = replay(dir, snapGen(), logGens(), true);
  for (const s of files.snaps) if (s !== snapGen()) removeQuietly(snapName(s));
  for (const g of files.logs) if (!named.has(g)) removeQuietly(logName(g));
  if (lastLogValidBytes < LOG_MAGIC.length) {
    // The newest was cut off inside its first line: no write in it was acknowledged. Start it afresh.
    unlinkSync(join(dir, logName(gen)));
    fd = createLog(gen);
    fileBytes = LOG_MAGIC.length;
  } else {
    fd = openSync(join(dir, logName(gen)), constants.O_WRONLY | constants.O_APPEND);
    // Cut a write that a crash left half-done, so new frames follow whole ones.
    if (fstatSync(fd).size !== lastLogValidBytes) {
      ftruncateSync(fd, lastLogValidBytes);
      fdatasyncSync(fd);
    }
    fileBytes = lastLogValidBytes;
  }
  logBytes = manifest.logs.reduce((n, l) => n + (l.bytes ?? fileBytes), 0);
  loaded = records;
}

function write(bytes: ArrayBuffer): void {
  loaded = undefined; // no longer the current records: a scan from here reads the files
  const payload = new Uint8Array(bytes);
  if (payload.byteLength > MAX_FRAME_BYTES) throw new Error(`a write of ${payload.byteLength} bytes is larger than a log frame may be`);
  // Rotation comes before the append, so a failure in it fails a write that wrote nothing.
  if (!compaction && logBytes >= Math.max(compactMinBytes, LOG_TO_SNAPSHOT * (manifest.snap?.bytes ?? 0))) startCompaction();
  else if (fileBytes >= MAX_LOG_FILE_BYTES) rotate();
  const head = frameHead(payload);
  const total = head.length + payload.length;
  let n = writevSync(fd, [head, payload]);
  if (n < total) {
    // A short write: go on with the rest, so what the caller hears is the disk's own refusal
    // (ENOSPC, EFBIG, EIO...), or nothing if it was only interrupted. A torn frame is cut at open.
    const whole = Buffer.concat([head, payload]);
    while (n < total) {
      const more = writeSync(fd, whole, n, total - n);
      if (more <= 0) throw new Error(`short write to ${logName(gen)} (${n} of ${total} bytes)`);
      n += more;
    }
  }
  if (sync) fdatasyncSync(fd);
  logBytes += n;
  fileBytes += n;
}

/**
 * Goes on in a new log file; the closed ones stay live until a snapshot covers them. The new log
 * exists (empty, synced) before the manifest names it, and the manifest records the closed log's
 * size. A failure here fails the write that asked for it, and with it the store (worker-serve.ts).
 */
function rotate(): void {
  if (!sync) fdatasyncSync(fd); // a closed log is whole on disk before the manifest names its size
  const closed = { gen, bytes: fileBytes };
  const next = createLog(gen + 1);
  const logs = [...manifest.logs.slice(0, -1), closed, { gen: gen + 1 }];
  try {
    writeManifest(dir, { ...manifest, logs });
  } catch (e) {
    closeSync(next);
    throw e;
  }
  closeSync(fd);
  fd = next;
  gen += 1;
  manifest = { ...manifest, logs };
  fileBytes = LOG_MAGIC.length;
  logBytes += LOG_MAGIC.length;
}

/** Rotates to a new log and folds the closed ones into a snapshot on another thread. */
function startCompaction(): void {
  const job: CompactionJob = { dir, snapGen: snapGen(), logGens: logGens(), outGen: gen + 1 };
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
      const oldSnap = snapGen();
      // The new snapshot counts once the manifest names it; until then the old one and its logs do.
      const next: Manifest = { snap: { gen: job.outGen, bytes }, logs: manifest.logs.filter((l) => l.gen >= job.outGen) };
      try {
        writeManifest(dir, next);
      } catch (e) {
        removeQuietly(snapName(job.outGen));
        throw e;
      }
      manifest = next;
      const obsolete = [...(oldSnap !== undefined ? [snapName(oldSnap)] : []), ...job.logGens.map(logName)];
      removing = removing.then(() => removeGradually(obsolete));
    },
  ).catch((e: unknown) => {
    // The logs are all still there, so nothing is lost: the next compaction folds them in with
    // the rest (one attempt per compactMinBytes of new writes). Disk use grows meanwhile: say so.
    process.emitWarning(`agentpay: LogStore compaction in ${dir} failed: ${e instanceof Error ? e.message : String(e)}`, "AgentPayStoreWarning");
  }).finally(() => {
    compaction = undefined;
  });
}

serve({
  open,
  next(limit, first) {
    if (first || !scan) {
      const records = loaded ?? replay(dir, snapGen(), logGens(), false).records;
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
    closing = true;
    await removing;
    scan = undefined;
    loaded = undefined;
    if (fd >= 0) closeSync(fd);
    fd = -1;
  },
});
