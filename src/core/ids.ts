import { createHash, randomBytes } from "node:crypto";
import { AgentPayError } from "./errors.ts";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case
// randomBytes per id is a syscall each time; draw from a pool refilled in bulk.
const POOL_BYTES = 16 * 1024;
let pool = randomBytes(POOL_BYTES);
let poolOffset = 0;
/** 16 fresh random bytes (a view into the pool, never handed out twice): ids, nonces. */
export function random16(): Buffer {
  if (poolOffset + 16 > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return out;
}

const ID_RE = /^[a-z]{2,8}_[0-9a-z]{8,64}$/;

/**
 * A prefixed random id: `wal_3k9…`. 128 random bits; the prefix names the kind so a
 * wallet id can never be mistaken for a transfer id.
 */
export function newId(prefix: string): string {
  const bytes = random16();
  // The 26 characters go into a scratch buffer and become one string: appending them one by one
  // made 26 strings per id (a tenth of what a transfer allocated).
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      ID_CHARS[n++] = ALPHABET_CODES[(acc >>> (bits - 5)) & 31]!;
      bits -= 5;
    }
  }
  if (bits > 0) ID_CHARS[n++] = ALPHABET_CODES[(acc << (5 - bits)) & 31]!;
  return `${prefix}_${ID_CHARS.toString("latin1", 0, n)}`;
}

const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
/** 128 bits are 26 base32 characters. */
const ID_CHARS = Buffer.alloc(26);

export function isId(value: unknown, prefix?: string): value is string {
  return typeof value === "string" && ID_RE.test(value) && (prefix === undefined || value.startsWith(`${prefix}_`));
}

/**
 * Validates an id from outside. Client-chosen ids (transfer ids, idempotency keys)
 * use `validateKey`, which accepts any short printable string.
 */
export function validateId(value: unknown, prefix: string, field = "id"): string {
  if (!isId(value, prefix)) {
    throw new AgentPayError("INVALID_ID", `${field} must be an id starting with ${prefix}_`, { field });
  }
  return value;
}

const KEY_RE = /^[A-Za-z0-9._:~\-/]{1,128}$/;

/** A client-chosen key (idempotency key, transfer id, account id): 1-128 URL-safe characters. */
export function validateKey(value: unknown, field = "key"): string {
  if (typeof value !== "string" || !KEY_RE.test(value)) {
    throw new AgentPayError("INVALID_ID", `${field} must be 1-128 characters of A-Z a-z 0-9 . _ : ~ - /`, { field });
  }
  return value;
}

/**
 * A deterministic key from parts (`dep:wal_…:client-key`), used to turn a caller's
 * idempotency key into a ledger transfer id. Too long → a hash of the parts, so it
 * always fits validateKey.
 */
export function scopedKey(...parts: string[]): string {
  const joined = parts.join(":");
  if (joined.length <= 128 && KEY_RE.test(joined)) return joined;
  return `h:${createHash("sha256").update(joined).digest("base64url")}`;
}
