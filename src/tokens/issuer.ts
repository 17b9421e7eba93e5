import { AgentPayError, defaultCurrencies, isId, newId, threadPoolSignatures, validateAmount, validateId } from "../core/index.ts";
import type { Amount, Clock, CurrencyRegistry, SignatureService } from "../core/index.ts";
import {
  DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS, MIN_TOKEN_TTL_MS, isCategory, isCurrencyCode, isIssuer, isThumbprint,
  isVoucherHash, signRaw, signingInputOf, verifyCompact,
} from "./format.ts";
import type { TokenAlg, TokenClaims, VerifiedToken } from "./format.ts";
import { RESOLVER, SIGNER } from "./keyring.ts";
import type { Jwks, TokenKeyRing } from "./keyring.ts";

export interface TokenIssuerOptions {
  /** The `iss` of every token, e.g. "https://pay.example.com" or "agentpay". 1-256 printable ASCII, no spaces. */
  issuer: string;
  /** Lifetime of a token when mint() is not given one. Default 10 minutes; at most the ring's maxTokenTtlMs. */
  defaultTtlMs?: number;
  /** Currencies and assets amounts are checked against. Default ISO 4217. */
  currencies?: CurrencyRegistry;
  /** Defaults to the ring's clock. */
  clock?: Clock;
  /** Where mintAsync signs. Default: node:crypto on libuv's thread pool. */
  signatures?: SignatureService;
}

export interface MintTokenInput {
  agentId: string;
  merchantId: string;
  subWalletId: string;
  /** The cap: positive, in a known currency. */
  amount: Amount;
  /** Merchant category code, 4 digits. */
  category: string;
  /** Lifetime; default the issuer's defaultTtlMs, from 1 s to the ring's maxTokenTtlMs. */
  ttlMs?: number;
  /** RFC 7638 thumbprint of the agent's key (see jwkThumbprint): binds the token to that key (cnf.jkt). */
  agentKeyThumbprint?: string;
  /** "0x" + 64 hex digits: the voucher this token is twinned with on-chain. */
  voucherHash?: string;
  paymentId?: string;
  /** Pre-chosen token id (`tok_…`); default a new one. */
  tokenId?: string;
  /** Issue time; default the clock's now. */
  nowMs?: number;
}

export interface MintedToken extends VerifiedToken {
  /** The compact JWS to hand to the agent. A bearer credential: never log it. */
  readonly token: string;
}

export interface IssuerVerifyOptions {
  /** The merchant redeeming or checking the token: must be the token's audience. */
  merchantId: string;
  nowMs?: number;
  /** Default 0: the issuer judges by its own clock. At most 5 minutes. */
  clockToleranceMs?: number;
}

const MAX_TOLERANCE_MS = 5 * 60_000;

function bad(field: string, message: string): never {
  throw new AgentPayError("INVALID_INPUT", message, { field });
}

/** Any agentpay id (`<prefix>_<base32>`): the owning modules decide their own prefixes. */
function checkId(v: unknown, field: string): string {
  if (!isId(v)) throw new AgentPayError("INVALID_ID", `${field} must be an agentpay id`, { field });
  return v;
}

export function checkNowMs(v: unknown, field = "nowMs"): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) bad(field, `${field} must be a non-negative integer (ms)`);
  return v;
}

export function checkToleranceMs(v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > MAX_TOLERANCE_MS) {
    bad("clockToleranceMs", `clockToleranceMs must be an integer from 0 to ${MAX_TOLERANCE_MS}`);
  }
  return v;
}

/**
 * Mints and verifies Token Pay tokens with a TokenKeyRing. Both are pure, synchronous crypto work
 * meant to run outside engine commands: mint before the command that records the hold and the
 * token, verify before the command that redeems it. Single use is the payment flow's business.
 */
