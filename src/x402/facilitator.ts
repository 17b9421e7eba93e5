// agentpay as an x402 facilitator for its ledger scheme (`agentpay-token`): verify a payment against the
// requirements it claims to meet, and settle it (redeem the token: capture exactly once). Used in-process
// by the merchant middleware and behind POST /x402/verify, POST /x402/settle, GET /x402/supported.
// Payment problems are answers (isValid / success false, with an x402-style reason), never throws:
// the reason is the agentpay error code in lower case (`token_already_redeemed`) or one of the
// x402 reasons (`invalid_x402_version`, `unsupported_scheme`, `invalid_network`, `invalid_payload`,
// `invalid_payment_requirements`) or `reference_mismatch`, `amount_mismatch`, `merchant_mismatch`.
import { isAgentPayError, newId } from "../core/index.ts";
import type { AgentPay, Payment, Receipt, VerifiedToken } from "../index.ts";
import { ledgerNetwork } from "./offers.ts";
import { TokenPayloadSchema } from "./schemas.ts";
import { TOKEN_SCHEME, X402_VERSION } from "./types.ts";
import type { Network, PaymentPayload, PaymentRequirements, SettleResponse, SupportedResponse, VerifyResponse } from "./types.ts";

export interface Refusal { readonly reason: string; readonly message: string; readonly payer?: string }

/** A payment that meets the requirements (not yet settled). */
export interface Accepted {
  readonly verified: VerifiedToken;
  readonly payment: Payment;
  readonly amountMinor: bigint;
  readonly currency: string;
}

export interface Settled {
  readonly response: SettleResponse;
  /** Set when it succeeded. */
  readonly receipt?: Receipt;
  readonly payment?: Payment;
}

export function reasonOf(e: unknown): Refusal {
  if (isAgentPayError(e)) return { reason: e.code.toLowerCase(), message: e.message };
  return { reason: "unexpected_settle_error", message: "unexpected error" };
}

const refuse = (reason: string, message: string, payer?: string): Refusal => ({ reason, message, ...(payer ? { payer } : {}) });

export class AgentPayFacilitator {
  readonly network: Network;
  readonly issuer: string;
  readonly #pay: AgentPay;

  constructor(pay: AgentPay) {
    this.#pay = pay;
    this.issuer = pay.tokens.issuer;
    this.network = ledgerNetwork(this.issuer);
  }

  supported(): SupportedResponse {
    return { kinds: [{ x402Version: X402_VERSION, scheme: TOKEN_SCHEME, network: this.network, extra: { issuer: this.issuer } }], extensions: [], signers: {} };
  }

