import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from "node:crypto";
import type { JsonWebKey, KeyObject } from "node:crypto";
import { AgentPayError, isId, random16 } from "../core/index.ts";
import { isIntentAlg } from "./jwk.ts";
import { MAX_INTENT_BYTES } from "./types.ts";
import type { IntentAlg, IntentPayload } from "./types.ts";

/** The JWS `typ` of an intent: nothing else (a token, an id token) can pass as one. */
export const INTENT_TYP = "agentpay-intent+jwt";

const SEGMENT_RE = /^[A-Za-z0-9_-]*$/;
const KID_RE = /^[A-Za-z0-9_-]{43}$/;
const NONCE_RE = /^[A-Za-z0-9_-]{22,86}$/;
const HEADER_MEMBERS = new Set(["alg", "typ", "kid"]);
const PAYLOAD_MEMBERS = new Set(["iss", "iat", "nonce", "body"]);
/** iat is seconds; anything past year 9999 is nonsense. */
const MAX_IAT_S = 253_402_300_799;

export interface IntentHeader {
  readonly alg: IntentAlg;
  readonly typ: typeof INTENT_TYP;
  readonly kid: string;
}

export interface ParsedIntent {
  readonly header: IntentHeader;
  readonly payload: IntentPayload;
}

function malformed(message: string, reason: string): AgentPayError {
  return new AgentPayError("INTENT_MALFORMED", message, { reason });
}

function decodeSegment(seg: string, what: string): unknown {
  if (seg.length === 0 || !SEGMENT_RE.test(seg)) throw malformed(`intent ${what} is not base64url`, `${what}_encoding`);
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(seg, "base64url").toString("utf8"));
  } catch {
    throw malformed(`intent ${what} is not JSON`, `${what}_json`);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw malformed(`intent ${what} must be a JSON object`, `${what}_shape`);
  return obj;
}

/** A nonce is at least 128 random bits, base64url. */
export function isNonce(v: unknown): v is string {
  return typeof v === "string" && NONCE_RE.test(v) && Buffer.from(v, "base64url").length >= 16;
}

/**
 * Structural checks of a compact JWS intent, BEFORE its signature is verified: sizes,
 * encoding, header (`alg` EdDSA|ES256, exact `typ`, a thumbprint `kid`, nothing else),
 * claims (`iss` agent id, integer `iat` seconds, nonce, body; nothing else).
 * Everything it returns is unauthenticated until the signature checks out.
 */
export function parseIntent(jws: unknown): ParsedIntent {
  if (typeof jws !== "string") throw malformed("an intent must be a compact JWS string", "not_a_string");
  if (jws.length > MAX_INTENT_BYTES) throw malformed("the intent is too large", "too_large");
  const parts = jws.split(".");
  if (parts.length !== 3) throw malformed("an intent must be a compact JWS (three parts)", "not_compact");
  const [h, p, s] = parts as [string, string, string];
  if (s.length === 0 || !SEGMENT_RE.test(s)) throw malformed("intent signature is not base64url", "signature_encoding");
  const header = decodeSegment(h, "header") as Record<string, unknown>;
  for (const k of Object.keys(header)) if (!HEADER_MEMBERS.has(k)) throw malformed("intent header has an unexpected member", "header_member");
  if (header.typ !== INTENT_TYP) throw malformed(`intent typ must be ${INTENT_TYP}`, "typ");
  if (!isIntentAlg(header.alg)) throw malformed("intent alg must be EdDSA or ES256", "alg");
  if (typeof header.kid !== "string" || !KID_RE.test(header.kid)) throw malformed("intent kid must be a key thumbprint", "kid");
  const payload = decodeSegment(p, "payload") as Record<string, unknown>;
  for (const k of Object.keys(payload)) if (!PAYLOAD_MEMBERS.has(k)) throw malformed("intent has an unexpected claim", "claim");
  if (!isId(payload.iss, "agt")) throw malformed("intent iss must be an agent id", "iss");
  const iat = payload.iat;
  if (typeof iat !== "number" || !Number.isInteger(iat) || iat < 0 || iat > MAX_IAT_S) throw malformed("intent iat must be integer seconds", "iat");
  if (!isNonce(payload.nonce)) throw malformed("intent nonce must be at least 128 random bits, base64url", "nonce");
  if (!Object.prototype.hasOwnProperty.call(payload, "body") || payload.body === undefined) throw malformed("intent has no body", "body");
  return {
    header: { alg: header.alg, typ: INTENT_TYP, kid: header.kid },
    payload: { iss: payload.iss, iat, nonce: payload.nonce, body: payload.body },
  };
}

