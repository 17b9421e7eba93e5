/**
 * Token Pay format: the single-use payment credential an agent gets after an allowed decision.
 *
 * A token is a JWS in compact serialisation (RFC 7515), a JWT (RFC 7519) with an explicit type
 * (RFC 8725 §3.11) so it can never be confused with any other JWT:
 *
 *   BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature)      at most 4096 characters
 *
 * Protected header: exactly these three members, nothing else (no `crit`, `jku`, `jwk`, `x5u`, `b64`…):
 *
 *   alg   "EdDSA" (Ed25519, the default) or "ES256" (P-256, signature is r||s, 64 bytes)
 *   typ   "agentpay-token+jwt"
 *   kid   the issuer key id (`tkey_…`), resolved through the issuer's JWKS; the key's alg must equal `alg`
 *
 * Claims: exactly these members; every other member is refused.
 *
 *   jti  string   required  token id, `tok_…` (the payment flow tracks single use by it)
 *   iss  string   required  issuer identifier (1-256 printable ASCII characters, no spaces)
 *   sub  string   required  agent id (an agentpay id, `<prefix>_<base32>`)
 *   aud  string   required  merchant id (an agentpay id); a single string, never an array
 *   sw   string   required  sub-wallet id (an agentpay id)
 *   amt  string   required  amount cap in minor units: digits only, no leading zero, 1-39 chars, > 0, < 2^127
 *   cur  string   required  currency or asset code (ISO 4217 such as "USD", or an asset id such as "USDC")
 *   mcc  string   required  merchant category code, exactly 4 digits
 *   iat  integer  required  issued at, seconds since the epoch
 *   nbf  integer  required  not before, seconds; iat <= nbf < exp
 *   exp  integer  required  expiry, seconds; exp - iat <= 3600 (default lifetime 10 minutes)
 *   cnf  object   optional  { jkt }: RFC 7638 SHA-256 thumbprint (base64url, 43 chars) of the agent's key
 *                           (proof of possession, RFC 7800)
 *   vh   string   optional  voucher hash, "0x" + 64 lower-case hex digits (EIP-712 digest, chain bridge)
 *   pay  string   optional  payment id (an agentpay id)
 *
 * Every rejection is an AgentPayError with its own code (see TokenErrorCodes); nothing else is
 * ever thrown by a verifier, whatever the input. Errors never carry the token itself (it is a
 * bearer credential) nor any key material.
 */
