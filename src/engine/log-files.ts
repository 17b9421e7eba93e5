// The files of a LogStore directory (log-store.ts) and how they are framed.
//
//   log-<gen>.apl   writes made while generation <gen> was current, appended as frames
//   snap-<gen>.aps  every record as of the start of generation <gen> (all logs before it applied)
//   *.tmp           a snapshot being written; renamed into place only once complete and synced
//   agentpay.lock   the id of the process that has the directory open
//
// A file is a 16-byte magic line, then frames: [payload bytes u32 LE][CRC-32 of payload u32 LE]
// [payload], where a payload is one packed write (packed-ops.ts).
import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { unpackOps } from "./packed-ops.ts";

export const LOG_MAGIC = Buffer.from("agentpay log v1\n");
export const SNAP_MAGIC = Buffer.from("agentpay snp v1\n");
export const FRAME_HEAD_BYTES = 8;
/** No frame is larger: a length beyond it is damage, not data. */
export const MAX_FRAME_BYTES = 1 << 30;

const pad = (gen: number) => String(gen).padStart(10, "0");
export const logName = (gen: number): string => `log-${pad(gen)}.apl`;
export const snapName = (gen: number): string => `snap-${pad(gen)}.aps`;
export const LOCK_NAME = "agentpay.lock";

export interface DirFiles {
  logs: number[];
  snaps: number[];
  temps: string[];
}

/** The generations present, in ascending order. */
export function listGenerations(names: readonly string[]): DirFiles {
  const out: DirFiles = { logs: [], snaps: [], temps: [] };
  for (const n of names) {
    const m = /^(log|snap)-(\d{10})\.(apl|aps)$/.exec(n);
    if (m && (m[1] === "log") === (m[3] === "apl")) (m[1] === "log" ? out.logs : out.snaps).push(Number(m[2]));
    else if (n.endsWith(".tmp")) out.temps.push(n);
  }
  out.logs.sort((a, b) => a - b);
  out.snaps.sort((a, b) => a - b);
  return out;
}

export function frameHead(payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(FRAME_HEAD_BYTES);
  head.writeUInt32LE(payload.byteLength, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return head;
}

/**
 * A file's frames. `validBytes` is the length of the longest prefix made of the magic and whole,
 * intact frames. What may follow it is a `torn` tail: a last frame cut short or not yet checksummed
 * right when a crash came (nothing whole after it), or zeros. Anything else there is `damaged`.
 */
export function readFrames(buf: Buffer, magic: Buffer): { frames: Buffer[]; validBytes: number; torn: boolean; damaged: boolean } {
  if (buf.length < magic.length || !buf.subarray(0, magic.length).equals(magic)) {
    // A file cut off inside its first line is torn; a wrong first line is not ours.
    const torn = buf.length < magic.length && magic.subarray(0, buf.length).equals(buf);
    return { frames: [], validBytes: 0, torn: torn && buf.length > 0, damaged: !torn };
  }
  const frames: Buffer[] = [];
  let off = magic.length;
  while (off + FRAME_HEAD_BYTES <= buf.length) {
    const len = buf.readUInt32LE(off);
    const end = off + FRAME_HEAD_BYTES + len;
    // Every packed write has a count: a shorter payload is not a frame.
    if (len < 4 || len > MAX_FRAME_BYTES || end > buf.length) break;
    const payload = buf.subarray(off + FRAME_HEAD_BYTES, end);
    if (crc32(payload) !== buf.readUInt32LE(off + 4)) break;
    frames.push(payload);
    off = end;
  }
  if (off === buf.length) return { frames, validBytes: off, torn: false, damaged: false };
  const rest = buf.subarray(off);
  const len = rest.length >= FRAME_HEAD_BYTES ? rest.readUInt32LE(0) : 0;
  const cutShort = rest.length < FRAME_HEAD_BYTES || (len >= 4 && len <= MAX_FRAME_BYTES && FRAME_HEAD_BYTES + len >= rest.length);
  const torn = cutShort || rest.every((b) => b === 0);
  return { frames, validBytes: off, torn, damaged: !torn };
}

/**
 * The records of a snapshot plus the logs after it, as raw bytes by key. With `tornTail`, the
 * last log may end in a cut-off write (a crash mid-append) and its valid length is returned so
 * the caller can cut it there; anything else that does not read back whole is damage and throws.
 * Keys as "latin1" are the raw bytes one per char: cheaper, for a caller that writes them back.
 */
export function replay(
  dir: string, snapGen: number | undefined, logGens: readonly number[], tornTail: boolean, keyEncoding: "utf8" | "latin1" = "utf8",
): { records: Map<string, Buffer>; lastLogValidBytes: number } {
  const records = new Map<string, Buffer>();
  const apply = (payload: Buffer) => {
    for (const op of unpackOps(payload)) {
      const key = Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength).toString(keyEncoding);
      if (op.type === "put") records.set(key, op.value as Buffer);
      else records.delete(key);
    }
  };
  if (snapGen !== undefined) {
    const { frames, validBytes, torn, damaged } = readFrames(readFileSync(join(dir, snapName(snapGen))), SNAP_MAGIC);
    if (torn || damaged || validBytes < SNAP_MAGIC.length) throw new Error(`${snapName(snapGen)} is damaged`);
    for (const f of frames) apply(f);
  }
  let lastLogValidBytes = 0;
  logGens.forEach((gen, i) => {
    const { frames, validBytes, torn, damaged } = readFrames(readFileSync(join(dir, logName(gen))), LOG_MAGIC);
    if (damaged) throw new Error(`${logName(gen)} is damaged at byte ${validBytes}`);
    if (torn && (!tornTail || i < logGens.length - 1)) throw new Error(`${logName(gen)} is damaged (only the newest log may end in a cut-off write)`);
    for (const f of frames) apply(f);
    lastLogValidBytes = validBytes;
  });
  return { records, lastLogValidBytes };
}

/** Makes a directory entry change (a created, renamed or removed file) durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the directory for this process: a lock file holding its pid. A lock left by a process
 * that no longer exists (killed) is taken over. Released by `releaseLock` on close.
 */
export function takeLock(dir: string): void {
  const path = join(dir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const pid = Number(readFileSync(path, "utf8"));
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new Error(`the directory is in use by process ${pid} (${path})`);
    unlinkSync(path); // its process is gone
  }
  throw new Error(`could not take ${path}`);
}

export function releaseLock(dir: string): void {
  try {
    unlinkSync(join(dir, LOCK_NAME));
  } catch {
    // already gone: nothing to release
  }
}
