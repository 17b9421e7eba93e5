import { AgentPayError } from "./errors.ts";

/**
 * JSON that round-trips bigint: a bigint is written as {"$n":"123"}. Used for what
 * the engine persists; the public wire uses plain decimal strings instead.
 */
export function encodeJson(value: unknown): string {
  return encodeJsonBytes(value).toString("utf8");
}

/** encodeJson's text as UTF-8 bytes, without making the string (JsonBytes). */
export function encodeJsonBytes(value: unknown): Buffer {
  const w = new JsonBytes(256);
  if (!w.value(value)) throw new TypeError("value cannot be encoded");
  return w.buf.subarray(0, w.len);
}

// Strings that need no escaping (almost all of ours: ids, codes) are quoted directly.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;
const quote = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

// Object keys are a small recurring set (field names): their encoded form `"key":` is memoised.
// Bounded, and a pure function of the key, so it is safe to share.
const MAX_CACHED_KEYS = 4_096;
const MAX_CACHED_KEY_LENGTH = 64;
const keyCache = new Map<string, string>();
function quoteKey(k: string): string {
  let q = keyCache.get(k);
  if (q === undefined) {
    // Keys starting with "$" get one more, so no stored data can pass for a tagged bigint.
    q = quote(k.charCodeAt(0) === 36 ? `$${k}` : k) + ":";
    if (keyCache.size < MAX_CACHED_KEYS && k.length <= MAX_CACHED_KEY_LENGTH) keyCache.set(k, q);
  }
  return q;
}

export function decodeJson<T = unknown>(text: string): T {
  try {
    return JSON.parse(text, revive) as T;
  } catch (e) {
    throw new AgentPayError("STORE_FAILURE", "stored record is not valid JSON", {}, { cause: e });
  }
}

function revive(_k: string, v: unknown): unknown {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === "$n" && typeof (v as { $n: unknown }).$n === "string") return BigInt((v as { $n: string }).$n);
  if (!keys.some((k) => k.charCodeAt(0) === 36)) return v;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const x = (v as Record<string, unknown>)[k];
    if (k.charCodeAt(0) !== 36) out[k] = x;
    else if (k.charCodeAt(1) === 36) out[k.slice(1)] = x;
    else throw new TypeError(`unexpected key ${k}`);
  }
  return out;
}

/** Compares two plain values (bigint-aware) for idempotency checks. */
export function sameBody(a: unknown, b: unknown): boolean {
  return encodeJson(canonical(a)) === encodeJson(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

/**
 * Freezes a stored record and everything in it: committed state is immutable, so a caller
 * holding a record from a getter cannot change money state behind the engine's back.
 */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/**
 * The encoder behind encodeJson, writing UTF-8 bytes directly. On the engine's hot path
 * (packRecords) this skips building the text as a string, which would then have to be
 * flattened, measured and transcoded before it could be written. Grows by doubling.
 */
export class JsonBytes {
  buf: Buffer;
  len = 0;

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(64, capacity));
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = Buffer.allocUnsafeSlow(cap);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Bytes as they are. */
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Text as UTF-8, unquoted. */
  text(s: string): void {
    const n = s.length;
    this.reserve(n);
    const buf = this.buf;
    let p = this.len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.reserve(n * 3);
        this.len += this.buf.write(s, this.len, "utf8");
        return;
      }
      buf[p++] = c;
    }
    this.len = p;
  }

  /** A JSON string literal: escaped as JSON.stringify does, else as it is. */
  #quoted(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    const buf = this.buf;
    let p = this.len;
    buf[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 34 || c === 92 || c >= 0x80) {
        this.text(quote(s)); // escapes or non-ASCII: the general path, from the start
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 34;
    this.len = p;
  }

  /**
   * Writes `v` as JSON.stringify would, but a bigint as {"$n":"…"} and object keys that start
   * with "$" with one more; false (and nothing written) when there is nothing to write
   * (undefined, a function, a symbol), and such members are left out.
   */
  value(v: unknown): boolean {
    switch (typeof v) {
      case "string": this.#quoted(v); return true;
      case "number": this.text(Number.isFinite(v) ? String(v) : "null"); return true;
      case "boolean": this.text(v ? "true" : "false"); return true;
      case "bigint": this.text(`{"$n":"${v.toString()}"}`); return true;
      case "undefined": case "function": case "symbol": return false;
    }
    if (v === null) {
      this.text("null");
      return true;
    }
    if (Array.isArray(v)) {
      this.text("[");
      for (let i = 0; i < v.length; i++) {
        if (i) this.text(",");
        if (!this.value(v[i])) this.text("null");
      }
      this.text("]");
      return true;
    }
    if (typeof (v as { toJSON?: unknown }).toJSON === "function") return this.value((v as { toJSON(): unknown }).toJSON());
    this.text("{");
    let first = true;
    for (const k in v as Record<string, unknown>) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
      const mark = this.len;
      if (!first) this.text(",");
      this.text(quoteKey(k));
      if (this.value((v as Record<string, unknown>)[k])) first = false;
      else this.len = mark; // encodes to nothing: the member is left out, as encodeJson does
    }
    this.text("}");
    return true;
  }
}
