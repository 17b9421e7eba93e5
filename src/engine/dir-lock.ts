// One writer per store directory: an OS lock that the kernel holds for this process and drops
// when it dies, whatever its pid.
//
// Why SQLite (`node:sqlite`, built into Node >= 22.13): Node has no flock/fcntl in core. SQLite's
// unix VFS takes POSIX record locks (fcntl F_SETLK) on its database file, which the kernel keeps per
// process and inode, not per pid number, so two containers sharing a volume (both PID 1) still
// exclude each other, and a holder killed with SIGKILL leaves nothing to take over: the kernel has
// released the lock. SQLite also tracks its locks per inode inside the process, so a second open of
// the same file through another path is refused too. Windows gets LockFileEx through the same
// call. The alternatives were worse for a library: a native addon needs a compiler (or prebuilt
// binaries per platform) at every consumer's install; a pid file cannot tell pid 1 from pid 1.
//
// The lock file itself stays empty (locking_mode EXCLUSIVE with an open BEGIN EXCLUSIVE, the journal in
// memory) and is never deleted: a process could be waiting on the old inode while a third created a
// new one. Limits, documented in docs/DURABILITY.md: the lock is advisory (only agentpay takes it), and on
// network file systems it is only as good as their fcntl locking.
//
// Where node:sqlite is missing (Node 20, which the built package supports) the lock falls back to a pid
// file (agentpay.lock, as earlier versions wrote): one process per directory on one host still holds,
// a crashed holder is recognised by pid and start time, but containers sharing a volume are not told
// apart, and a Node 20 and a Node >= 22.13 process do not see each other's lock.
import { mkdirSync, realpathSync, statSync, unlinkSync, writeFileSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { AgentPayError } from "../core/index.ts";
import { syncDir } from "./log-files.ts";

export const LOCK_FILE = "agentpay-lock.sqlite";
/** Who holds the lock, for error messages only: the lock is the OS lock, never this file. */
export const HOLDER_FILE = "agentpay-holder.json";
/** The pid lock file of earlier versions; removed once the OS lock is held. */
const LEGACY_LOCK_FILE = "agentpay.lock";
const SQLITE_BUSY = 5;

interface SqliteDb {
  exec(sql: string): void;
  close(): void;
}
type SqliteModule = { DatabaseSync: new (path: string, opts?: Record<string, unknown>) => SqliteDb };

let sqlite: SqliteModule | null | undefined;
/** node:sqlite, or null where Node lacks it (before 22.13): then the pid-file lock below is used. */
function loadSqlite(): SqliteModule | null {
  if (sqlite !== undefined) return sqlite;
  let mod: SqliteModule | undefined;
  try {
    mod = process.getBuiltinModule?.("node:sqlite") as SqliteModule | undefined;
  } catch {
    // flag-gated (Node 22.5-22.12): treated as missing
  }
  return (sqlite = mod ?? null);
}

/** The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for the holder. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** A pid file just created may not hold its pid yet: empty counts as a live holder for this long. */
const FRESH_EMPTY_MS = 5_000;

/** The pid-file holder of `path`, if the file exists: its pid and whether it is alive. */
function readLegacy(path: string): { pid: string; alive: boolean } | undefined {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  return { pid: content.split(" ")[0] || "?", alive: holderAlive(path, content) };
}

/** Whether the pid file at `path` with `content` names a live holder (an empty, fresh file does: it is being written). */
function holderAlive(path: string, content: string): boolean {
  if (content.trim() === "") {
    try {
      return Date.now() - statSync(path).mtimeMs < FRESH_EMPTY_MS;
    } catch {
      return false;
    }
  }
  return pidAlive(content);
}

function pidAlive(content: string): boolean {
  const [pidText, start] = content.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = start ? startTimeOf(pid) : undefined;
  return now === undefined || now === start;
}

/** A takeover left half-done by a crash is cleared after this. */
const STALE_TAKEOVER_MS = 10_000;
/** Tries at taking the pid file before giving up (each one clears a stale holder). */
const PID_LOCK_ATTEMPTS = 4;

/**
 * The fallback where node:sqlite is missing (Node 20): an exclusively created file naming the holder
 * by pid and start time. Weaker than the OS lock (docs/DURABILITY.md): it cannot tell pid 1 in one
 * container from pid 1 in another sharing the volume. Returns the release function.
 */
function pidFileLock(real: string): () => void {
  const path = join(real, LEGACY_LOCK_FILE);
  const me = `${process.pid} ${startTimeOf(process.pid) ?? ""}`;
  const code = (e: unknown) => (e as NodeJS.ErrnoException).code;
  for (let attempt = 0; attempt < PID_LOCK_ATTEMPTS; attempt++) {
    try {
      writeFileSync(path, me, { flag: "wx" });
      return () => {
        try {
          if (readFileSync(path, "utf8") === me) unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (e) {
      if (code(e) !== "EEXIST") throw e;
    }
    let content: string;
    try {
      content = readFileSync(path, "utf8");
    } catch (e) {
      if (code(e) === "ENOENT") continue; // released meanwhile
      throw e;
    }
    if (holderAlive(path, content)) {
      throw new AgentPayError("STORE_LOCKED", `the store directory is in use by process ${content.split(" ")[0]}: ${real}`, { dir: real, holder: "other_process" });
    }
    // Stale: removed under a second file, so two processes doing this at once cannot both remove a fresh lock.
    const mutex = `${path}.takeover`;
    try {
      writeFileSync(mutex, me, { flag: "wx" });
    } catch (e) {
      if (code(e) !== "EEXIST") throw e;
      try {
        if (Date.now() - statSync(mutex).mtimeMs > STALE_TAKEOVER_MS) unlinkSync(mutex);
      } catch {
        // gone meanwhile
      }
      continue;
    }
    try {
      if (readFileSync(path, "utf8") === content) unlinkSync(path);
    } catch (e) {
      if (code(e) !== "ENOENT") throw e;
    } finally {
      unlinkSync(mutex);
    }
  }
  throw new AgentPayError("STORE_LOCKED", `could not take ${path}: another process is opening the directory`, { dir: real, holder: "other_process" });
}

/** Directories this process holds, by real path and by device:inode (a renamed or re-mounted path). */
const held = new Map<string, string>();

export interface DirLock {
  /** The directory's real path. */
  readonly dir: string;
  release(): void;
}

/** Creates the directory if it is missing, making its name durable before anything in it is acknowledged. */
export function ensureDirectory(dir: string): void {
  const created = mkdirSync(dir, { recursive: true });
  if (created === undefined) return;
  for (let d = resolve(dir); ; d = dirname(d)) {
    syncDir(dirname(d));
    if (d === resolve(created) || dirname(d) === d) break;
  }
}

function holderOf(dir: string): string {
  try {
    const h = JSON.parse(readFileSync(join(dir, HOLDER_FILE), "utf8")) as { pid?: unknown; host?: unknown };
    return ` (last taken by pid ${String(h.pid)} on ${String(h.host)})`;
  } catch {
    return "";
  }
}

/**
 * Takes the directory for this process, creating it if needed. Throws STORE_LOCKED when another
 * process holds it, or when this process has it open already under any path; STORE_FAILURE when
 * the lock cannot be taken at all (details.reason says why).
 */
export function lockDirectory(dir: string): DirLock {
  const mod = loadSqlite();
  let real: string;
  let inode: string;
  try {
    ensureDirectory(dir);
    real = realpathSync.native(dir); // the kernel's answer: `link/..` is where the link points, then up
    const st = statSync(real);
    if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
    inode = `${st.dev}:${st.ino}`;
  } catch (e) {
    throw new AgentPayError("STORE_FAILURE", `could not open the store directory: ${(e as Error).message}`, { reason: (e as Error).message }, { cause: e });
  }
  if (held.has(real) || held.has(inode)) {
    throw new AgentPayError("STORE_LOCKED", `the store directory is already open in this process (${real})`, { dir: real, holder: "this_process" });
  }
  if (!mod) {
    let release: () => void;
    try {
      release = pidFileLock(real);
    } catch (e) {
      if (e instanceof AgentPayError) throw e;
      throw new AgentPayError("STORE_FAILURE", `could not lock the store directory: ${(e as Error).message}`, { reason: (e as Error).message }, { cause: e });
    }
    return holding(real, inode, release);
  }
  const { DatabaseSync } = mod;
  let db: SqliteDb | undefined;
  try {
    db = new DatabaseSync(join(real, LOCK_FILE), { timeout: 0 });
    db.exec("PRAGMA locking_mode=EXCLUSIVE");
    db.exec("PRAGMA journal_mode=MEMORY");
    db.exec("BEGIN EXCLUSIVE"); // held until close: never committed
  } catch (e) {
    try {
      db?.close();
    } catch {
      // closing a half-opened handle: nothing more to release
    }
    if ((e as { errcode?: number }).errcode === SQLITE_BUSY) {
      throw new AgentPayError("STORE_LOCKED", `the store directory is in use by another process${holderOf(real)}: ${real}`, { dir: real, holder: "other_process" });
    }
    throw new AgentPayError("STORE_FAILURE", `could not lock the store directory: ${(e as Error).message}`, { reason: (e as Error).message }, { cause: e });
  }
  // A live pid-file holder (a Node 20 process, or an earlier version) keeps the directory: refuse, and
  // never delete its file. A stale one is removed.
  const legacy = join(real, LEGACY_LOCK_FILE);
  const legacyHolder = readLegacy(legacy);
  if (legacyHolder !== undefined && legacyHolder.alive) {
    db.close();
    throw new AgentPayError("STORE_LOCKED", `the store directory is in use by process ${legacyHolder.pid} (a pid-file lock): ${real}`, { dir: real, holder: "other_process" });
  }
  try {
    writeFileSync(join(real, HOLDER_FILE), JSON.stringify({ pid: process.pid, host: hostname(), sinceMs: Date.now() }));
    if (legacyHolder !== undefined) unlinkSync(legacy);
  } catch {
    // informational file, or the stale pid file went meanwhile: the OS lock is what counts
  }
  return holding(real, inode, () => db!.close()); // closing drops the OS lock
}

/** Records the directory as held by this process (by path and by inode); `drop` lets the lock go, once. */
function holding(real: string, inode: string, drop: () => void): DirLock {
  held.set(real, real);
  held.set(inode, real);
  let released = false;
  return {
    dir: real,
    release() {
      if (released) return;
      released = true;
      held.delete(real);
      held.delete(inode);
      drop();
    },
  };
}
