import { AgentPayError } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { checkGrant, getAgent, keyProblem } from "../agents/index.ts";
import type { ApprovalRequest } from "../approvals/index.ts";
import { getMerchantIn } from "../merchants/index.ts";
import type { MintedToken } from "../tokens/index.ts";
import { nextRiskSeqIn } from "../risk/index.ts";
import { activeSubWalletIn, evaluateIn } from "../wallets/index.ts";
import { authorizeMoneyIn, resultOf } from "./authorize.ts";
import type { ApprovedPayment } from "./authorize.ts";
import type { PaymentsContext, PreparedVoucher } from "./context.ts";
import { emitPaymentEvent } from "./effects.ts";
import { paymentKey } from "./records.ts";
import type { Payment } from "./records.ts";

function pendingPayment(tx: Tx, approval: ApprovalRequest): Payment {
  const p = tx.get<Payment>(paymentKey(approval.subject.id));
  if (!p) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment", { paymentId: approval.subject.id });
  if (p.status !== "pending_approval") {
    throw new AgentPayError("PAYMENT_NOT_PENDING_APPROVAL", `the payment is ${p.status}`, { paymentId: p.id, status: p.status });
  }
  return p;
}

export interface PreparedApproval {
  minted: MintedToken;
  voucher?: PreparedVoucher;
}

/** Before the approving command: sign the voucher (on-chain merchants) and mint the token (crypto stays outside the engine). */
export async function prepareApproval(ctx: PaymentsContext, approval: ApprovalRequest): Promise<PreparedApproval> {
  const p = ctx.engine.read<Payment>(paymentKey(approval.subject.id));
  if (!p) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment", { paymentId: approval.subject.id });
  const nowMs = ctx.engine.clock.nowMs();
  const expiresAtMs = Math.floor((nowMs + ctx.issuer.defaultTtlMs) / 1000) * 1000;
  const voucher = await ctx.vouchers?.prepare({
    paymentId: p.id, agentId: p.agentId, subWalletId: p.subWalletId, merchantId: p.merchantId, amountMinor: p.amountMinor,
    currency: p.currency, expiresAtMs, ...(p.reference !== undefined ? { reference: p.reference } : {}),
  });
  const minted = await ctx.issuer.mintAsync({
    agentId: p.agentId, merchantId: p.merchantId, subWalletId: p.subWalletId,
    amount: { minor: p.amountMinor, currency: p.currency }, category: p.category, paymentId: p.id,
    agentKeyThumbprint: p.agentKid, nowMs, ...(voucher ? { voucherHash: voucher.digest } : {}),
  });
  return { minted, ...(voucher ? { voucher } : {}) };
}

/**
 * The person approved: exactly the authorized path, with the sub-wallet, merchant, grant,
 * policy (except the approval threshold) and balance checked again now.
 */
export function approvedIn(tx: Tx, ctx: PaymentsContext, approval: ApprovalRequest, prepared: unknown): ApprovedPayment {
  const p = pendingPayment(tx, approval);
  // Revocation is instant for what is in flight: the key that signed the intent, and its agent,
  // must still be good now (a revoked key, an ended grace, a disabled agent: refused).
  const agent = getAgent(tx, p.agentId);
  const key = agent.keys.find((k) => k.kid === p.agentKid);
  const problem = key ? keyProblem(key, tx.nowMs) : "revoked";
  if (problem) {
    throw new AgentPayError("INTENT_KEY_REVOKED", "the key that signed this payment's intent is no longer valid", { paymentId: p.id, kid: p.agentKid, reason: problem });
  }
  if (agent.status !== "active") throw new AgentPayError("AGENT_DISABLED", "the agent is disabled", { agentId: agent.id });
  const sw = activeSubWalletIn(tx, p.subWalletId);
  const merchant = getMerchantIn(tx, p.merchantId);
  if (merchant.status !== "active") throw new AgentPayError("MERCHANT_DISABLED", "the merchant is disabled", { merchantId: merchant.id });
  const grant = checkGrant(tx, { agentId: p.agentId, subWalletId: sw.id, scope: "pay", ...(p.grantId ? { grantId: p.grantId } : {}) });
  const verdict = evaluateIn(tx, sw, {
    amountMinor: p.amountMinor, currency: p.currency, merchantId: p.merchantId, category: p.category, atMs: tx.nowMs,
  });
  if (verdict.outcome === "decline") {
    throw new AgentPayError("PAYMENT_DECLINED", "the policy no longer allows this payment", {
      paymentId: p.id, reasons: verdict.reasons.map((r) => ({ code: r.code, message: r.message })),
    });
  }
  if (prepared === null || typeof prepared !== "object" || !("minted" in prepared)) {
    throw new AgentPayError("APPROVAL_NOT_READY", "the payment's token was not prepared; approve again", { approvalId: approval.id });
  }
  const { minted, voucher } = prepared as PreparedApproval;
  const authorized = authorizeMoneyIn(tx, ctx, p, sw, grant, minted, voucher);
  const r = resultOf(tx, authorized);
  if (r.kind !== "ok" || r.result.status !== "approved") throw new AgentPayError("INVARIANT_VIOLATION", "an approved payment must have its token");
  return r.result;
}

/** The person denied, or the request expired: recorded, nothing moves. */
export function deniedIn(tx: Tx, approval: ApprovalRequest): void {
  const p = tx.get<Payment>(paymentKey(approval.subject.id));
  if (!p || p.status !== "pending_approval") return;
  // The person's "no" teaches the risk engine (a decline); a request that expired unanswered does not.
  const denied: Payment = {
    ...p, status: "denied", resolvedAtMs: tx.nowMs, ...(approval.status === "denied" ? { seq: { ...p.seq, denied: nextRiskSeqIn(tx) } } : {}),
  };
  tx.put(paymentKey(p.id), denied);
  emitPaymentEvent(tx, "approval.resolved", denied, { data: { resolution: approval.status } });
}
