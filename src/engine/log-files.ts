// The files of a LogStore directory (log-store.ts) and how they are framed.
//
//   agentpay.manifest   what the directory holds: the snapshot (if any) and every log after it, in
//                       order; the snapshot's and each closed log's exact size; checksummed. Written
//                       aside, synced and renamed, and only ever names files that are complete.
//   log-<gen>.apl   writes made while generation <gen> was current, appended as frames
//   snap-<gen>.aps  every record as of the start of generation <gen> (all logs before it applied)
//   *.tmp           a snapshot or manifest being written; renamed into place only once complete and synced
//   agentpay-lock.sqlite, agentpay-holder.json   the directory lock (dir-lock.ts)
//
// A log or snapshot is a 16-byte magic line, then frames: [payload bytes u32 LE][CRC-32 of payload
// u32 LE][payload], where a payload is one packed write (packed-ops.ts).
//
// Open trusts the manifest, not the listing: a named file that is missing, or a snapshot or closed
// log of another size, is refused (a lost snapshot must never open as an older state); files it
// does not name are leftovers of a crash between writing a file and naming it, and are removed.
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { AgentPayError } from "../core/index.ts";
import { unpackOps } from "./packed-ops.ts";

export const LOG_MAGIC = Buffer.from("agentpay log v1\n");
export const SNAP_MAGIC = Buffer.from("agentpay snp v1\n");
export const FRAME_HEAD_BYTES = 8;
/** No frame is larger (a write beyond it is refused): a length beyond it is damage, not data. */
export const MAX_FRAME_BYTES = 1 << 30;
/** A log is rotated past this size even when no compaction is due: files stay readable whole. */
export const MAX_LOG_FILE_BYTES = 256 << 20;
/** How far past the first bad frame open looks for a whole one (beyond it, damage is assumed). */
const MAX_SEARCH_BYTES = 64 << 20;

const pad = (gen: number) => String(gen).padStart(10, "0");
export const logName = (gen: number): string => `log-${pad(gen)}.apl`;
export const snapName = (gen: number): string => `snap-${pad(gen)}.aps`;
export const MANIFEST_NAME = "agentpay.manifest";
const MANIFEST_MAGIC = "agentpay manifest v1\n";
/** A manifest larger than this is not one (a million logs would be past any sane directory). */
const MAX_MANIFEST_BYTES = 1 << 20;

/** Whether a file name is one of a LogStore's (a LevelStore refuses such a directory). */
export function isLogStoreFile(name: string): boolean {
  return name === MANIFEST_NAME || /^(log-\d{10}\.apl|snap-\d{10}\.aps)$/.test(name);
}

export function missing(file: string, what: string): AgentPayError {
  return new AgentPayError("STORE_FILE_MISSING", `${file} is missing (${what}): restore it, or the directory from a backup`, { file });
}

export function damaged(file: string, message: string, details: Record<string, unknown> = {}): AgentPayError {
  return new AgentPayError("STORE_FAILURE", `${file} is damaged: ${message}`, { file, reason: "damaged", ...details });
}

/**
 * The directory's contents: the snapshot (generation and size) and the logs after it, oldest first,
 * numbered on from the snapshot without a gap. Every log but the last is closed and has its size;
 * the last is the one being appended to.
 */
export interface Manifest {
  readonly snap?: { readonly gen: number; readonly bytes: number };
  readonly logs: ReadonlyArray<{ readonly gen: number; readonly bytes?: number }>;
}

const isGen = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= LOG_MAGIC.length;

function validManifest(m: unknown): m is Manifest {
  if (m === null || typeof m !== "object") return false;
  const { snap, logs } = m as { snap?: unknown; logs?: unknown };
  if (snap !== undefined && (snap === null || typeof snap !== "object" || !isGen((snap as Manifest["snap"])!.gen) || !isSize((snap as Manifest["snap"])!.bytes))) return false;
  if (!Array.isArray(logs) || logs.length === 0) return false;
  const first = (snap as Manifest["snap"])?.gen ?? (logs[0] as { gen?: unknown })?.gen;
  return logs.every((l: { gen?: unknown; bytes?: unknown }, i) =>
    l !== null && typeof l === "object" && l.gen === (first as number) + i && isGen(l.gen)
    && (i === logs.length - 1 ? l.bytes === undefined : isSize(l.bytes)));
}