export interface SignIntentInput {
  /** The agent id (`iss`). */
  agentId: string;
  /** The key id; defaults to the `kid` member of the private JWK (set when the library generated it). */
  kid?: string;
  /** The request: JSON; amounts as decimal strings (a bigint is refused). */
  body: unknown;
  /** Issued-at; defaults to now. */
  nowMs?: number;
  /** A nonce of your own (tests); defaults to 128 fresh random bits. */
  nonce?: string;
}

interface PrivateJwkLike {
  kty?: unknown;
  crv?: unknown;
  d?: unknown;
  kid?: unknown;
  [k: string]: unknown;
}

function bodyJson(body: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch {
    throw new AgentPayError("INVALID_INPUT", "intent body must be plain JSON (amounts as decimal strings, never bigint)");
  }
  if (text === undefined) throw new AgentPayError("INVALID_INPUT", "intent body must be plain JSON");
  return text;
}

// Signing is node:crypto's one-shot sign on a KeyObject (synchronous, ~35 µs for Ed25519): the JWS is the
// same bytes jose's CompactSign wrote (Ed25519 is deterministic; ES256 is r||s, JWS's encoding), without
// WebCrypto's per-call job and promise.
async function importSigningKey(privateKeyJwk: PrivateJwkLike): Promise<{ key: KeyObject; alg: IntentAlg }> {
  if (privateKeyJwk === null || typeof privateKeyJwk !== "object" || typeof privateKeyJwk.d !== "string") {
    throw new AgentPayError("INVALID_INPUT", "signing needs the agent's private JWK");
  }
  const alg: IntentAlg | undefined =
    privateKeyJwk.kty === "OKP" && privateKeyJwk.crv === "Ed25519" ? "EdDSA"
    : privateKeyJwk.kty === "EC" && privateKeyJwk.crv === "P-256" ? "ES256"
    : undefined;
  if (!alg) throw new AgentPayError("INVALID_INPUT", "the private JWK must be Ed25519 (OKP) or P-256 (EC)");
  try {
    const { kty, crv, x, y, d } = privateKeyJwk as Record<string, unknown>;
    const key = createPrivateKey({ key: { kty, crv, x, ...(y !== undefined ? { y } : {}), d } as JsonWebKey, format: "jwk" });
    // node:crypto does not check that d belongs to x (and y): a JWK whose halves differ is refused here,
    // as WebCrypto's import refused it, not later as a signature the server cannot verify.
    if (typeof d !== "string" || Buffer.from(d, "base64url").length !== 32) throw new Error("d is not 32 bytes");
    const pub = createPublicKey({ key: { kty, crv, x, ...(y !== undefined ? { y } : {}) } as JsonWebKey, format: "jwk" });
    const probe = Buffer.from("agentpay key check");
    const ok = alg === "EdDSA"
      ? cryptoVerify(null, probe, pub, cryptoSign(null, probe, key))
      : cryptoVerify("sha256", probe, pub, cryptoSign("sha256", probe, key));
    if (!ok) throw new Error("the public and private halves differ");
    return { key, alg };
  } catch {
    throw new AgentPayError("INVALID_INPUT", "the private JWK could not be imported");
  }
}

