// The wire form of a store write: one buffer, moved from the engine's thread to a store's worker
// without copying, that LevelDB takes through views and LogStore appends as a frame's payload.
import { JsonBytes } from "../core/codec.ts";
import { invariant } from "../core/errors.ts";

/** A deletion's value length in the packed form. */
const DELETED = 0xffff_ffff;

/** A store op as the engine hands it over (StoreOp in store.ts). */
type TextOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

export type PackedOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/**
 * A header of (key bytes, value bytes or DELETED) pairs as little-endian uint32, then every
 * key and value in UTF-8, in order.
 */
export function packOps(ops: readonly TextOp[]): ArrayBuffer {
  const n = ops.length;
  let body = 0;
  const lens = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    const k = Buffer.byteLength(op.key, "utf8");
    const v = op.type === "put" ? Buffer.byteLength(op.value, "utf8") : 0;
    invariant(v < DELETED, "record too large", { key: op.key });
    lens[2 * i] = k;
    lens[2 * i + 1] = op.type === "put" ? v : DELETED;
    body += k + v;
  }
  const head = 4 + 8 * n;
  const buf = Buffer.allocUnsafeSlow(head + body);
  buf.writeUInt32LE(n, 0);
  for (let i = 0; i < 2 * n; i++) buf.writeUInt32LE(lens[i]!, 4 + 4 * i);
  let off = head;
  for (const op of ops) {
    off += buf.write(op.key, off, "utf8");
    if (op.type === "put") off += buf.write(op.value, off, "utf8");
  }
  return buf.buffer as ArrayBuffer;
}

/** The inverse of packOps: views into the one buffer, no copies. */
export function unpackOps(bytes: ArrayBuffer | Uint8Array): PackedOp[] {
  const buf = bytes instanceof Uint8Array ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.from(bytes);
  const n = buf.readUInt32LE(0);
  let off = 4 + 8 * n;
  const ops: PackedOp[] = [];
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
  invariant(off === buf.length, "malformed write request");
  return ops;
}

/** packOps for records already in bytes (a LogStore snapshot): the same layout, puts only. */
export function packEntries(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Buffer {
  const n = entries.length;
  let body = 0;
  for (const [k, v] of entries) {
    invariant(v.length < DELETED, "record too large");
    body += k.length + v.length;
  }
  const head = 4 + 8 * n;
  const buf = Buffer.allocUnsafe(head + body);
  buf.writeUInt32LE(n, 0);
  let off = head;
  for (let i = 0; i < n; i++) {
    const [k, v] = entries[i]!;
    buf.writeUInt32LE(k.length, 4 + 8 * i);
    buf.writeUInt32LE(v.length, 8 + 8 * i);
    buf.set(k, off);
    off += k.length;
    buf.set(v, off);
    off += v.length;
  }
  return buf;
}

/** Past this, a packed write's buffer grows by doubling as it is written. */
const MAX_INITIAL_BYTES = 4 << 20;

/**
 * The engine's side: records (not yet text) straight into the packed form, each value written
 * as encodeJson's UTF-8 (JsonBytes), each key as UTF-8; `deleted` marks a deletion. Throws if a
 * value cannot be encoded.
 */
export function packRecords(ops: ReadonlyMap<string, unknown>, deleted: unknown, bytesPerOpHint = 512): ArrayBuffer {
  const n = ops.size;
  const head = 4 + 8 * n;
  // The hint sizes the buffer, capped: one huge record must not make the next batch ask for gigabytes.
  const w = new JsonBytes(head + Math.min(n * bytesPerOpHint, MAX_INITIAL_BYTES));
  w.len = head;
  const lens = new Uint32Array(2 * n);
  let i = 0;
  for (const [key, v] of ops) {
    const k0 = w.len;
    w.text(key);
    lens[2 * i] = w.len - k0;
    if (v === deleted) lens[2 * i + 1] = DELETED;
    else {
      const v0 = w.len;
      if (!w.value(v)) throw new TypeError(`the record at ${key} cannot be encoded`);
      invariant(w.len - v0 < DELETED, "record too large", { key });
      lens[2 * i + 1] = w.len - v0;
    }
    i++;
  }
  const buf = w.buf;
  buf.writeUInt32LE(n, 0);
  for (let j = 0; j < 2 * n; j++) buf.writeUInt32LE(lens[j]!, 4 + 4 * j);
  // The buffer has room to spare: hand over exactly what was written (usually without a copy).
  return (buf.buffer as ArrayBuffer).transfer(w.len);
}