  /**
   * Whether `payload` pays `requirements` for `merchantId`: the scheme and network are this issuer's ledger
   * rail, the payload's accepted offer is the requirements, the token verifies (signature, audience,
   * time), covers the amount in the asset, and its payment carries the requirements' `extra.reference`
   * (when they set one). `verified` skips the signature check (the caller verified offline already).
   */
  check(merchantId: string, payload: PaymentPayload, requirements: PaymentRequirements, verified?: VerifiedToken): Accepted | Refusal {
    if (payload.x402Version !== X402_VERSION) return refuse("invalid_x402_version", "x402Version must be 2");
    if (requirements.scheme !== TOKEN_SCHEME) return refuse("unsupported_scheme", `this facilitator settles ${TOKEN_SCHEME}`);
    if (requirements.network !== this.network) return refuse("invalid_network", `this issuer's ledger rail is ${this.network}`);
    const a = payload.accepted;
    if (a.scheme !== requirements.scheme || a.network !== requirements.network || a.amount !== requirements.amount
      || a.asset !== requirements.asset || a.payTo !== requirements.payTo) {
      return refuse("invalid_payment_requirements", "the payment accepted other requirements");
    }
    if (requirements.payTo !== merchantId) return refuse("merchant_mismatch", "the requirements pay another merchant");
    let amountMinor: bigint;
    try {
      amountMinor = BigInt(requirements.amount);
    } catch {
      return refuse("invalid_payment_requirements", "amount must be a decimal integer");
    }
    if (amountMinor <= 0n) return refuse("invalid_payment_requirements", "amount must be positive");
    const ref = requirements.extra?.reference;
    if (ref !== undefined && typeof ref !== "string") return refuse("invalid_payment_requirements", "extra.reference must be a string");
    const p = TokenPayloadSchema.safeParse(payload.payload);
    if (!p.success) return refuse("invalid_payload", `the ${TOKEN_SCHEME} payload is { token }`);
    let v: VerifiedToken;
    try {
      v = verified ?? this.#pay.tokens.verify(p.data.token, { merchantId });
    } catch (e) {
      return reasonOf(e);
    }
    if (v.merchantId !== merchantId) return refuse("token_audience_mismatch", "the token was issued for another merchant", v.agentId);
    if (v.amount.currency !== requirements.asset) return refuse("amount_mismatch", "the token is in another currency", v.agentId);
    if (v.amount.minor < amountMinor) return refuse("amount_mismatch", "the token's cap is below the price", v.agentId);
    let payment: Payment;
    try {
      payment = this.#pay.payments.get(v.paymentId ?? "");
    } catch {
      return refuse("token_unknown", "this issuer never issued that token", v.agentId);
    }
    if (payment.tokenId !== v.tokenId || payment.merchantId !== merchantId) return refuse("token_unknown", "this issuer never issued that token", v.agentId);
    if (ref !== undefined && payment.reference !== ref) {
      return refuse("reference_mismatch", "the payment was made for another resource", v.agentId);
    }
    return { verified: v, payment, amountMinor, currency: requirements.asset };
  }

  /** x402 /verify: valid when `check` passes and the token can still be redeemed. Never throws for a bad payment. */
  verify(merchantId: string, payload: PaymentPayload, requirements: PaymentRequirements): VerifyResponse {
    const c = this.check(merchantId, payload, requirements);
    if ("reason" in c) return { isValid: false, invalidReason: c.reason, invalidMessage: c.message, ...(c.payer ? { payer: c.payer } : {}) };
    const payer = c.verified.agentId;
    const status = c.payment.status;
    if (status === "authorized" && this.#pay.clock.nowMs() < c.payment.expiresAtMs!) return { isValid: true, payer };
    const reason = status === "captured" ? "token_already_redeemed" : status === "voided" ? "token_voided" : "token_expired";
    return { isValid: false, invalidReason: reason, invalidMessage: `the token's payment is ${status}`, payer };
  }

  /**
   * x402 /settle: `check`, then redeem the token for the requirements' amount. Exactly one settle of a
   * token succeeds, whatever the concurrency: a second one (another idempotency key) is refused with
   * `token_already_redeemed`. The same `idempotencyKey` (a retry of one settle) gets the first answer.
   */
  async settle(merchantId: string, payload: PaymentPayload, requirements: PaymentRequirements, opts: { idempotencyKey?: string; verified?: VerifiedToken } = {}): Promise<Settled> {
    const fail = (r: Refusal): Settled => ({
      response: { success: false, errorReason: r.reason, errorMessage: r.message, transaction: "", network: requirements.network, ...(r.payer ? { payer: r.payer } : {}) },
    });
    const c = this.check(merchantId, payload, requirements, opts.verified);
    if ("reason" in c) return fail(c);
    try {
      const receipt = await this.#pay.payments.redeem({
        token: (payload.payload as { token: string }).token, merchantId, amount: { minor: c.amountMinor, currency: c.currency },
        idempotencyKey: opts.idempotencyKey ?? newId("x402"),
      });
      return {
        response: { success: true, transaction: receipt.paymentId, network: requirements.network, payer: c.verified.agentId, amount: receipt.capturedMinor.toString() },
        receipt, payment: c.payment,
      };
    } catch (e) {
      if (isAgentPayError(e) && ["ENGINE_OVERLOADED", "ENGINE_CLOSED", "STORE_FAILURE", "NOT_LEADER"].includes(e.code)) throw e; // try again later, not a refusal
      return fail({ ...reasonOf(e), payer: c.verified.agentId });
    }
  }
}
