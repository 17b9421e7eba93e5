// The agent's side over HTTP. The private key never leaves this object: writes are signed intents in
// the body, reads carry `Authorization: Agent <JWS>` signed over the method, path and body digest
// (docs/AGENTS.md). Method names and results are those of the in-process `pay.agentClient(...)`
// where they overlap (requestPayment, voidPayment, fetchToken, sign), so agent code moves between them.
import { AgentPayError, newId, validateId, validateKey } from "../core/index.ts";
import type { Amount } from "../core/index.ts";
import { createIntentSigner, requestSignatureBody } from "../agents/index.ts";
import { buildPayIntent, buildVoidIntent } from "../payments/index.ts";
import type { AuthorizeResult, Balance, BudgetStatus, Grant, Payment, RefundRequest, RequestPaymentInput, SignedVoucher, SubWallet } from "../index.ts";
import { Transport } from "./transport.ts";
import type { ClientOptions } from "./transport.ts";
import { fromWire, pageFromWire, pageQuery } from "./wire.ts";
import type { Page, PageQuery } from "./wire.ts";

export interface AgentPayClientOptions extends ClientOptions {
  agentId: string;
  /** The agent's private JWK (Ed25519 or P-256): used here to sign, never sent. */
  privateKeyJwk: Record<string, unknown>;
  /** The key's id (its RFC 7638 thumbprint); default the JWK's `kid`. */
  kid?: string;
}

/** A payment as its own agent sees it: while authorized it also carries the token (and voucher). */
export type AgentPayment = Payment & { readonly token?: string; readonly voucher?: SignedVoucher };

export interface RequestRefundInput {
  paymentId: string;
  amount: Amount;
  reason?: string;
  /** Default a new one; a retry of the same request must pass the same key. */
  idempotencyKey?: string;
}

/** The longest single long-poll asked of the server (it caps it at its own maximum, 30 s by default). */
const MAX_POLL_S = 30;

export class AgentPayClient {
  readonly agentId: string;
  readonly #http: Transport;
  readonly #signer: Promise<(body: unknown) => Promise<string>>;

