// The merchant's side over HTTP: verify a token offline from the issuer's JWKS (cached by kid), then
// redeem it through the issuer (only the issuer knows whether it was redeemed already); void, refund,
// and answer agents' refund requests. Every write carries an Idempotency-Key (one per call unless you
// pass yours), so a retry after a lost answer captures or refunds nothing twice.
import { AgentPayError, newId, validateId, validateKey } from "../core/index.ts";
import type { Amount } from "../core/index.ts";
import type { Payment, Receipt, Refund, RefundRequest, RefundRequestStatus, VerifiedToken } from "../index.ts";
import { JwksCache, kidOf } from "./jwks.ts";
import type { JwksCacheOptions } from "./jwks.ts";
import { Transport } from "./transport.ts";
import type { ClientOptions } from "./transport.ts";
import { fromWire, pageFromWire, pageQuery } from "./wire.ts";
import type { Page, PageQuery } from "./wire.ts";

export interface MerchantClientOptions extends ClientOptions {
  /** The merchant's API key (`Authorization: Bearer …`), shown once at registration. */
  apiKey: string;
  /** The merchant's id: tokens must name it as their audience. */
  merchantId: string;
  /** The issuer tokens must name (`iss`); default any (the JWKS already pins the issuer's keys). */
  issuer?: string;
  /** Clock skew allowed on a token's times, ms. Default 30,000. */
  clockToleranceMs?: number;
  jwks?: JwksCacheOptions;
}

function key(k: string | undefined): string {
  return k === undefined ? newId("idem") : validateKey(k, "idempotencyKey");
}

function object(input: unknown): void {
  if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "input must be an object");
}

export class MerchantClient {
  readonly merchantId: string;
  readonly #http: Transport;
  readonly #jwks: JwksCache;
  readonly #issuer: string | undefined;
  readonly #clockToleranceMs: number | undefined;

