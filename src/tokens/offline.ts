import { createPublicKey } from "node:crypto";
import { AgentPayError, isId, systemClock, threadPoolSignatures } from "../core/index.ts";
import type { Clock, SignatureService } from "../core/index.ts";
import { MAX_TOKEN_TTL_MS, b64uDecode, isIssuer, isKid, verifyCompact, verifyCompactAsync } from "./format.ts";
import type { ResolvedKey, TokenAlg, VerifiedToken, VerifyCoreOptions } from "./format.ts";
import { checkNowMs, checkToleranceMs } from "./issuer.ts";

const MAX_JWKS_KEYS = 100;
const DEFAULT_OFFLINE_TOLERANCE_MS = 30_000;

export interface OfflineVerifyOptions {
  /** Your merchant id: the token's `aud` must equal it. */
  audience: string;
  /** The issuer you expect (`iss`); recommended. */
  issuer?: string;
  nowMs?: number;
  /** Clock skew allowed on nbf/iat/exp. Default 30 s, at most 5 minutes. */
  clockToleranceMs?: number;
  /** Used when nowMs is not given. Default the system clock. */
  clock?: Clock;
}

function jwksInvalid(message: string, details: Record<string, unknown> = {}): never {
  throw new AgentPayError("TOKEN_JWKS_INVALID", message, details);
}

function importKey(jwk: unknown): { kid: string; key: ResolvedKey } | undefined {
  if (jwk === null || typeof jwk !== "object" || Array.isArray(jwk)) return undefined;
  const k = jwk as Record<string, unknown>;
  if (k.use !== undefined && k.use !== "sig") return undefined;
  if (!isKid(k.kid)) return undefined;
  let alg: TokenAlg;
  let material: Record<string, string>;
  const coord = (v: unknown): v is string => typeof v === "string" && b64uDecode(v)?.length === 32;
  if (k.kty === "OKP" && k.crv === "Ed25519" && coord(k.x)) {
    alg = "EdDSA";
    material = { kty: "OKP", crv: "Ed25519", x: k.x };
  } else if (k.kty === "EC" && k.crv === "P-256" && coord(k.x) && coord(k.y)) {
    alg = "ES256";
    material = { kty: "EC", crv: "P-256", x: k.x, y: k.y };
  } else {
    return undefined; // a key type this format never uses: ignored, as JWKS consumers do
  }
  if (k.alg !== undefined && k.alg !== alg) return undefined;
  try {
    // Only public members are imported, whatever else the JWK carries.
    return { kid: k.kid, key: { alg, publicKey: createPublicKey({ key: material, format: "jwk" }) } };
  } catch {
    return undefined; // e.g. a point not on the curve
  }
}

/**
 * A merchant-side verifier built from the issuer's published JWKS (fetched however you like):
 * it needs no connection to the issuer. Keys are imported once; build a new verifier when the
 * JWKS changes (a TOKEN_KEY_UNKNOWN is the cue to refetch it). Offline verification proves the
 * token is genuine, for you, and in time; only the issuer can tell whether it was already
 * redeemed, so redeem through the issuer.
 */
export class TokenVerifier {
  readonly #keys = new Map<string, ResolvedKey>();

  /** Throws TOKEN_JWKS_INVALID if `jwks` is not a JWK Set; keys it cannot use are skipped. */
  constructor(jwks: unknown) {
    if (jwks === null || typeof jwks !== "object" || !Array.isArray((jwks as { keys?: unknown }).keys)) {
      jwksInvalid("jwks must be an object { keys: [...] }");
    }
    const list = (jwks as { keys: unknown[] }).keys;
    if (list.length > MAX_JWKS_KEYS) jwksInvalid(`jwks has more than ${MAX_JWKS_KEYS} keys`, { keys: list.length });
    for (const jwk of list) {
      const got = importKey(jwk);
      if (!got) continue;
      if (this.#keys.has(got.kid)) jwksInvalid("jwks has two keys with the same kid", { kid: got.kid });
      this.#keys.set(got.kid, got.key);
    }
  }

  /** The key ids this verifier accepts. */
  get kids(): string[] {
    return [...this.#keys.keys()];
  }

  verify(token: unknown, opts: OfflineVerifyOptions): VerifiedToken {
    return verifyCompact(token, this.#resolve, this.#core(opts));
  }

  /**
   * verify, with the signature checked off the calling thread (node:crypto's job on libuv's thread
   * pool, or `signatures`): for a server whose event loop should not spend a public-key operation per
   * request. The same checks and errors; rejects, never throws.
   */
  async verifyAsync(token: unknown, opts: OfflineVerifyOptions, signatures: SignatureService = threadPoolSignatures): Promise<VerifiedToken> {
    return verifyCompactAsync(token, this.#resolve, this.#core(opts), (alg, key, data, sig) => signatures.verify(alg, key, data, sig));
  }

  readonly #resolve = (kid: string): ResolvedKey | undefined => this.#keys.get(kid);

  #core(opts: OfflineVerifyOptions): VerifyCoreOptions {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object", { field: "options" });
    if (!isId(opts.audience)) throw new AgentPayError("INVALID_ID", "audience must be your merchant id", { field: "audience" });
    if (opts.issuer !== undefined && !isIssuer(opts.issuer)) {
      throw new AgentPayError("INVALID_INPUT", "issuer must be 1-256 printable ASCII characters", { field: "issuer" });
    }
    const nowMs = opts.nowMs === undefined ? (opts.clock ?? systemClock).nowMs() : checkNowMs(opts.nowMs);
    const clockToleranceMs = opts.clockToleranceMs === undefined
      ? DEFAULT_OFFLINE_TOLERANCE_MS
      : checkToleranceMs(opts.clockToleranceMs);
    return {
      audience: opts.audience,
      ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
      nowMs,
      clockToleranceMs,
      maxLifetimeMs: MAX_TOKEN_TTL_MS,
    };
  }
}

/**
 * Verifies a token with nothing but the issuer's JWKS (one-shot; use a TokenVerifier to import
 * the keys once for many tokens). Throws AgentPayError, TOKEN_* codes for the token, and never
 * anything else.
 */
export function verifyTokenOffline(token: unknown, jwks: unknown, opts: OfflineVerifyOptions): VerifiedToken {
  return new TokenVerifier(jwks).verify(token, opts);
}