  constructor(opts: AgentPayClientOptions) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "client options must be an object");
    this.agentId = validateId(opts.agentId, "agt", "agentId");
    this.#signer = createIntentSigner(opts.privateKeyJwk, { agentId: this.agentId, ...(opts.kid ? { kid: opts.kid } : {}) });
    this.#signer.catch(() => {}); // reported by the first call that signs
    this.#http = new Transport(opts, {
      sign: async (request) => {
        const url = new URL(request.url);
        const body = request.method === "GET" || request.method === "HEAD" ? "" : new Uint8Array(await request.clone().arrayBuffer());
        request.headers.set("authorization", `Agent ${await this.sign(requestSignatureBody(request.method, `${url.pathname}${url.search}`, body))}`);
      },
    });
  }

  /** Signs an intent body with the agent's key (a compact JWS, fresh nonce and iat each time). */
  async sign(body: unknown): Promise<string> {
    return (await this.#signer)(body);
  }

  /**
   * Asks to pay: `approved` with the single-use token for the merchant, or `pending_approval` (wait
   * with `waitForApproval`). A decline rejects with PAYMENT_DECLINED and every reason. Retried
   * safely: each attempt is signed anew with the same idempotencyKey.
   */
  async requestPayment(input: RequestPaymentInput): Promise<AuthorizeResult> {
    if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "payment input must be an object");
    const body = buildPayIntent({ ...input, idempotencyKey: input.idempotencyKey ?? newId("idem") }, this.#http.decimals.registry);
    const wire = await this.#http.call(async (api, init) => api.POST("/v1/payment-intents", { ...init, body: { intent: await this.sign(body) } }), { idempotent: true });
    return fromWire<AuthorizeResult>(wire, this.#http.decimals);
  }

  /**
   * Waits until the person approves or denies the payment, long-polling `GET /v1/payments/{id}?wait=`
   * up to `timeoutMs` in all: `approved` with the token, or `denied` (also when the approval expired);
   * still `pending_approval` when the time is up.
   */
  async waitForApproval(paymentId: string, opts: { timeoutMs: number }): Promise<AuthorizeResult> {
    validateId(paymentId, "pay", "paymentId");
    if (opts === null || typeof opts !== "object" || !Number.isSafeInteger(opts.timeoutMs) || opts.timeoutMs < 0 || opts.timeoutMs > 86_400_000) {
      throw new AgentPayError("INVALID_INPUT", "timeoutMs must be an integer from 0 to 86400000", { field: "timeoutMs" });
    }
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const waitS = Math.max(0, Math.min(MAX_POLL_S, Math.floor((deadline - Date.now()) / 1000)));
      const p = await this.#payment(paymentId, waitS);
      if (p.status !== "pending_approval" || waitS === 0) return resultOf(p);
    }
  }

  /** The payment; for its agent, with the token while it is authorized. */
  async getPayment(paymentId: string): Promise<AgentPayment> {
    return this.#payment(validateId(paymentId, "pay", "paymentId"), 0);
  }

  /** The token of an authorized payment (e.g. once the person approved), as `pay.agentClient().fetchToken`. */
  async fetchToken(paymentId: string): Promise<{ paymentId: string; status: Payment["status"]; token?: string; expiresAtMs?: number; voucher?: SignedVoucher }> {
    const p = await this.getPayment(paymentId);
    return {
      paymentId: p.id, status: p.status,
      ...(p.status === "authorized" && p.token !== undefined ? { token: p.token, ...(p.expiresAtMs !== undefined ? { expiresAtMs: p.expiresAtMs } : {}) } : {}),
      ...(p.status === "authorized" && p.voucher !== undefined ? { voucher: p.voucher } : {}),
    };
  }

  /** This agent's payments, newest first. */
  async listPayments(query: PageQuery & { subWalletId?: string; merchantId?: string } = {}): Promise<Page<AgentPayment>> {
    const q = { ...pageQuery(query), ...(query.subWalletId ? { subWalletId: query.subWalletId } : {}), ...(query.merchantId ? { merchantId: query.merchantId } : {}) };
    const wire = await this.#http.call((api, init) => api.GET("/v1/payments", { ...init, params: { query: q } }), { idempotent: true, signed: true });
    return pageFromWire<AgentPayment>(wire as never, this.#http.decimals);
  }

  /** Releases the payment's hold (an unredeemed token of this agent's). */
  async voidPayment(paymentId: string): Promise<Payment> {
    const body = buildVoidIntent(paymentId);
    const wire = await this.#http.call(async (api, init) => api.POST("/v1/payments/{paymentId}/void", {
      ...init, params: { path: { paymentId } }, body: { intent: await this.sign(body) },
    }), { idempotent: false });
    return fromWire<Payment>(wire, this.#http.decimals);
  }

  /** Asks the merchant to refund (part of) a captured payment; the grant needs the `refund:request` scope. */
  async requestRefund(input: RequestRefundInput): Promise<RefundRequest> {
    if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "input must be an object");
    const money = this.#http.decimals.toWire(input.amount);
    const body = {
      action: "refund_request", paymentId: validateId(input.paymentId, "pay", "paymentId"), amount: money.value, currency: money.currency,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      idempotencyKey: input.idempotencyKey === undefined ? newId("idem") : validateKey(input.idempotencyKey, "idempotencyKey"),
    };
    const wire = await this.#http.call(async (api, init) => api.POST("/v1/refund-requests", { ...init, body: { intent: await this.sign(body) } }), { idempotent: true });
    return fromWire<RefundRequest>(wire, this.#http.decimals);
  }

  /** What is used and left in each budget window of a sub-wallet this agent holds a grant on. */
  async getBudget(subWalletId: string): Promise<BudgetStatus> {
    validateId(subWalletId, "sw", "subWalletId");
    const wire = await this.#http.call((api, init) => api.GET("/v1/sub-wallets/{subWalletId}/budget", { ...init, params: { path: { subWalletId } } }), { idempotent: true, signed: true });
    return fromWire<BudgetStatus>(wire, this.#http.decimals);
  }

  /** A sub-wallet this agent holds a grant on (its status, currency and policy). */
  async getSubWallet(subWalletId: string): Promise<SubWallet> {
    validateId(subWalletId, "sw", "subWalletId");
    const wire = await this.#http.call((api, init) => api.GET("/v1/sub-wallets/{subWalletId}", { ...init, params: { path: { subWalletId } } }), { idempotent: true, signed: true });
    return fromWire<SubWallet>(wire, this.#http.decimals);
  }

  /** The balance of a sub-wallet this agent holds a grant on. */
  async getBalance(subWalletId: string): Promise<Balance> {
    validateId(subWalletId, "sw", "subWalletId");
    const wire = await this.#http.call((api, init) => api.GET("/v1/sub-wallets/{subWalletId}/balance", { ...init, params: { path: { subWalletId } } }), { idempotent: true, signed: true });
    return fromWire<Balance>(wire, this.#http.decimals);
  }

  /** This agent's grants (active, revoked, expired), oldest first. */
  async listGrants(query: PageQuery & { subWalletId?: string } = {}): Promise<Page<Grant>> {
    const q = { ...pageQuery(query), ...(query.subWalletId ? { subWalletId: query.subWalletId } : {}) };
    const wire = await this.#http.call((api, init) => api.GET("/v1/grants", { ...init, params: { query: q } }), { idempotent: true, signed: true });
    return pageFromWire<Grant>(wire as never, this.#http.decimals);
  }

  async #payment(paymentId: string, waitS: number): Promise<AgentPayment> {
    const wire = await this.#http.call((api, init) => api.GET("/v1/payments/{paymentId}", {
      ...init, params: { path: { paymentId }, ...(waitS > 0 ? { query: { wait: waitS } } : {}) },
    }), { idempotent: true, signed: true, ...(waitS > 0 ? { timeoutMs: waitS * 1000 + 15_000 } : {}) });
    return fromWire<AgentPayment>(wire, this.#http.decimals);
  }

}

/** What waiting on a payment came to, in the shape `requestPayment` answers with. */
function resultOf(p: AgentPayment): AuthorizeResult {
  switch (p.status) {
    case "authorized":
      if (p.token === undefined || p.tokenId === undefined || p.expiresAtMs === undefined) {
        throw new AgentPayError("RESPONSE_INVALID", "the server sent an authorized payment without its token", { paymentId: p.id });
      }
      return { status: "approved", paymentId: p.id, token: p.token, tokenId: p.tokenId, expiresAtMs: p.expiresAtMs, decision: p.decision, ...(p.voucher ? { voucher: p.voucher } : {}) };
    case "pending_approval":
      return { status: "pending_approval", paymentId: p.id, approvalId: p.approvalId!, expiresAtMs: p.expiresAtMs!, decision: p.decision };
    case "declined": {
      const reasons = [...p.decision.policy.reasons, ...p.decision.risk.reasons].map((r) => ({ code: r.code, message: r.message }));
      throw new AgentPayError("PAYMENT_DECLINED", "the payment was declined", { paymentId: p.id, reasons });
    }
    default:
      return { status: p.status, paymentId: p.id, decision: p.decision };
  }
}
