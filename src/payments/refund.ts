import { AgentPayError, newId, sameBody, scopedKey } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { createTransfer } from "../ledger/index.ts";
import { payoutAccountIn } from "../merchants/index.ts";
import { getSubWalletIn, getWalletIn, restoreSpendIn } from "../wallets/index.ts";
import type { PaymentsContext } from "./context.ts";
import { nextRiskSeqIn } from "../risk/index.ts";
import { emitPaymentEvent, notify } from "./effects.ts";
import { idemKey, paymentKey, refundKey } from "./records.ts";
import type { IdempotencyRecord, Payment, Refund } from "./records.ts";

export interface RefundCommandInput {
  paymentId: string;
  merchantId: string;
  amountMinor: bigint;
  currency: string;
  idempotencyKey: string;
  reason?: string;
}

/**
 * The merchant gives money back to the sub-wallet: never more in total than was captured;
 * the budget it consumed is restored. One command.
 */
export function refundIn(tx: Tx, ctx: PaymentsContext, input: RefundCommandInput): Refund {
  const ik = idemKey("r", input.merchantId, input.idempotencyKey);
  const request = { paymentId: input.paymentId, amountMinor: input.amountMinor, currency: input.currency, reason: input.reason };
  const prior = tx.get<IdempotencyRecord>(ik);
  if (prior) {
    if (!sameBody(prior.request, request)) {
      throw new AgentPayError("IDEMPOTENCY_CONFLICT", "this idempotency key was used with a different request", { idempotencyKey: input.idempotencyKey });
    }
    return tx.get<Refund>(refundKey(prior.resultId))!;
  }
  const p = tx.get<Payment>(paymentKey(input.paymentId));
  if (!p || p.merchantId !== input.merchantId) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment for this merchant", { paymentId: input.paymentId });
  if (p.status !== "captured") throw new AgentPayError("PAYMENT_NOT_CAPTURED", `the payment is ${p.status}`, { paymentId: p.id, status: p.status });
  if (p.chain) {
    throw new AgentPayError("CHAIN_PAYMENT_ON_CHAIN", "this payment settled on-chain: refund it with the settlement contract", { paymentId: p.id });
  }
  if (input.currency !== p.currency) {
    throw new AgentPayError("CURRENCY_MISMATCH", "the refund's currency differs from the payment's", { currency: input.currency });
  }
  const refunded = p.refundedMinor ?? 0n;
  if (refunded + input.amountMinor > p.capturedMinor!) {
    throw new AgentPayError("REFUND_EXCEEDS_CAPTURE", "refunds would exceed what was captured", {
      paymentId: p.id, capturedMinor: p.capturedMinor!, refundedMinor: refunded,
    });
  }
  const sw = getSubWalletIn(tx, p.subWalletId);
  const id = newId("rfd");
  const transferId = scopedKey("refund", id);
  const payout = payoutAccountIn(tx, ctx.ledger, p.merchantId, p.currency);
  // A closed sub-wallet's money went back to its wallet: so does a late refund (no budget to restore).
  const closed = sw.status === "closed";
  createTransfer(tx, ctx.ledger.context, {
    id: transferId, debitAccountId: payout, creditAccountId: closed ? getWalletIn(tx, sw.walletId).accountId : sw.accountId,
    amount: { minor: input.amountMinor, currency: p.currency }, code: "refund", metadata: { paymentId: p.id, refundId: id },
  });
  if (!closed) restoreSpendIn(tx, sw, input.amountMinor, p.authorizedAtMs!);
  const refund: Refund = {
    id, paymentId: p.id, merchantId: p.merchantId, amountMinor: input.amountMinor, currency: p.currency,
    transferId, createdAtMs: tx.nowMs, ...(input.reason !== undefined ? { reason: input.reason } : {}), seq: nextRiskSeqIn(tx),
  };
  tx.put(refundKey(id), refund);
  const next: Payment = { ...p, refundedMinor: refunded + input.amountMinor };
  tx.put(paymentKey(p.id), next);
  tx.put(ik, { request, resultId: id } satisfies IdempotencyRecord);
  emitPaymentEvent(tx, "payment.refunded", next, { toMerchant: true, data: { refundId: id, refundMinor: input.amountMinor } });
  notify(tx, sw, next, { kind: "refund", amountMinor: input.amountMinor });
  return refund;
}
