import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from "jose";
import type { CryptoKey } from "jose";
import { AgentPayError } from "../core/index.ts";
import type { AgentPrivateJwk, AgentPublicJwk, IntentAlg } from "./types.ts";

const B64URL_RE = /^[A-Za-z0-9_-]+$/;
/** Members that only a private (or symmetric) key has. Never accepted, never echoed. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv", "seed"];
const ALLOWED_MEMBERS = new Set(["kty", "crv", "x", "y", "alg", "use", "key_ops", "kid", "ext"]);

function invalid(reason: string, message: string): AgentPayError {
  return new AgentPayError("AGENT_KEY_INVALID", message, { reason });
}

/** Strict base64url: no padding, canonical, exactly `bytes` long once decoded. */
function coordinate(v: unknown, bytes: number, member: string): string {
  if (typeof v !== "string" || v.length > 128 || !B64URL_RE.test(v)) {
    throw invalid("bad_coordinate", `public key member "${member}" must be base64url`);
  }
  const raw = Buffer.from(v, "base64url");
  if (raw.length !== bytes || raw.toString("base64url") !== v) {
    throw invalid("bad_coordinate", `public key member "${member}" must encode exactly ${bytes} bytes`);
  }
  return v;
}

const ED25519_P = 2n ** 255n - 19n;
const leBigInt = (hex: string) => BigInt(`0x${Buffer.from(hex, "hex").reverse().toString("hex")}`);
/**
 * The y coordinates of edwards25519's small-order points (the x sign bit aside): the identity
 * (order 1), order 2, order 4 (y = 0) and the two of order 8 (libsodium's blocklist, canonical part).
 */
const SMALL_ORDER_Y = new Set<bigint>([
  1n, ED25519_P - 1n, 0n,
  leBigInt("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
  leBigInt("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
]);

/**
 * Refuses an Ed25519 public key that is a small-order point (for such a key, signatures that
 * verify can be made without any private key, depending on the verifier) or not canonically
 * encoded (y >= p: another spelling of some point, a malleability hazard). Point-on-curve is
 * checked on import.
 */
export function checkEd25519Point(raw: Uint8Array): void {
  const b = Buffer.from(raw);
  b[31] = b[31]! & 0x7f; // the x sign bit
  const y = BigInt(`0x${b.reverse().toString("hex")}`);
  if (y >= ED25519_P) throw invalid("non_canonical", "publicKeyJwk is not a canonically encoded Ed25519 point");
  if (SMALL_ORDER_Y.has(y)) throw invalid("weak_key", "publicKeyJwk is a small-order point (such as the identity): anyone could sign as it");
}

/** The JWS algorithm a public key signs with. */
export function algOf(jwk: AgentPublicJwk): IntentAlg {
  return jwk.kty === "OKP" ? "EdDSA" : "ES256";
}

/**
 * Validates a public JWK from outside (Ed25519 OKP or P-256 EC) and returns only the
 * members that define the key. Refuses private material, unknown members, other curves,
 * other key types, and metadata (`alg`, `use`, `key_ops`) that contradicts signing.
 * Messages never contain key material. Synchronous and cheap; `importPublicKey` checks the point.
 */
export function normalizePublicJwk(input: unknown): AgentPublicJwk {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw invalid("not_an_object", "publicKeyJwk must be a JWK object");
  }
  const o = input as Record<string, unknown>;
  for (const m of PRIVATE_MEMBERS) {
    if (Object.prototype.hasOwnProperty.call(o, m)) {
      throw invalid("private_material", "publicKeyJwk contains private key material; send only the public key");
    }
  }
  for (const m of Object.keys(o)) {
    if (!ALLOWED_MEMBERS.has(m)) throw invalid("unknown_member", "publicKeyJwk has a member that a public signing key does not have");
  }
  if (o.use !== undefined && o.use !== "sig") throw invalid("bad_use", 'publicKeyJwk "use" must be "sig"');
  if (o.key_ops !== undefined) {
    if (!Array.isArray(o.key_ops) || o.key_ops.some((op) => op !== "verify")) {
      throw invalid("bad_key_ops", 'publicKeyJwk "key_ops" may only contain "verify"');
    }
  }
  if (o.ext !== undefined && typeof o.ext !== "boolean") throw invalid("bad_ext", 'publicKeyJwk "ext" must be a boolean');
  if (o.kid !== undefined && (typeof o.kid !== "string" || o.kid.length > 256)) throw invalid("bad_kid", 'publicKeyJwk "kid" must be a short string');
  if (o.kty === "OKP") {
    if (o.crv !== "Ed25519") throw invalid("unsupported_curve", "OKP keys must be Ed25519");
    if (o.alg !== undefined && o.alg !== "EdDSA" && o.alg !== "Ed25519") throw invalid("bad_alg", 'an Ed25519 key must have "alg" EdDSA');
    if (o.y !== undefined) throw invalid("unknown_member", "an OKP key has no y");
    const x = coordinate(o.x, 32, "x");
    checkEd25519Point(Buffer.from(x, "base64url"));
    return { kty: "OKP", crv: "Ed25519", x };
  }
  if (o.kty === "EC") {
    if (o.crv !== "P-256") throw invalid("unsupported_curve", "EC keys must be P-256");
    if (o.alg !== undefined && o.alg !== "ES256") throw invalid("bad_alg", 'a P-256 key must have "alg" ES256');
    return { kty: "EC", crv: "P-256", x: coordinate(o.x, 32, "x"), y: coordinate(o.y, 32, "y") };
  }
  throw invalid("unsupported_kty", "publicKeyJwk must be an OKP (Ed25519) or EC (P-256) key");
}

/** RFC 7638 SHA-256 thumbprint: the key id. */
export function thumbprint(jwk: AgentPublicJwk): Promise<string> {
  return calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0], "sha256");
}

/** Imports a normalized public key for verification; refuses points that are not on the curve. */
export async function importPublicKey(jwk: AgentPublicJwk): Promise<CryptoKey> {
  try {
    return await importJWK({ ...jwk }, algOf(jwk));
  } catch {
    throw invalid("bad_point", "publicKeyJwk is not a valid public key");
  }
}

/** Validates, imports (point check) and fingerprints a public key from outside. */
export async function preparePublicKey(input: unknown): Promise<{ jwk: AgentPublicJwk; kid: string; alg: IntentAlg }> {
  const jwk = normalizePublicJwk(input);
  await importPublicKey(jwk);
  return { jwk, kid: await thumbprint(jwk), alg: algOf(jwk) };
}

/** Generates a key pair. The private JWK goes to the caller and is never stored. */
export async function generateAgentKey(alg: IntentAlg = "EdDSA"): Promise<{
  jwk: AgentPublicJwk; kid: string; alg: IntentAlg; privateKeyJwk: AgentPrivateJwk;
}> {
  const pair = alg === "EdDSA"
    ? await generateKeyPair("Ed25519", { extractable: true })
    : await generateKeyPair("ES256", { extractable: true });
  const pub = await exportJWK(pair.publicKey);
  const priv = await exportJWK(pair.privateKey);
  const jwk = normalizePublicJwk(pub);
  const kid = await thumbprint(jwk);
  const privateKeyJwk: AgentPrivateJwk = jwk.kty === "OKP"
    ? { kty: "OKP", crv: "Ed25519", x: jwk.x, d: String(priv.d), kid, alg: "EdDSA" }
    : { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: String(priv.d), kid, alg: "ES256" };
  return { jwk, kid, alg: algOf(jwk), privateKeyJwk };
}

export function isIntentAlg(v: unknown): v is IntentAlg {
  return v === "EdDSA" || v === "ES256";
}