/** The manifest, or undefined when there is none; a manifest that does not read back whole is refused. */
export function readManifest(dir: string): Manifest | undefined {
  let text: string;
  try {
    const buf = readFileSync(join(dir, MANIFEST_NAME));
    if (buf.length > MAX_MANIFEST_BYTES) throw damaged(MANIFEST_NAME, "too large");
    text = buf.toString("utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const m = /^agentpay manifest v1\n(.*)\ncrc32:([0-9a-f]{8})\n$/s.exec(text);
  if (!m || crc32(Buffer.from(m[1]!, "utf8")).toString(16).padStart(8, "0") !== m[2]) throw damaged(MANIFEST_NAME, "its checksum does not match");
  let parsed: unknown;
  try {
    parsed = JSON.parse(m[1]!);
  } catch {
    throw damaged(MANIFEST_NAME, "not JSON");
  }
  if (!validManifest(parsed)) throw damaged(MANIFEST_NAME, "it does not describe a snapshot and consecutive logs");
  return parsed;
}

/** Replaces the manifest atomically: written aside, synced, renamed, and the rename synced. */
export function writeManifest(dir: string, m: Manifest): void {
  const body = JSON.stringify({ ...(m.snap ? { snap: m.snap } : {}), logs: m.logs });
  const text = `${MANIFEST_MAGIC}${body}\ncrc32:${crc32(Buffer.from(body, "utf8")).toString(16).padStart(8, "0")}\n`;
  const tmp = join(dir, `${MANIFEST_NAME}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    const bytes = Buffer.from(text, "utf8");
    if (writeSync(fd, bytes) !== bytes.length) throw new Error(`short write to ${MANIFEST_NAME}.tmp`);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, MANIFEST_NAME));
  syncDir(dir);
}

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
 * intact frames. What follows it is a `torn` tail when no whole, intact frame starts anywhere in
 * it: a crash cuts off or half-writes only the writes after the last one synced. Otherwise
 * acknowledged writes would be lost by cutting there, so it is `damaged`.
 */
export function readFrames(buf: Buffer, magic: Buffer): { frames: Buffer[]; validBytes: number; torn: boolean; damaged: boolean } {
  if (buf.length < magic.length || !buf.subarray(0, magic.length).equals(magic)) {
    // A file cut off inside its first line is torn; a wrong first line is not ours.
    const torn = buf.length < magic.length && magic.subarray(0, buf.length).equals(buf);
    return { frames: [], validBytes: 0, torn: torn && buf.length > 0, damaged: !torn };
  }
  const frames: Buffer[] = [];
  let off = magic.length;
  for (let len = frameAt(buf, off); len >= 0; len = frameAt(buf, off)) {
    frames.push(buf.subarray(off + FRAME_HEAD_BYTES, off + FRAME_HEAD_BYTES + len));
    off += FRAME_HEAD_BYTES + len;
  }
  if (off === buf.length) return { frames, validBytes: off, torn: false, damaged: false };
  const damaged = buf.length - off > MAX_SEARCH_BYTES || wholeFrameAfter(buf, off + 1);
  return { frames, validBytes: off, torn: !damaged, damaged };
}

/** Whether a frame of `len` payload bytes at `off` can be one and fits in `size` bytes. */
function frameFits(len: number, off: number, size: number): boolean {
  // Every packed write has a count: a shorter payload is not a frame.
  return len >= 4 && len <= MAX_FRAME_BYTES && off + FRAME_HEAD_BYTES + len <= size;
}

/** The payload length of the whole, intact frame at `off`, or -1. */
function frameAt(buf: Buffer, off: number): number {
  if (off + FRAME_HEAD_BYTES > buf.length) return -1;
  const len = buf.readUInt32LE(off);
  if (!frameFits(len, off, buf.length)) return -1;
  return crc32(buf.subarray(off + FRAME_HEAD_BYTES, off + FRAME_HEAD_BYTES + len)) === buf.readUInt32LE(off + 4) ? len : -1;
}

function wholeFrameAfter(buf: Buffer, from: number): boolean {
  for (let off = from; off + FRAME_HEAD_BYTES + 4 <= buf.length; off++) if (frameAt(buf, off) >= 0) return true;
  return false;
}

/**
 * A file's frames read one at a time (a snapshot may be larger than one buffer can hold); the
 * file must be whole: a snapshot, or a log that was closed.
 */
export function readWhole(dir: string, name: string, magic: Buffer, onFrame: (payload: Buffer) => void): void {
  let fd: number;
  try {
    fd = openSync(join(dir, name), "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw missing(name, "the manifest names it");
    throw e;
  }
  try {
    const size = fstatSync(fd).size;
    const read = (at: number, n: number): Buffer => {
      const b = Buffer.allocUnsafe(n);
      if (readSync(fd, b, 0, n, at) !== n) throw damaged(name, "short read");
      return b;
    };
    if (size < magic.length || !read(0, magic.length).equals(magic)) throw damaged(name, "not ours, or cut off");
    let off = magic.length;
    while (off < size) {
      if (off + FRAME_HEAD_BYTES > size) throw damaged(name, `at byte ${off}`, { byte: off });
      const head = read(off, FRAME_HEAD_BYTES);
      const len = head.readUInt32LE(0);
      if (!frameFits(len, off, size)) throw damaged(name, `at byte ${off}`, { byte: off });
      const payload = read(off + FRAME_HEAD_BYTES, len);
      if (crc32(payload) !== head.readUInt32LE(4)) throw damaged(name, `at byte ${off}`, { byte: off });
      onFrame(payload);
      off += FRAME_HEAD_BYTES + len;
    }
  } finally {
    closeSync(fd);
  }
}

/** A log's bytes; a missing one is refused by name. */
export function readLog(dir: string, gen: number): Buffer {
  try {
    return readFileSync(join(dir, logName(gen)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw missing(logName(gen), "the manifest names it");
    throw e;
  }
}

/**
 * The records of a snapshot plus the logs after it, as raw bytes by key. With `tornTail`, the
 * last log may end in a cut-off write (a crash mid-append) and its valid length is returned so
 * the caller can cut it there; anything else that does not read back whole is damage and throws.
 */
export function replay(dir: string, snapGen: number | undefined, logGens: readonly number[], tornTail: boolean): { records: Map<string, Buffer>; lastLogValidBytes: number } {
  const records = new Map<string, Buffer>();
  const apply = (payload: Buffer) => {
    for (const op of unpackOps(payload)) {
      const key = Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength).toString("utf8");
      if (op.type === "put") records.set(key, op.value as Buffer);
      else records.delete(key);
    }
  };
  if (snapGen !== undefined) readWhole(dir, snapName(snapGen), SNAP_MAGIC, apply);
  let lastLogValidBytes = 0;
  // The logs after a snapshot are numbered on from it without a gap; a gap is a lost log.
  const first = snapGen ?? logGens[0];
  logGens.forEach((gen, i) => {
    if (gen !== first! + i) throw missing(logName(first! + i), "a gap in the logs");
    const { frames, validBytes, torn, damaged: bad } = readFrames(readLog(dir, gen), LOG_MAGIC);
    const last = i === logGens.length - 1;
    if (bad || (!last && validBytes < LOG_MAGIC.length)) throw damaged(logName(gen), `at byte ${validBytes}`, { byte: validBytes });
    if (torn && (!tornTail || !last)) throw damaged(logName(gen), "only the newest log may end in a cut-off write", { byte: validBytes });
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