async function signWith(key: KeyObject, alg: IntentAlg, defaultKid: unknown, input: SignIntentInput): Promise<string> {
  if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "signIntent input must be an object");
  const kid = input.kid ?? defaultKid;
  if (typeof kid !== "string" || !KID_RE.test(kid)) throw new AgentPayError("INVALID_INPUT", "kid must be the key's thumbprint");
  if (!isId(input.agentId, "agt")) throw new AgentPayError("INVALID_ID", "agentId must be an id starting with agt_", { field: "agentId" });
  const nowMs = input.nowMs ?? Date.now();
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new AgentPayError("INVALID_INPUT", "nowMs must be a non-negative integer");
  const nonce = input.nonce ?? random16().toString("base64url"); // from the id pool: a syscall per 1,024 nonces
  if (!isNonce(nonce)) throw new AgentPayError("INVALID_INPUT", "nonce must be at least 128 bits, base64url");
  const payloadText = `{"iss":${JSON.stringify(input.agentId)},"iat":${Math.floor(nowMs / 1000)},"nonce":${JSON.stringify(nonce)},"body":${bodyJson(input.body)}}`;
  const signingInput = `${Buffer.from(JSON.stringify({ alg, typ: INTENT_TYP, kid })).toString("base64url")}.${Buffer.from(payloadText).toString("base64url")}`;
  const sig = alg === "EdDSA"
    ? cryptoSign(null, Buffer.from(signingInput), key)
    : cryptoSign("sha256", Buffer.from(signingInput), { key, dsaEncoding: "ieee-p1363" });
  const jws = `${signingInput}.${sig.toString("base64url")}`;
  if (jws.length > MAX_INTENT_BYTES) throw new AgentPayError("INVALID_INPUT", "intent body is too large", { maxBytes: MAX_INTENT_BYTES });
  return jws;
}

/**
 * The agent side: signs a payment intent (compact JWS, header { alg, typ, kid },
 * payload { iss, iat (seconds), nonce, body }) with the agent's private JWK.
 */
export async function signIntent(privateKeyJwk: PrivateJwkLike, input: SignIntentInput): Promise<string> {
  const { key, alg } = await importSigningKey(privateKeyJwk);
  return signWith(key, alg, privateKeyJwk.kid, input);
}

/** A signer that imports the private key once (for an agent client that signs many intents). */
export async function createIntentSigner(
  privateKeyJwk: PrivateJwkLike,
  defaults: { agentId: string; kid?: string },
): Promise<(body: unknown, opts?: { nowMs?: number; nonce?: string }) => Promise<string>> {
  const { key, alg } = await importSigningKey(privateKeyJwk);
  const kid = defaults.kid ?? privateKeyJwk.kid;
  return (body, opts = {}) => signWith(key, alg, kid, { agentId: defaults.agentId, body, ...opts });
}

/** What an agent signs to authenticate one HTTP request (see `Agents.authenticateRequest`). */
export interface RequestSignatureBody {
  action: "request";
  method: string;
  /** The path with its query string, e.g. `/v1/payments/pay_…?wait=30`. */
  path: string;
  /** base64url(SHA-256(raw body bytes)); the digest of the empty string when there is no body. */
  bodySha256: string;
}

export function requestSignatureBody(method: string, path: string, body: string | Uint8Array = ""): RequestSignatureBody {
  if (typeof method !== "string" || !/^[A-Z]{3,7}$/i.test(method)) throw new AgentPayError("INVALID_INPUT", "method must be an HTTP method", { field: "method" });
  if (typeof path !== "string" || !path.startsWith("/") || path.length > 2048) throw new AgentPayError("INVALID_INPUT", "path must start with / (at most 2048 characters)", { field: "path" });
  return { action: "request", method: method.toUpperCase(), path, bodySha256: createHash("sha256").update(body).digest("base64url") };
}
