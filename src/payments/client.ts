import { AgentPayError, validateId } from "../core/index.ts";
import type { Clock, CurrencyRegistry } from "../core/index.ts";
import { buildFetchTokenIntent, buildPayIntent, buildVoidIntent } from "./body.ts";
import type { BuildPayIntentInput } from "./body.ts";
import { createIntentSigner } from "../agents/index.ts";
import type { AuthorizeResult } from "./authorize.ts";
import type { Payments } from "./payments.ts";
import type { Payment } from "./records.ts";

export interface AgentClientOptions {
  agentId: string;
  /** The agent's private JWK: it never leaves the client; only signatures do. */
  privateKeyJwk: Record<string, unknown>;
  kid?: string;
}

export type RequestPaymentInput = BuildPayIntentInput;

/**
 * The agent's side, in-process: every call is a signed intent, exactly what an agent in
 * another process would send over HTTP.
 */
export class AgentClient {
  readonly agentId: string;
  readonly #sign: Promise<(body: unknown, opts?: { nowMs?: number }) => Promise<string>>;
  readonly #clock: Clock;
  readonly #payments: Payments;
  readonly #currencies: CurrencyRegistry;

  constructor(payments: Payments, currencies: CurrencyRegistry, clock: Clock, opts: AgentClientOptions) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "client options must be an object");
    this.agentId = opts.agentId;
    this.#payments = payments;
    this.#currencies = currencies;
    this.#clock = clock;
    this.#sign = createIntentSigner(opts.privateKeyJwk, { agentId: opts.agentId, ...(opts.kid ? { kid: opts.kid } : {}) });
  }

  /** Signs an arbitrary intent body (for sending over HTTP yourself). */
  async sign(body: unknown): Promise<string> {
    return (await this.#sign)(body, { nowMs: this.#clock.nowMs() });
  }

  async requestPayment(input: RequestPaymentInput): Promise<AuthorizeResult> {
    return this.#payments.authorize(await this.sign(buildPayIntent(input, this.#currencies)));
  }

  /**
   * Waits until the person approves or denies the payment, at most `timeoutMs` in all: `approved` with
   * the token, `denied` (also when the approval expired), or still `pending_approval` when the time is
   * up. The same answers as the HTTP AgentPayClient's `waitForApproval`.
   */
  async waitForApproval(paymentId: string, opts: { timeoutMs: number }): Promise<AuthorizeResult> {
    validateId(paymentId, "pay", "paymentId");
    if (opts === null || typeof opts !== "object" || !Number.isSafeInteger(opts.timeoutMs) || opts.timeoutMs < 0 || opts.timeoutMs > 86_400_000) {
      throw new AgentPayError("INVALID_INPUT", "timeoutMs must be an integer from 0 to 86400000", { field: "timeoutMs" });
    }
    const mine = (): Payment => {
      const p = this.#payments.get(paymentId);
      if (p.agentId !== this.agentId) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment for this agent", { paymentId });
      return p;
    };
    // Waiting is wall-clock time whatever clock stamps the records.
    const deadline = Date.now() + opts.timeoutMs;
    let p = mine();
    while (p.status === "pending_approval" && Date.now() < deadline) {
      p = await this.#payments.wait(paymentId, { timeoutMs: Math.min(60_000, Math.max(0, deadline - Date.now())) });
    }
    if (p.status === "pending_approval") {
      return { status: "pending_approval", paymentId, approvalId: p.approvalId!, expiresAtMs: p.expiresAtMs!, decision: p.decision };
    }
    if (p.status === "authorized") {
      const t = await this.fetchToken(paymentId);
      if (t.status === "authorized" && t.token !== undefined) {
        return {
          status: "approved", paymentId, token: t.token, tokenId: p.tokenId!, expiresAtMs: t.expiresAtMs!, decision: p.decision,
          ...(t.voucher ? { voucher: t.voucher } : {}),
        };
      }
      p = mine(); // redeemed, voided or expired meanwhile
    }
    if (p.status === "declined") {
      const reasons = [...p.decision.policy.reasons, ...p.decision.risk.reasons].map((r) => ({ code: r.code, message: r.message }));
      throw new AgentPayError("PAYMENT_DECLINED", "the payment was declined", { paymentId, reasons });
    }
    return { status: p.status as "captured" | "voided" | "expired" | "denied", paymentId, decision: p.decision };
  }

  async voidPayment(paymentId: string): Promise<Payment> {
    return this.#payments.voidByAgent(await this.sign(buildVoidIntent(paymentId)));
  }

  async fetchToken(paymentId: string): ReturnType<Payments["fetchToken"]> {
    return this.#payments.fetchToken(await this.sign(buildFetchTokenIntent(paymentId)));
  }
}