import { createHash, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { AgentPayError, MAX_AMOUNT_MINOR, cryptoArgs, isAgentPayError, isId } from "../core/index.ts";
import type { Amount } from "../core/index.ts";

/** The `typ` header of every Token Pay token. */
export const TOKEN_TYP = "agentpay-token+jwt";
/** Signature algorithms a token may use; `alg: none`, HMAC and everything else is refused. */
export const TOKEN_ALGS = ["EdDSA", "ES256"] as const;
export type TokenAlg = (typeof TOKEN_ALGS)[number];
/** Longest accepted token, in characters. */
export const MAX_TOKEN_CHARS = 4096;
export const DEFAULT_TOKEN_TTL_MS = 10 * 60_000;
/** Hard cap on a token's lifetime (exp - iat), for minting and for verification. */
export const MAX_TOKEN_TTL_MS = 60 * 60_000;
export const MIN_TOKEN_TTL_MS = 1_000;

/** Codes a token can be rejected with; each rejection path has its own. */
export const TokenErrorCodes = [
  "TOKEN_MALFORMED",
  "TOKEN_TOO_LARGE",
  "TOKEN_ALG_NOT_ALLOWED",
  "TOKEN_TYPE_INVALID",
  "TOKEN_KEY_UNKNOWN",
  "TOKEN_SIGNATURE_INVALID",
  "TOKEN_CLAIMS_INVALID",
  "TOKEN_ISSUER_MISMATCH",
  "TOKEN_AUDIENCE_MISMATCH",
  "TOKEN_EXPIRED",
  "TOKEN_NOT_YET_VALID",
  "TOKEN_JWKS_INVALID",
  "TOKEN_ISSUER_NOT_READY",
] as const;
export type TokenErrorCode = (typeof TokenErrorCodes)[number];

/** The claims of a token exactly as they are on the wire. */
export interface TokenClaims {
  readonly jti: string;
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly sw: string;
  readonly amt: string;
  readonly cur: string;
  readonly mcc: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly cnf?: { readonly jkt: string };
  readonly vh?: string;
  readonly pay?: string;
}

/** A token that passed every check, with its claims in agentpay's vocabulary. */
export interface VerifiedToken {
  readonly tokenId: string;
  readonly issuer: string;
  readonly agentId: string;
  readonly merchantId: string;
  readonly subWalletId: string;
  /** The cap: the most the merchant may capture with this token. */
  readonly amount: Amount;
  readonly category: string;
  readonly issuedAtMs: number;
  readonly notBeforeMs: number;
  readonly expiresAtMs: number;
  readonly agentKeyThumbprint?: string;
  readonly voucherHash?: string;
  readonly paymentId?: string;
  readonly kid: string;
  readonly alg: TokenAlg;
  /** The raw wire claims. */
  readonly claims: TokenClaims;
}

/** A public verification key as the verifier core needs it. */
export interface ResolvedKey {
  readonly alg: TokenAlg;
  readonly publicKey: KeyObject;
}

export type KeyResolver = (kid: string, nowMs: number) => ResolvedKey | undefined;

export interface VerifyCoreOptions {
  /** The merchant id the token must be addressed to. */
  audience: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
  nowMs: number;
  clockToleranceMs: number;
  maxLifetimeMs: number;
  /**
   * Issuer only: the exact token string it issued under a token id. When given, the token
   * must equal it byte for byte (constant time) instead of having its signature checked:
   * the issuer's own record is the stronger proof (a token minted with a stolen key was
   * never recorded), and redemption needs no public-key operation.
   */
  issued?: (tokenId: string) => string | undefined;
}

// ---------------------------------------------------------------- encoding

const B64URL_RE = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict base64url: the alphabet only, no padding, canonical (re-encodes to the same text). */
export function b64uDecode(s: string): Buffer | undefined {
  if (!B64URL_RE.test(s) || s.length % 4 === 1) return undefined;
  const buf = Buffer.from(s, "base64url");
  return buf.toString("base64url") === s ? buf : undefined;
}

export function b64uEncode(data: Uint8Array | string): string {
  return Buffer.from(data).toString("base64url");
}

function decodeJsonObject(seg: string): Record<string, unknown> | undefined {
  const bytes = b64uDecode(seg);
  if (!bytes || bytes.length === 0) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

// ---------------------------------------------------------------- signing

export function signingInputOf(headerB64: string, claims: TokenClaims): string {
  return `${headerB64}.${b64uEncode(JSON.stringify(claims))}`;
}

export function headerB64Of(alg: TokenAlg, kid: string): string {
  return b64uEncode(JSON.stringify({ alg, typ: TOKEN_TYP, kid }));
}

export function signRaw(alg: TokenAlg, privateKey: KeyObject, data: string): string {
  const [algorithm, key] = cryptoArgs(alg, privateKey);
  const sig = cryptoSign(algorithm, Buffer.from(data), key);
  return sig.toString("base64url");
}

function verifyRaw(alg: TokenAlg, publicKey: KeyObject, data: string, sig: Buffer): boolean {
  const [algorithm, key] = cryptoArgs(alg, publicKey);
  return cryptoVerify(algorithm, Buffer.from(data), key, sig);
}

// ---------------------------------------------------------------- validation

const KID_RE = /^[A-Za-z0-9._~:-]{1,128}$/;
const ISS_RE = /^[\x21-\x7e]{1,256}$/;
const AMT_RE = /^[1-9][0-9]{0,38}$/;
const CUR_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const MCC_RE = /^[0-9]{4}$/;
const JKT_RE = /^[A-Za-z0-9_-]{43}$/;
const VH_RE = /^0x[0-9a-f]{64}$/;
const MAX_NUMERIC_DATE = 253_402_300_799; // 9999-12-31T23:59:59Z

const HEADER_MEMBERS = new Set(["alg", "typ", "kid"]);
const CLAIM_MEMBERS = new Set(["jti", "iss", "sub", "aud", "sw", "amt", "cur", "mcc", "iat", "nbf", "exp", "cnf", "vh", "pay"]);

export function isKid(v: unknown): v is string {
  return typeof v === "string" && KID_RE.test(v);
}
export function isIssuer(v: unknown): v is string {
  return typeof v === "string" && ISS_RE.test(v);
}
export function isAmountCap(v: unknown): v is string {
  return typeof v === "string" && AMT_RE.test(v) && BigInt(v) <= MAX_AMOUNT_MINOR;
}
export function isCurrencyCode(v: unknown): v is string {
  return typeof v === "string" && CUR_RE.test(v);
}
export function isCategory(v: unknown): v is string {
  return typeof v === "string" && MCC_RE.test(v);
}
export function isThumbprint(v: unknown): v is string {
  return typeof v === "string" && JKT_RE.test(v);
}
export function isVoucherHash(v: unknown): v is string {
  return typeof v === "string" && VH_RE.test(v);
}
function isNumericDate(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= MAX_NUMERIC_DATE;
}
function isTokenAlg(v: unknown): v is TokenAlg {
  return v === "EdDSA" || v === "ES256";
}

function reject(code: TokenErrorCode, message: string, details: Record<string, unknown> = {}): never {
  throw new AgentPayError(code, message, details);
}

function claimsInvalid(claim: string, why: string): never {
  reject("TOKEN_CLAIMS_INVALID", `token claim ${claim} ${why}`, { claim });
}

/** Checks a claims object member by member; returns it typed, or throws TOKEN_CLAIMS_INVALID. */
export function validateClaims(c: Record<string, unknown>, maxLifetimeMs: number): TokenClaims {
  for (const k of Object.keys(c)) {
    if (!CLAIM_MEMBERS.has(k)) claimsInvalid(k.slice(0, 32), "is not a Token Pay claim");
  }
  if (!isId(c.jti, "tok")) claimsInvalid("jti", "must be a token id tok_…");
  if (!isIssuer(c.iss)) claimsInvalid("iss", "must be 1-256 printable ASCII characters");
  if (!isId(c.sub)) claimsInvalid("sub", "must be an agent id");
  if (!isId(c.aud)) claimsInvalid("aud", "must be a merchant id");
  if (!isId(c.sw)) claimsInvalid("sw", "must be a sub-wallet id");
  if (!isAmountCap(c.amt)) claimsInvalid("amt", "must be a positive decimal string of minor units");
  if (!isCurrencyCode(c.cur)) claimsInvalid("cur", "must be a currency or asset code");
  if (!isCategory(c.mcc)) claimsInvalid("mcc", "must be a 4-digit category code");
  if (!isNumericDate(c.iat)) claimsInvalid("iat", "must be a NumericDate (integer seconds)");
  if (!isNumericDate(c.nbf)) claimsInvalid("nbf", "must be a NumericDate (integer seconds)");
  if (!isNumericDate(c.exp)) claimsInvalid("exp", "must be a NumericDate (integer seconds)");
  if (c.exp <= c.iat) claimsInvalid("exp", "must be after iat");
  if (c.nbf < c.iat || c.nbf >= c.exp) claimsInvalid("nbf", "must be within [iat, exp)");
  if ((c.exp - c.iat) * 1000 > maxLifetimeMs) claimsInvalid("exp", "gives the token too long a lifetime");
  if (c.cnf !== undefined) {
    const cnf = c.cnf;
    if (cnf === null || typeof cnf !== "object" || Array.isArray(cnf)) claimsInvalid("cnf", "must be an object { jkt }");
    const keys = Object.keys(cnf);
    if (keys.length !== 1 || keys[0] !== "jkt" || !isThumbprint((cnf as { jkt?: unknown }).jkt)) {
      claimsInvalid("cnf", "must be exactly { jkt: <RFC 7638 SHA-256 thumbprint> }");
    }
  }
  if (c.vh !== undefined && !isVoucherHash(c.vh)) claimsInvalid("vh", "must be 0x and 64 lower-case hex digits");
  if (c.pay !== undefined && !isId(c.pay)) claimsInvalid("pay", "must be a payment id");
  return c as unknown as TokenClaims;
}

function toVerified(claims: TokenClaims, kid: string, alg: TokenAlg): VerifiedToken {
  const out: VerifiedToken = {
    tokenId: claims.jti,
    issuer: claims.iss,
    agentId: claims.sub,
    merchantId: claims.aud,
    subWalletId: claims.sw,
    amount: Object.freeze({ minor: BigInt(claims.amt), currency: claims.cur }),
    category: claims.mcc,
    issuedAtMs: claims.iat * 1000,
    notBeforeMs: claims.nbf * 1000,
    expiresAtMs: claims.exp * 1000,
    ...(claims.cnf ? { agentKeyThumbprint: claims.cnf.jkt } : {}),
    ...(claims.vh !== undefined ? { voucherHash: claims.vh } : {}),
    ...(claims.pay !== undefined ? { paymentId: claims.pay } : {}),
    kid,
    alg,
    claims: Object.freeze({ ...claims, ...(claims.cnf ? { cnf: Object.freeze({ jkt: claims.cnf.jkt }) } : {}) }),
  };
  return Object.freeze(out);
}

/**
 * The verifier both the issuer and the merchant-side helper run. Order of checks: size →
 * shape → header (alg, typ, members, kid) → key → signature → claims → issuer → audience → time.
 * Claims are parsed only after the signature is known good.
 */
export function verifyCompact(token: unknown, resolve: KeyResolver, opts: VerifyCoreOptions): VerifiedToken {
  try {
    return verifyUnsafe(token, resolve, opts);
  } catch (e) {
    if (isAgentPayError(e)) throw e;
    // Defensive: no input may surface anything but an AgentPayError.
    throw new AgentPayError("TOKEN_MALFORMED", "token could not be parsed");
  }
}

/**
 * verifyCompact with the signature checked by `check` (e.g. off the event loop): the same checks in the
 * same order, the same errors. Rejects with AgentPayError only.
 */
export async function verifyCompactAsync(
  token: unknown, resolve: KeyResolver, opts: VerifyCoreOptions,
  check: (alg: TokenAlg, publicKey: KeyObject, data: string, signature: Buffer) => Promise<boolean>,
): Promise<VerifiedToken> {
  try {
    const pre = beforeSignature(token, resolve, opts);
    let ok = false;
    if (opts.issued) ok = issuedMatches(pre, opts.issued);
    else {
      try {
        ok = await check(pre.alg, pre.key.publicKey, `${pre.h}.${pre.p}`, pre.sig);
      } catch {
        ok = false;
      }
    }
    return afterSignature(pre, ok, opts);
  } catch (e) {
    if (isAgentPayError(e)) throw e;
    throw new AgentPayError("TOKEN_MALFORMED", "token could not be parsed");
  }
}

/** What the checks before the signature found: the segments, the key, the signature bytes, the claims (unauthenticated). */
interface BeforeSignature {
  token: string;
  h: string;
  p: string;
  kid: string;
  alg: TokenAlg;
  key: ResolvedKey;
  sig: Buffer;
  raw: Record<string, unknown> | undefined;
}

function issuedMatches(pre: BeforeSignature, issued: (tokenId: string) => string | undefined): boolean {
  const jti = pre.raw?.jti;
  const known = typeof jti === "string" ? issued(jti) : undefined;
  return known !== undefined && known.length === pre.token.length && timingSafeEqual(Buffer.from(known), Buffer.from(pre.token));
}

function verifyUnsafe(token: unknown, resolve: KeyResolver, opts: VerifyCoreOptions): VerifiedToken {
  const pre = beforeSignature(token, resolve, opts);
  let ok = false;
  if (opts.issued) ok = issuedMatches(pre, opts.issued);
  else {
    try {
      ok = verifyRaw(pre.alg, pre.key.publicKey, `${pre.h}.${pre.p}`, pre.sig);
    } catch {
      ok = false;
    }
  }
  return afterSignature(pre, ok, opts);
}

function beforeSignature(token: unknown, resolve: KeyResolver, opts: VerifyCoreOptions): BeforeSignature {
  if (typeof token !== "string") reject("TOKEN_MALFORMED", "token must be a string", { type: typeof token });
  if (token.length > MAX_TOKEN_CHARS) {
    reject("TOKEN_TOO_LARGE", `token is longer than ${MAX_TOKEN_CHARS} characters`, { length: token.length });
  }
  const parts = token.split(".");
  if (parts.length !== 3) reject("TOKEN_MALFORMED", "token must be a compact JWS of three segments", { segments: parts.length });
  const [h, p, s] = parts as [string, string, string];
  // An empty signature is left to the checks below, so an unsecured JWT reports its `alg: none`.
  if (h.length === 0 || p.length === 0) reject("TOKEN_MALFORMED", "token has an empty header or claims segment");

  const header = decodeJsonObject(h);
  if (!header) reject("TOKEN_MALFORMED", "token header is not base64url JSON object");
  const alg = header.alg;
  if (typeof alg !== "string") reject("TOKEN_MALFORMED", "token header has no alg");
  if (!isTokenAlg(alg)) reject("TOKEN_ALG_NOT_ALLOWED", "token algorithm is not allowed", { alg: alg.slice(0, 32) });
  if (header.typ !== TOKEN_TYP) reject("TOKEN_TYPE_INVALID", `token typ must be ${TOKEN_TYP}`);
  for (const k of Object.keys(header)) {
    if (!HEADER_MEMBERS.has(k)) reject("TOKEN_MALFORMED", "token header has an unexpected parameter", { parameter: k.slice(0, 32) });
  }
  const kid = header.kid;
  if (!isKid(kid)) reject("TOKEN_MALFORMED", "token header kid is missing or malformed");

  const key = resolve(kid, opts.nowMs);
  if (!key) reject("TOKEN_KEY_UNKNOWN", "token key id is not in the issuer's key set", { kid });
  if (key.alg !== alg) reject("TOKEN_ALG_NOT_ALLOWED", "token algorithm does not match its key", { alg, kid });

  const sig = b64uDecode(s);
  if (!sig || sig.length !== 64) reject("TOKEN_SIGNATURE_INVALID", "token signature is invalid", { kid });
  // Decoded once: the issued-token check needs the id, the claim checks after the signature need the rest.
  return { token, h, p, kid, alg, key, sig, raw: decodeJsonObject(p) };
}

/** The checks after the signature (`ok`): claims, issuer, audience, time. */
function afterSignature(pre: BeforeSignature, ok: boolean, opts: VerifyCoreOptions): VerifiedToken {
  const { kid, alg, raw } = pre;
  if (!ok) reject("TOKEN_SIGNATURE_INVALID", "token signature is invalid", { kid });

  if (!raw) reject("TOKEN_MALFORMED", "token claims are not a base64url JSON object");
  const claims = validateClaims(raw, opts.maxLifetimeMs);

  if (opts.issuer !== undefined && claims.iss !== opts.issuer) {
    reject("TOKEN_ISSUER_MISMATCH", "token was issued by someone else", { expected: opts.issuer });
  }
  if (claims.aud !== opts.audience) {
    reject("TOKEN_AUDIENCE_MISMATCH", "token is for another merchant", { expected: opts.audience });
  }
  const tol = opts.clockToleranceMs;
  if (claims.nbf * 1000 > opts.nowMs + tol || claims.iat * 1000 > opts.nowMs + tol) {
    reject("TOKEN_NOT_YET_VALID", "token is not valid yet", { notBeforeMs: claims.nbf * 1000 });
  }
  if (opts.nowMs >= claims.exp * 1000 + tol) {
    reject("TOKEN_EXPIRED", "token has expired", { expiresAtMs: claims.exp * 1000 });
  }
  return toVerified(claims, kid, alg);
}

// ---------------------------------------------------------------- thumbprints

/**
 * RFC 7638 JWK SHA-256 thumbprint (base64url), the value of `cnf.jkt`. Supports OKP, EC and RSA
 * public keys (private members are ignored).
 */
export function jwkThumbprint(jwk: unknown): string {
  if (jwk === null || typeof jwk !== "object") throw new AgentPayError("INVALID_INPUT", "jwk must be an object", { field: "jwk" });
  const k = jwk as Record<string, unknown>;
  const str = (name: string): string => {
    const v = k[name];
    if (typeof v !== "string" || v.length === 0 || v.length > 2048) {
      throw new AgentPayError("INVALID_INPUT", `jwk.${name} must be a non-empty string`, { field: `jwk.${name}` });
    }
    return v;
  };
  let members: Record<string, string>;
  switch (k.kty) {
    // Members in lexicographic order, as RFC 7638 §3.2 requires.
    case "OKP": members = { crv: str("crv"), kty: "OKP", x: str("x") }; break;
    case "EC": members = { crv: str("crv"), kty: "EC", x: str("x"), y: str("y") }; break;
    case "RSA": members = { e: str("e"), kty: "RSA", n: str("n") }; break;
    default: throw new AgentPayError("INVALID_INPUT", "jwk.kty must be OKP, EC or RSA", { field: "jwk.kty" });
  }
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}
