// The wire form of a store write: one buffer, moved from the engine's thread to a store's worker
// without copying, that LevelDB takes through views and LogStore appends as a frame's payload.
// It runs in the store's worker threads too: it takes core's codec and errors directly, not core/index.ts.
import { JsonBytes } from "../core/codec.ts";
import { invariant } from "../core/errors.ts";

/** A deletion's value length in the packed form. */
const DELETED = 0xffff_ffff;

/** A store op as the engine hands it over (StoreOp in store.ts). */
type TextOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

export type PackedOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/** Past this, a packed write's buffer grows by doubling as it is written. */
const MAX_INITIAL_BYTES = 4 << 20;

/**
 * The layout: a header of (key bytes, value bytes or DELETED) pairs as little-endian uint32, then
 * every key and value in UTF-8, in order. One writer for the three sources below; `writeValue`
 * throws if a value cannot be written.
 */
function pack<K extends string | Uint8Array, V>(
  n: number, ops: Iterable<readonly [K, V]>, isDeleted: (v: V) => boolean, writeValue: (w: JsonBytes, v: V, key: K) => void, bytesPerOpHint: number,
): ArrayBuffer {
  const head = 4 + 8 * n;
  // The hint sizes the buffer, capped: one huge record must not make the next batch ask for gigabytes.
  const w = new JsonBytes(head + Math.min(n * bytesPerOpHint, MAX_INITIAL_BYTES));
  w.len = head;
  const lens = new Uint32Array(2 * n);
  let i = 0;
  for (const [key, v] of ops) {
    const k0 = w.len;
    if (typeof key === "string") w.text(key);
    else w.bytes(key);
    lens[2 * i] = w.len - k0;
    if (isDeleted(v)) lens[2 * i + 1] = DELETED;
    else {
      const v0 = w.len;
      writeValue(w, v, key);
      invariant(w.len - v0 < DELETED, "record too large");
      lens[2 * i + 1] = w.len - v0;
    }
    i++;
  }
  invariant(i === n, "op count mismatch");
  const buf = w.buf;
  buf.writeUInt32LE(n, 0);
  for (let j = 0; j < 2 * n; j++) buf.writeUInt32LE(lens[j]!, 4 + 4 * j);
  // The buffer has room to spare: hand over exactly what was written (usually without a copy).
  // Node 20 (supported by the built package) lacks ArrayBuffer.prototype.transfer: copy there.
  const ab = buf.buffer as ArrayBuffer;
  return typeof ab.transfer === "function" && buf.byteOffset === 0 ? ab.transfer(w.len) : ab.slice(buf.byteOffset, buf.byteOffset + w.len);
}

/** Ops whose records are already encoded as text. */
export function packOps(ops: readonly TextOp[]): ArrayBuffer {
  return pack(ops.length, ops.map((o) => {
    invariant(typeof o.key === "string", "keys are strings");
    return [o.key, o] as const;
  }), (o) => o.type === "del", (w, o) => w.text((o as { value: string }).value), 256);
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

/** Records already in bytes (a LogStore snapshot): the same layout, puts only. */
export function packEntries(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, bytesPerOpHint: number): ArrayBuffer {
  return pack(entries.length, entries, () => false, (w, v) => w.bytes(v), bytesPerOpHint);
}

/**
 * The engine's side: records (not yet text) straight into the packed form, each value written
 * as encodeJson's UTF-8 (JsonBytes); `deleted` marks a deletion. Throws if a value cannot be encoded.
 */
export function packRecords(ops: ReadonlyMap<string, unknown>, deleted: unknown, bytesPerOpHint = 512): ArrayBuffer {
  return pack(ops.size, ops, (v) => v === deleted, (w, v, key) => {
    if (!w.value(v)) throw new TypeError(`the record at ${key} cannot be encoded`);
  }, bytesPerOpHint);
}