export class TokenIssuer {
  readonly issuer: string;
  readonly defaultTtlMs: number;
  readonly #ring: TokenKeyRing;
  readonly #clock: Clock;
  readonly #currencies: CurrencyRegistry;
  readonly #signatures: SignatureService;

  constructor(ring: TokenKeyRing, opts: TokenIssuerOptions) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    if (!isIssuer(opts.issuer)) bad("issuer", "issuer must be 1-256 printable ASCII characters without spaces");
    this.issuer = opts.issuer;
    this.#ring = ring;
    this.#clock = opts.clock ?? ring.clock;
    this.#currencies = opts.currencies ?? defaultCurrencies;
    this.#signatures = opts.signatures ?? threadPoolSignatures;
    const ttl = opts.defaultTtlMs ?? Math.min(DEFAULT_TOKEN_TTL_MS, ring.maxTokenTtlMs);
    this.defaultTtlMs = this.#checkTtl(ttl, "defaultTtlMs");
  }

  get keyRing(): TokenKeyRing {
    return this.#ring;
  }

  #checkTtl(v: unknown, field: string): number {
    const max = this.#ring.maxTokenTtlMs;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < MIN_TOKEN_TTL_MS || v > max) {
      bad(field, `${field} must be an integer number of ms from ${MIN_TOKEN_TTL_MS} to ${max}`);
    }
    return v;
  }

  /** Signs a token with the active key. Throws INVALID_INPUT / INVALID_ID / INVALID_AMOUNT on bad input. */
  mint(input: MintTokenInput): MintedToken {
    const { signingInput, signer, finish } = this.#prepare(input);
    return finish(`${signingInput}.${signRaw(signer.alg, signer.privateKey, signingInput)}`);
  }

  /**
   * As mint, but the signature is computed off this thread (the issuer's SignatureService), so a
   * busy event loop (the engine's) does not spend its time on it. Same token, same checks.
   */
  async mintAsync(input: MintTokenInput): Promise<MintedToken> {
    const { signingInput, signer, finish } = this.#prepare(input);
    const sig = await this.#signatures.sign(signer.alg, signer.privateKey, signingInput);
    return finish(`${signingInput}.${sig.toString("base64url")}`);
  }

  #prepare(input: MintTokenInput): { signingInput: string; signer: ReturnType<TokenKeyRing[typeof SIGNER]>; finish: (token: string) => MintedToken } {
    if (input === null || typeof input !== "object") bad("input", "mint input must be an object");
    const agentId = checkId(input.agentId, "agentId");
    const merchantId = checkId(input.merchantId, "merchantId");
    const subWalletId = checkId(input.subWalletId, "subWalletId");
    const amount = validateAmount(input.amount, { positive: true, registry: this.#currencies });
    if (!isCurrencyCode(amount.currency)) bad("amount.currency", "currency code is not valid in a token");
    if (!isCategory(input.category)) bad("category", "category must be a 4-digit merchant category code");
    const ttlMs = input.ttlMs === undefined ? this.defaultTtlMs : this.#checkTtl(input.ttlMs, "ttlMs");
    const tokenId = input.tokenId === undefined ? newId("tok") : validateId(input.tokenId, "tok", "tokenId");
    if (input.agentKeyThumbprint !== undefined && !isThumbprint(input.agentKeyThumbprint)) {
      bad("agentKeyThumbprint", "agentKeyThumbprint must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)");
    }
    if (input.voucherHash !== undefined && !isVoucherHash(input.voucherHash)) {
      bad("voucherHash", "voucherHash must be 0x and 64 lower-case hex digits");
    }
    const paymentId = input.paymentId === undefined
      ? undefined
      : checkId(input.paymentId, "paymentId");
    const nowMs = input.nowMs === undefined ? this.#clock.nowMs() : checkNowMs(input.nowMs);

    const iat = Math.floor(nowMs / 1000);
    const exp = Math.floor((nowMs + ttlMs) / 1000);
    const claims: TokenClaims = {
      jti: tokenId,
      iss: this.issuer,
      sub: agentId,
      aud: merchantId,
      sw: subWalletId,
      amt: amount.minor.toString(),
      cur: amount.currency,
      mcc: input.category,
      iat,
      nbf: iat,
      exp,
      ...(input.agentKeyThumbprint !== undefined ? { cnf: { jkt: input.agentKeyThumbprint } } : {}),
      ...(input.voucherHash !== undefined ? { vh: input.voucherHash } : {}),
      ...(paymentId !== undefined ? { pay: paymentId } : {}),
    };
    const signer = this.#ring[SIGNER]();
    const signingInput = signingInputOf(signer.headerB64, claims);
    const finish = (token: string): MintedToken => Object.freeze({
      token,
      tokenId,
      issuer: this.issuer,
      agentId,
      merchantId,
      subWalletId,
      amount: Object.freeze({ minor: amount.minor, currency: amount.currency }),
      category: input.category,
      issuedAtMs: iat * 1000,
      notBeforeMs: iat * 1000,
      expiresAtMs: exp * 1000,
      ...(input.agentKeyThumbprint !== undefined ? { agentKeyThumbprint: input.agentKeyThumbprint } : {}),
      ...(input.voucherHash !== undefined ? { voucherHash: input.voucherHash } : {}),
      ...(paymentId !== undefined ? { paymentId } : {}),
      kid: signer.kid,
      alg: signer.alg as TokenAlg,
      claims: Object.freeze(claims),
    });
    return { signingInput, signer, finish };
  }

  /**
   * Verifies a token for `merchant` against this issuer's own keys (active and still-verifying
   * retired ones). Throws an AgentPayError with a TOKEN_* code on any rejection, INVALID_INPUT /
   * INVALID_ID for bad options; nothing else.
   */
  verify(token: unknown, opts: IssuerVerifyOptions): VerifiedToken {
    if (opts === null || typeof opts !== "object") bad("options", "verify options must be an object");
    const merchant = checkId(opts.merchantId, "merchantId");
    const nowMs = opts.nowMs === undefined ? this.#clock.nowMs() : checkNowMs(opts.nowMs);
    const clockToleranceMs = opts.clockToleranceMs === undefined ? 0 : checkToleranceMs(opts.clockToleranceMs);
    const ring = this.#ring;
    return verifyCompact(token, (kid, at) => ring[RESOLVER](kid, at), {
      audience: merchant,
      issuer: this.issuer,
      nowMs,
      clockToleranceMs,
      maxLifetimeMs: MAX_TOKEN_TTL_MS,
    });
  }

  /**
   * Like verify, for the issuer's own redemption path: every check is the same, except that
   * instead of a signature check the token must equal, byte for byte, the one this issuer
   * recorded under its id (`issued`). Codes are the same as verify's.
   */
  checkIssued(token: unknown, opts: IssuerVerifyOptions, issued: (tokenId: string) => string | undefined): VerifiedToken {
    if (opts === null || typeof opts !== "object") bad("options", "verify options must be an object");
    if (typeof issued !== "function") bad("issued", "issued must be a lookup function");
    const merchant = checkId(opts.merchantId, "merchantId");
    const nowMs = opts.nowMs === undefined ? this.#clock.nowMs() : checkNowMs(opts.nowMs);
    const clockToleranceMs = opts.clockToleranceMs === undefined ? 0 : checkToleranceMs(opts.clockToleranceMs);
    const ring = this.#ring;
    return verifyCompact(token, (kid, at) => ring[RESOLVER](kid, at), {
      audience: merchant, issuer: this.issuer, nowMs, clockToleranceMs, maxLifetimeMs: MAX_TOKEN_TTL_MS, issued,
    });
  }

  /** The public keys merchants verify with (see TokenKeyRing.jwks). */
  jwks(nowMs?: number): Jwks {
    return this.#ring.jwks(nowMs);
  }
}
