import { AgentPayError, sameBody, scopedKey } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { postPending } from "../ledger/index.ts";
import { getMerchantIn } from "../merchants/index.ts";
import type { VerifiedToken } from "../tokens/index.ts";
import { nextRiskSeqIn } from "../risk/index.ts";
import { getSubWalletIn, restoreSpendIn } from "../wallets/index.ts";
import type { PaymentsContext } from "./context.ts";
import { emitPaymentEvent } from "./effects.ts";
import { idemKey, paymentKey, paymentOfToken, tokenStateOf } from "./records.ts";
import type { IdempotencyRecord, Payment, Receipt } from "./records.ts";

export interface RedeemCommandInput {
  verified: VerifiedToken;
  merchantId: string;
  amountMinor: bigint;
  currency: string;
  idempotencyKey: string;
}

/** The payment behind a token that can still be redeemed, or the error its token's state gives. */
export function activeTokenPayment(tx: Tx, verified: Pick<VerifiedToken, "tokenId" | "paymentId">): Payment {
  const { tokenId } = verified;
  const p = paymentOfToken((k) => tx.get<Payment>(k), verified);
  const state = p && tokenStateOf(p);
  if (!p || !state) throw new AgentPayError("TOKEN_UNKNOWN", "this issuer never issued that token", { tokenId });
  if (state === "redeemed") throw new AgentPayError("TOKEN_ALREADY_REDEEMED", "the token was already redeemed", { tokenId });
  if (state === "voided") throw new AgentPayError("TOKEN_VOIDED", "the token was voided", { tokenId });
  if (state === "expired" || tx.nowMs >= p.expiresAtMs!) throw new AgentPayError("TOKEN_EXPIRED", "the token has expired", { tokenId });
  return p;
}

export function receiptOf(p: Payment): Receipt {
  return {
    paymentId: p.id, tokenId: p.tokenId!, merchantId: p.merchantId, capturedMinor: p.capturedMinor!,
    releasedMinor: p.amountMinor - p.capturedMinor!, currency: p.currency, transferId: p.captureTransferId!, capturedAtMs: p.capturedAtMs!,
  };
}

/**
 * The merchant's capture, as ONE command: the token is checked and marked used, the hold
 * posted (a partial capture releases the rest), the budget given back for the rest, and
 * the merchant's callback queued. Concurrent and repeated attempts: exactly one wins.
 */
export function redeemIn(tx: Tx, ctx: PaymentsContext, input: RedeemCommandInput): Receipt {
  const { verified } = input;
  const ik = idemKey("m", input.merchantId, input.idempotencyKey);
  const request = { tokenId: verified.tokenId, amountMinor: input.amountMinor, currency: input.currency };
  const prior = tx.get<IdempotencyRecord>(ik);
  if (prior) {
    if (!sameBody(prior.request, request)) {
      throw new AgentPayError("IDEMPOTENCY_CONFLICT", "this idempotency key was used with a different request", { idempotencyKey: input.idempotencyKey });
    }
    return receiptOf(tx.get<Payment>(paymentKey(prior.resultId))!);
  }
  const p = activeTokenPayment(tx, verified);
  if (p.chain) {
    throw new AgentPayError("CHAIN_PAYMENT_ON_CHAIN", "this payment settles on-chain: redeem its voucher with the settlement contract", { paymentId: p.id });
  }
  if (p.merchantId !== input.merchantId) {
    throw new AgentPayError("TOKEN_AUDIENCE_MISMATCH", "the token was issued for another merchant", { tokenId: verified.tokenId });
  }
  const merchant = getMerchantIn(tx, input.merchantId);
  if (merchant.status !== "active") throw new AgentPayError("MERCHANT_DISABLED", "the merchant is disabled", { merchantId: merchant.id });
  if (input.currency !== p.currency) {
    throw new AgentPayError("CURRENCY_MISMATCH", "the amount's currency differs from the token's", { currency: input.currency, tokenCurrency: p.currency });
  }
  if (input.amountMinor > p.amountMinor) {
    throw new AgentPayError("TOKEN_AMOUNT_EXCEEDED", "the amount is above the token's cap", { tokenId: verified.tokenId, capMinor: p.amountMinor });
  }
  const captureId = scopedKey("cap", p.id);
  postPending(tx, ctx.ledger.context, {
    id: captureId, pendingId: p.holdTransferId!, amount: { minor: input.amountMinor, currency: p.currency },
    code: "payment_capture", metadata: { paymentId: p.id },
  });
  const released = p.amountMinor - input.amountMinor;
  if (released > 0n) restoreSpendIn(tx, getSubWalletIn(tx, p.subWalletId), released, p.authorizedAtMs!);
  const captured: Payment = {
    ...p, status: "captured", capturedMinor: input.amountMinor, capturedAtMs: tx.nowMs, captureTransferId: captureId, refundedMinor: 0n,
    seq: { ...p.seq, captured: nextRiskSeqIn(tx) },
  };
  tx.put(paymentKey(p.id), captured);
  tx.put(ik, { request, resultId: p.id } satisfies IdempotencyRecord);
  emitPaymentEvent(tx, "payment.captured", captured, { toMerchant: true, data: { capturedMinor: input.amountMinor } });
  return receiptOf(captured);
}