  constructor(opts: MerchantClientOptions) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "client options must be an object");
    if (typeof opts.apiKey !== "string" || !/^[A-Za-z0-9_-]{8,200}$/.test(opts.apiKey)) throw new AgentPayError("INVALID_INPUT", "apiKey must be the merchant's API key", { field: "apiKey" });
    this.merchantId = validateId(opts.merchantId, "mer", "merchantId");
    this.#issuer = opts.issuer;
    this.#clockToleranceMs = opts.clockToleranceMs;
    this.#http = new Transport(opts, { headers: { authorization: `Bearer ${opts.apiKey}` } });
    this.#jwks = new JwksCache(async () => {
      let headers: Headers | undefined;
      const jwks = await this.#http.call(async (api, init) => {
        const r = await api.GET("/.well-known/jwks.json", { ...init });
        headers = r.response.headers;
        return r;
      }, { idempotent: true });
      return { jwks, cacheControl: headers?.get("cache-control") ?? null, age: headers?.get("age") ?? null };
    }, opts.jwks);
  }

  /**
   * Checks a token OFFLINE, with the issuer's cached public keys: genuine, for this merchant, in
   * time, its cap. Throws TOKEN_* errors. Whether it was redeemed already only `redeem` can tell.
   */
  async verify(token: string): Promise<VerifiedToken> {
    const verifier = await this.#jwks.verifierFor(kidOf(token));
    return verifier.verify(token, {
      audience: this.merchantId,
      ...(this.#issuer !== undefined ? { issuer: this.#issuer } : {}),
      ...(this.#clockToleranceMs !== undefined ? { clockToleranceMs: this.#clockToleranceMs } : {}),
    });
  }

  /** How many times the JWKS was fetched so far. */
  get jwksFetches(): number {
    return this.#jwks.fetches;
  }

  /** Captures up to the token's cap, exactly once; the rest of the hold goes back to the agent's sub-wallet. */
  async redeem(input: { token: string; amount: Amount; idempotencyKey?: string }): Promise<Receipt> {
    object(input);
    const body = { token: input.token, amount: this.#http.decimals.toWire(input.amount) };
    const idem = key(input.idempotencyKey);
    const wire = await this.#http.call((api, init) => api.POST("/v1/payments/redeem", { ...init, body, params: { header: { "idempotency-key": idem } } }), { idempotent: true });
    return fromWire<Receipt>(wire, this.#http.decimals);
  }

  /** Releases an unredeemed payment of this merchant's (the agent's hold goes back). */
  async void(paymentId: string, opts: { idempotencyKey?: string } = {}): Promise<Payment> {
    validateId(paymentId, "pay", "paymentId");
    const idem = key(opts.idempotencyKey);
    const wire = await this.#http.call((api, init) => api.POST("/v1/payments/{paymentId}/void", {
      ...init, params: { path: { paymentId } }, headers: { "idempotency-key": idem },
    }), { idempotent: true });
    return fromWire<Payment>(wire, this.#http.decimals);
  }

  /** Refunds (part of) a captured payment to the agent's sub-wallet. */
  async refund(input: { paymentId: string; amount: Amount; reason?: string; idempotencyKey?: string }): Promise<Refund> {
    object(input);
    const paymentId = validateId(input.paymentId, "pay", "paymentId");
    const body = { amount: this.#http.decimals.toWire(input.amount), ...(input.reason !== undefined ? { reason: input.reason } : {}) };
    const idem = key(input.idempotencyKey);
    const wire = await this.#http.call((api, init) => api.POST("/v1/payments/{paymentId}/refunds", {
      ...init, params: { path: { paymentId }, header: { "idempotency-key": idem } }, body,
    }), { idempotent: true });
    return fromWire<Refund>(wire, this.#http.decimals);
  }

  async getPayment(paymentId: string): Promise<Payment> {
    validateId(paymentId, "pay", "paymentId");
    const wire = await this.#http.call((api, init) => api.GET("/v1/payments/{paymentId}", { ...init, params: { path: { paymentId } } }), { idempotent: true });
    return fromWire<Payment>(wire, this.#http.decimals);
  }

  /** This merchant's payments, newest first. */
  async listPayments(query: PageQuery & { subWalletId?: string; agentId?: string } = {}): Promise<Page<Payment>> {
    const q = { ...pageQuery(query), ...(query.subWalletId ? { subWalletId: query.subWalletId } : {}), ...(query.agentId ? { agentId: query.agentId } : {}) };
    const wire = await this.#http.call((api, init) => api.GET("/v1/payments", { ...init, params: { query: q } }), { idempotent: true });
    return pageFromWire<Payment>(wire as never, this.#http.decimals);
  }

  /** Agents' refund requests to this merchant, newest first. */
  async refundRequests(query: PageQuery & { status?: RefundRequestStatus } = {}): Promise<Page<RefundRequest>> {
    const q = { ...pageQuery(query), ...(query.status ? { status: query.status } : {}) };
    const wire = await this.#http.call((api, init) => api.GET("/v1/refund-requests", { ...init, params: { query: q } }), { idempotent: true });
    return pageFromWire<RefundRequest>(wire as never, this.#http.decimals);
  }

  async getRefundRequest(refundRequestId: string): Promise<RefundRequest> {
    validateId(refundRequestId, "rrq", "refundRequestId");
    const wire = await this.#http.call((api, init) => api.GET("/v1/refund-requests/{refundRequestId}", { ...init, params: { path: { refundRequestId } } }), { idempotent: true });
    return fromWire<RefundRequest>(wire, this.#http.decimals);
  }

  /** Grants an agent's refund request: the refund (default the amount asked) is made with it. */
  async grantRefundRequest(input: { refundRequestId: string; amount?: Amount; idempotencyKey?: string }): Promise<{ request: RefundRequest; refund: Refund }> {
    object(input);
    const refundRequestId = validateId(input.refundRequestId, "rrq", "refundRequestId");
    const body = input.amount !== undefined ? { amount: this.#http.decimals.toWire(input.amount) } : {};
    const idem = key(input.idempotencyKey);
    const wire = await this.#http.call((api, init) => api.POST("/v1/refund-requests/{refundRequestId}/grant", {
      ...init, params: { path: { refundRequestId }, header: { "idempotency-key": idem } }, body,
    }), { idempotent: true });
    return fromWire<{ request: RefundRequest; refund: Refund }>(wire, this.#http.decimals);
  }

  async declineRefundRequest(input: { refundRequestId: string; reason?: string }): Promise<RefundRequest> {
    object(input);
    const refundRequestId = validateId(input.refundRequestId, "rrq", "refundRequestId");
    const idem = newId("idem");
    const wire = await this.#http.call((api, init) => api.POST("/v1/refund-requests/{refundRequestId}/decline", {
      ...init, params: { path: { refundRequestId } }, body: input.reason !== undefined ? { reason: input.reason } : {}, headers: { "idempotency-key": idem },
    }), { idempotent: true });
    return fromWire<RefundRequest>(wire, this.#http.decimals);
  }
}
