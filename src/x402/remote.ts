// The merchant middleware's link to an agentpay server it does not embed: the issuer's JWKS for offline
// verification (cached; refetched when a token names a key it does not know, at most every 10 s),
// the facilitator's /x402/settle (authenticated with the merchant's API key) and refunds.
import { AgentPayError, formatAmount, isAgentPayError } from "../core/index.ts";
import type { Amount, CurrencyRegistry } from "../core/index.ts";
import { TokenVerifier } from "../index.ts";
import type { VerifiedToken } from "../index.ts";
import { SettleResponseSchema, SupportedResponseSchema } from "./schemas.ts";
import { TOKEN_SCHEME } from "./types.ts";
import type { Network, PaymentPayload, PaymentRequirements, SettleResponse } from "./types.ts";

export interface AgentPayServerOptions {
  /** The agentpay server's base URL, e.g. `https://pay.example.com`. */
  url: string;
  /** The merchant's API key (`Authorization: Bearer …`); it settles only this merchant's payments. */
  apiKey: string;
  /** Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** How long a fetched JWKS is used when the server says nothing (Cache-Control max-age). Default 300 s. */
  jwksMaxAgeMs?: number;
}

const MIN_REFETCH_MS = 10_000;
const MAX_BODY_CHARS = 256 * 1024;

function unavailable(message: string, details: Record<string, unknown> = {}): AgentPayError {
  return new AgentPayError("X402_FACILITATOR_UNAVAILABLE", message, details);
}

export class RemoteFacilitator {
  readonly #base: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #jwksMaxAgeMs: number;
  #verifier: { v: TokenVerifier; fetchedAtMs: number; maxAgeMs: number } | undefined;
  #loading: Promise<TokenVerifier> | undefined;
  #info: Promise<{ issuer: string; network: Network }> | undefined;

  constructor(opts: AgentPayServerOptions) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "server must be an object", { field: "server" });
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new AgentPayError("INVALID_INPUT", "server.url must be an http(s) URL", { field: "server.url" });
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new AgentPayError("INVALID_INPUT", "server.url must be an http(s) URL", { field: "server.url" });
    if (typeof opts.apiKey !== "string" || !/^[A-Za-z0-9_-]{8,200}$/.test(opts.apiKey)) {
      throw new AgentPayError("INVALID_INPUT", "server.apiKey must be the merchant's API key", { field: "server.apiKey" });
    }
    this.#base = u.href.replace(/\/+$/, "");
    this.#apiKey = opts.apiKey;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#jwksMaxAgeMs = opts.jwksMaxAgeMs ?? 300_000;
  }

  async #call(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {}): Promise<{ status: number; json: unknown; headers: Headers }> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: {
          ...(init.auth ? { authorization: `Bearer ${this.#apiKey}` } : {}),
          ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
          ...init.headers,
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      throw unavailable("the agentpay server could not be reached", { path, cause: (e as Error).name });
    }
    const text = await res.text().catch(() => "");
    if (text.length > MAX_BODY_CHARS) throw unavailable("the agentpay server's answer is too large", { path });
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw unavailable("the agentpay server's answer is not JSON", { path, status: res.status });
    }
    return { status: res.status, json, headers: res.headers };
  }

  /** The issuer and its ledger network, from GET /x402/supported (once). */
  info(): Promise<{ issuer: string; network: Network }> {
    this.#info ??= (async () => {
      const r = await this.#call("GET", "/x402/supported");
      const s = SupportedResponseSchema.safeParse(r.json);
      const kind = s.success ? s.data.kinds.find((k) => k.scheme === TOKEN_SCHEME && typeof k.extra?.issuer === "string") : undefined;
      if (r.status !== 200 || !kind) throw unavailable("the server is not an agentpay x402 facilitator", { status: r.status });
      return { issuer: kind.extra!.issuer as string, network: kind.network as Network };
    })();
    this.#info.catch(() => { this.#info = undefined; });
    return this.#info;
  }

  async #load(): Promise<TokenVerifier> {
    const r = await this.#call("GET", "/.well-known/jwks.json");
    if (r.status !== 200) throw unavailable("the issuer's JWKS could not be fetched", { status: r.status });
    const v = new TokenVerifier(r.json);
    const age = /max-age=(\d{1,9})/.exec(r.headers.get("cache-control") ?? "");
    this.#verifier = { v, fetchedAtMs: Date.now(), maxAgeMs: age ? Math.min(Number(age[1]) * 1000, 86_400_000) : this.#jwksMaxAgeMs };
    return v;
  }

  async #current(force: boolean): Promise<TokenVerifier> {
    const c = this.#verifier;
    const now = Date.now();
    if (c && !(force && now - c.fetchedAtMs >= MIN_REFETCH_MS) && now - c.fetchedAtMs < c.maxAgeMs) return c.v;
    this.#loading ??= this.#load().finally(() => { this.#loading = undefined; });
    return this.#loading;
  }

  /** Verifies a token offline with the cached JWKS (refetched once if the token names an unknown key). */
  async verifyOffline(token: string, merchantId: string, issuer: string): Promise<VerifiedToken> {
    try {
      return await (await this.#current(false)).verifyAsync(token, { audience: merchantId, issuer });
    } catch (e) {
      if (!isAgentPayError(e, "TOKEN_KEY_UNKNOWN")) throw e;
      return (await this.#current(true)).verifyAsync(token, { audience: merchantId, issuer });
    }
  }

  /** POST /x402/settle as the merchant. A transport failure or a 5xx is retried (twice) with the same idempotency key. */
  async settle(payload: PaymentPayload, requirements: PaymentRequirements, idempotencyKey: string): Promise<SettleResponse> {
    const body = { x402Version: 2, paymentPayload: payload, paymentRequirements: requirements };
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * attempt));
      let r: { status: number; json: unknown };
      try {
        r = await this.#call("POST", "/x402/settle", { body, auth: true, headers: { "idempotency-key": idempotencyKey } });
      } catch (e) {
        last = e;
        continue;
      }
      if (r.status === 200) {
        const s = SettleResponseSchema.safeParse(r.json);
        if (!s.success) throw unavailable("the facilitator's settle answer is malformed");
        return s.data;
      }
      const code = (r.json as { error?: { code?: unknown } } | undefined)?.error?.code;
      last = unavailable(r.status >= 500 || r.status === 429 ? "the facilitator is unavailable" : "the facilitator refused the merchant's request", { status: r.status, code });
      if (r.status < 500 && r.status !== 429) break;
    }
    throw last;
  }

  /** POST /v1/payments/{paymentId}/refunds as the merchant (the whole capture, idempotent). */
  async refund(paymentId: string, amount: Amount, currencies: CurrencyRegistry, idempotencyKey: string): Promise<void> {
    const r = await this.#call("POST", `/v1/payments/${encodeURIComponent(paymentId)}/refunds`, {
      auth: true, headers: { "idempotency-key": idempotencyKey },
      body: { amount: { value: formatAmount(amount, currencies), currency: amount.currency }, reason: "x402: the paid resource failed" },
    });
    if (r.status !== 201) throw unavailable("the refund was refused", { status: r.status, code: (r.json as { error?: { code?: unknown } } | undefined)?.error?.code });
  }
}
