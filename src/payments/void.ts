import { AgentPayError, scopedKey } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { voidPending } from "../ledger/index.ts";
import { getSubWalletIn, restoreSpendIn } from "../wallets/index.ts";
import type { PaymentsContext } from "./context.ts";
import { nextRiskSeqIn } from "../risk/index.ts";
import { emitPaymentEvent } from "./effects.ts";
import { paymentKey } from "./records.ts";
import type { Payment } from "./records.ts";

/**
 * "chain": the voucher's nonce was cancelled on-chain (only the chain watcher voids on-chain payments);
 * "frozen": the person froze the sub-wallet (its outstanding tokens go with it).
 */
export type VoidReason = "agent" | "merchant" | "expired" | "chain" | "frozen";

/** Releases an unredeemed payment's hold and gives its budget back, in the caller's command. */
export function voidIn(tx: Tx, ctx: PaymentsContext, paymentId: string, reason: VoidReason): Payment {
  const p = tx.get<Payment>(paymentKey(paymentId));
  if (!p) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment", { paymentId });
  if (p.status === "voided" || p.status === "expired") return p; // already released: idempotent
  if (p.status !== "authorized") {
    const code = p.status === "captured" ? "TOKEN_ALREADY_REDEEMED" : "PAYMENT_NOT_AUTHORIZED";
    throw new AgentPayError(code, `the payment is ${p.status}`, { paymentId, status: p.status });
  }
  if (p.chain && reason !== "expired" && reason !== "chain") {
    // The voucher stays redeemable on-chain until its deadline: releasing the hold now would let the
    // sub-wallet spend money the merchant can still take. Cancel the nonce on-chain instead.
    throw new AgentPayError("CHAIN_VOUCHER_OUTSTANDING", "the payment's voucher is redeemable on-chain: cancel its nonce on-chain to void it", {
      paymentId, nonce: p.chain.nonce,
    });
  }
  voidPending(tx, ctx.ledger.context, {
    id: scopedKey("void", p.id), pendingId: p.holdTransferId!, code: reason === "expired" ? "payment_expired" : reason === "chain" ? "payment_void_chain" : "payment_void",
    metadata: { paymentId: p.id },
  });
  restoreSpendIn(tx, getSubWalletIn(tx, p.subWalletId), p.amountMinor, p.authorizedAtMs!, true);
  const next: Payment = { ...p, status: reason === "expired" ? "expired" : "voided", resolvedAtMs: tx.nowMs, seq: { ...p.seq, resolved: nextRiskSeqIn(tx) } };
  tx.put(paymentKey(p.id), next);
  emitPaymentEvent(tx, "payment.voided", next, { toMerchant: true, data: { reason } });
  return next;
}
