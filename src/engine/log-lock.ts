// One process at a time in a LogStore directory: a lock file naming the holder by pid and start
// time. Taken on the engine's thread before the store's worker starts, released on close (also
// when the worker died), so a crash is the only way to leave one behind.
import { readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LOCK_NAME } from "./log-files.ts";

/** Directories this process holds. A lock naming this process is stale unless listed here. */
const held = new Set<string>();

/** A takeover left half-done by a crash is cleared after this. */
const STALE_TAKEOVER_MS = 10_000;

/** The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for the holder. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function holderAlive(content: string): boolean {
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

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

export function takeLock(dir: string): void {
  const key = resolve(dir);
  if (held.has(key)) throw new Error(`the directory is already open in this process (${key})`);
  const path = join(dir, LOCK_NAME);
  const me = `${process.pid} ${startTimeOf(process.pid) ?? ""}`;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      writeFileSync(path, me, { flag: "wx" });
      held.add(key);
      return;
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
    if (holderAlive(content)) throw new Error(`the directory is in use by process ${content.split(" ")[0]} (${path})`);
    // Stale: its process is gone (or it named this process before a restart). Removed under a
    // second lock file, so two processes doing this at once cannot both remove the other's fresh lock.
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
  throw new Error(`could not take ${path}: another process is opening the directory`);
}

export function releaseLock(dir: string): void {
  const key = resolve(dir);
  if (!held.delete(key)) return;
  try {
    unlinkSync(join(dir, LOCK_NAME));
  } catch {
    // already gone: nothing to release
  }
}
